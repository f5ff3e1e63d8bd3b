"""Every command of ``evkb`` explains itself: ``--help`` exits 0 and prints a
description of at least one sentence; a command group called without its
subcommand, and ``evkb`` without a command, print help and exit 2.

Commands are discovered from ``evkb.cli.parser()`` (subparsers, recursively), so a
new command is covered without touching this file."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from evkb.cli import main, parser
from tests.conftest import ROOT


def commands(
    p: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    out = [(path, p)]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.extend(commands(sub, (*path, name)))
    return out


def has_subcommands(p: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in p._actions)


ALL = commands(parser())
GROUPS = [(path, p) for path, p in ALL if path and has_subcommands(p)]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def first_sentence(text: str) -> str | None:
    """The first run of at least three words that ends in '.', '!' or '?'."""
    for chunk in re.split(r"(?<=[.!?])\s+", flat(text)):
        if chunk[-1:] in (".", "!", "?") and len(re.findall(r"\w+", chunk)) >= 3:
            return chunk
    return None


def test_commands_are_discovered() -> None:
    names = {" ".join(path) for path, _ in ALL}
    assert {"", "ingest", "diagnose", "serve", "kb", "kb export", "kb summary"} <= names


@pytest.mark.parametrize(
    ("path", "p"), [pytest.param(path, p, id=" ".join(("evkb", *path))) for path, p in ALL]
)
def test_help_describes_the_command(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...], p: argparse.ArgumentParser
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(('evkb', *path))}"), out
    description = p.description or ""
    sentence = first_sentence(description)
    assert sentence, f"evkb {' '.join(path)}: description {description!r} is not a sentence"
    assert sentence in flat(out), "the description is not in --help"


@pytest.mark.parametrize(
    ("path", "p"), [pytest.param(path, p, id=" ".join(("evkb", *path))) for path, p in GROUPS]
)
def test_group_without_subcommand_prints_help(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...], p: argparse.ArgumentParser
) -> None:
    assert main(list(path)) == 2
    assert capsys.readouterr().out.startswith(f"usage: {' '.join(('evkb', *path))}")


def test_no_command_prints_help_and_exits_2() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "evkb.cli"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2
    assert r.stdout.startswith("usage: evkb"), r.stdout
    sentence = first_sentence(parser().description or "")
    assert sentence and sentence in flat(r.stdout), r.stdout
