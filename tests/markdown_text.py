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


_VALUE = re.compile(r"\d+(?:\.\d+)?")


def cited_line_problem(path: str, line: int, matched: str, title: str) -> str | None:
    """None if line ``line`` of ``path`` (relative to the project root) holds what a
    piece of evidence says it matched: its text (of a reading: without the expected
    range in parentheses, or the value it is checked against, where the knowledge
    kept beside a manual words it apart) or, for evidence about the cause as a
    whole (its error code, a reported action), the cause's title; otherwise what
    is wrong."""
    if not (ROOT / path).is_file():
        return f"{path} is not a file"
    lines = file_lines(path)
    if not 1 <= line <= len(lines):
        return f"{path} has no line {line}"
    cited = lines[line - 1]
    if any(holds(cited, t) is None for t in (matched, matched.rsplit(" (", 1)[0], title)):
        return None
    if set(_VALUE.findall(matched.rsplit(" (", 1)[0])) & set(_VALUE.findall(cited)):
        return None
    return f"{path}:{line} {cited!r} holds neither {matched!r} nor {title!r}"
