"""Jinja rendering of work orders, pick lists and manuals (StrictUndefined; HTML
autoescaped). Templates live in the project's templates/ folder."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIRS = (
    Path(__file__).resolve().parent.parent / "templates",  # source checkout
    Path(__file__).resolve().parent / "templates",  # installed wheel (force-include)
)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    from engine.views import human_time

    dirs = [str(d) for d in TEMPLATE_DIRS if d.is_dir()]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["human_time"] = human_time
    env.filters["full_time"] = lambda iso: human_time(iso, absolute=True)
    return env


def render(name: str, context: dict[str, Any]) -> str:
    return environment().get_template(name).render(**context)
