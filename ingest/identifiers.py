"""Fault identifiers in every common shape: station codes (``CP-ERR-RET``),
``UPPER_SNAKE`` and mixed snake codes (``CONNLEVEL_5_ETH_LINK_PRESENT``,
``FAILED_UnknownSession``), letter+number codes (``E12``, ``F03``, ``CX001``),
CamelCase codes where they are written as codes (``BmsConnectionLost`` in a code
column or backticks), messages (``ERROR: NO PILOT``, a backticked log line) and
light patterns ("Green slow blink").

>>> codes_in("The SuperCharger complains with FAILED_UnknownSession")
['FAILED_UnknownSession']
>>> codes_in("error E12 after CT4000 boot")
['E12']
>>> shape_of("`BmsConnectionLost`", default_roles()), shape_of("ERROR: NO PILOT", default_roles())
('code', 'message')
>>> shape_of("Green slow blink", default_roles()), shape_of("Cable hangs loose", default_roles())
('led', None)
"""

from __future__ import annotations

import functools
import re

from ingest.roles import Roles, default_roles
from kb.schema import CodeShape

__all__ = ["STATION", "codes_in", "default_roles", "is_code", "shape_of", "strip_markup"]

STATION = re.compile(r"\b[A-Z][A-Z0-9]{1,5}-ERR-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
# a snake code: at least one underscore and an upper-case run ("CONNLEVEL_5_...",
# "FAILED_SequenceError", "EVSE_Shutdown"); not a lower-case file or variable name
SNAKE = re.compile(r"(?<![\w/.])[A-Z][A-Z0-9]*[a-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w/])")
# letters and digits: E12, F03, CX001, E100000 (a model number such as CT4000 is not
# written as a code unless a cue word says so)
NUMBERED = re.compile(r"(?<![\w-])[A-Z]{1,3}\d{2,6}(?![\w-])")
_CUE = re.compile(
    r"\b(?:error|err|fault|alarm|code|feil(?:kode)?|warning|status)\s*(?:code\s*)?[:#]?\s*$",
    re.I,
)
CAMEL = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$|^[A-Z]{2,}[a-z]+[A-Za-z0-9]*$")
MESSAGE = re.compile(
    r"^(?:\*{3}\s*)?(?:error|err|warning|warn|fault|alarm|fatal error)\s*:\s*[\w\"'\[(<]", re.I
)
_MARKUP = re.compile(r"[*`]+")
_SPACE = re.compile(r"\s+")


# an attribute list after a link or span (Python-Markdown, kramdown): "{target=_blank}",
# "{: .note #id}"
_ATTRS = re.compile(
    r"\{:?\s*(?:[.#][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+))"
    r"(?:\s+(?:[.#][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+)))*\s*\}"
)


@functools.lru_cache(maxsize=65536)
def strip_markup(text: str) -> str:
    """Text without emphasis, code marks and attribute lists.

    >>> strip_markup("Please see **tbnobody#719**{target=_blank} and `pio run`")
    'Please see tbnobody#719 and pio run'
    """
    return _SPACE.sub(" ", _MARKUP.sub("", _ATTRS.sub("", text))).strip()


def codes_in(text: str, *, camel: bool = False) -> list[str]:
    """Codes written in running text. Letter+number codes count only after a cue
    ("error E12"); CamelCase words only with ``camel`` (a code column, backticks)."""
    return list(_codes_in(text, camel))


@functools.lru_cache(maxsize=65536)
def _codes_in(text: str, camel: bool) -> tuple[str, ...]:
    out: list[str] = []
    for pat in (STATION, SNAKE):
        out += [m.group(0) for m in pat.finditer(text)]
    for m in NUMBERED.finditer(text):
        if _CUE.search(text[: m.start()]) or text.strip(" *`:") == m.group(0):
            out.append(m.group(0))
    if camel:
        for tok in re.findall(r"[A-Za-z][A-Za-z0-9]+", text):
            if CAMEL.match(tok) and not SNAKE.fullmatch(tok):
                out.append(tok)
    return tuple(dict.fromkeys(out))


def is_code(text: str) -> bool:
    """The whole text is one code token (markup aside)."""
    t = strip_markup(text)
    return bool(
        t
        and " " not in t
        and (STATION.fullmatch(t) or SNAKE.fullmatch(t) or NUMBERED.fullmatch(t) or CAMEL.match(t))
    )


@functools.lru_cache(maxsize=65536)
def shape_of(text: str, roles: Roles) -> CodeShape | None:
    """How an identifier is written, or None for a symptom in words."""
    t = strip_markup(text)
    if not t:
        return None
    if is_code(t):
        return "code"
    if MESSAGE.match(t):
        return "message"
    if roles.is_led(t):
        return "led"
    return None
