"""Text comparison shared by the knowledge-base tests: markdown markup is not
content, so both sides are reduced to plain, case-folded words before comparing."""

from __future__ import annotations

import re

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
