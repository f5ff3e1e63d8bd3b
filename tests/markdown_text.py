"""Text comparison shared by the knowledge-base tests: markdown markup is not
content, so both sides are reduced to plain, case-folded words before comparing."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# at the start of a line: block quotes, headings, list markers ("-", "*", "+", "1.", "1)")
_LINE_MARKERS = re.compile(
    r"^[ \t]*(?:>[ \t]?)*(?:#{1,6}[ \t]*)?(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?", re.M
)
_MARKUP = re.compile(r"[*`|]")
_WORD = re.compile(r"[^\W\d_]+")


def normalise(text: str) -> str:
    """Strip markdown emphasis (``*``), backticks, table pipes and line markers,
    collapse whitespace, case-fold."""
    text = _LINE_MARKERS.sub("", text)
    text = _MARKUP.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def words(text: str) -> list[str]:
    """The words of ``text`` (letters only: "charger's" -> "charger", "s")."""
    return _WORD.findall(text.casefold())


def content_words(text: str) -> list[str]:
    """Words of at least four letters: those a tidied text must keep."""
    return [w for w in words(text) if len(w) >= 4]


@cache
def file_lines(path: str) -> list[str]:
    p = Path(path)
    return (p if p.is_absolute() else ROOT / p).read_text(encoding="utf-8-sig").splitlines()


def holds(cited: str, text: str) -> str | None:
    """None if the normalised ``cited`` lines hold ``text`` (verbatim, or every
    content word of it); otherwise what is missing."""
    want, have = normalise(text), normalise(cited)
    if not want:
        return "the record's text is empty"
    if want in have:
        return None
    needed = content_words(want)
    have_words = set(words(have))
    missing = [w for w in needed if w not in have_words]
    if needed and not missing:
        return None
    return f"{text!r} not in the cited lines" + (f" (missing {missing})" if missing else "")
