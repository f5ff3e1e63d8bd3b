"""Splitting the text of a cell, label or list item into the causes or actions it
lists, and a cause title from the note or remedy written after it.

>>> split_items("Cell failure, BMS malfunction")
['Cell failure', 'BMS malfunction']
>>> split_items("CAN cable disconnected/damaged")
['CAN cable disconnected/damaged']
>>> split_items("PWM Off; Relay Open")
['PWM Off', 'Relay Open']
>>> split_items("1. Check cooling 2. Wait for the battery to cool")
['Check cooling', 'Wait for the battery to cool']
>>> split_items("Ready, no vehicle"), split_items("If it returns, call support")
(['Ready, no vehicle'], ['If it returns, call support'])
>>> split_title("CP signal break in cable — usually near connector")
('CP signal break in cable', 'usually near connector', '')
>>> split_title("Physical damage — trip hazard, replace immediately")
('Physical damage', 'trip hazard, replace immediately', 'replace immediately')
"""

from __future__ import annotations

import re

MAX_LISTED_WORDS = 6
MIN_LISTED_WORDS = 2  # "Ready, no vehicle" is one phrase; "Cell failure, BMS malfunction" two
_LEADING_NUMBER = re.compile(r"^\(?\d{1,2}[.)]\s+")
_CONDITION = re.compile(r"^(?:if|when|unless|hvis|ved|om)\b", re.I)
_NOTHING = re.compile(r"^(?:-+|\u2014|\u2013|n/?a|none|ingen)$", re.I)
_DASH = re.compile(r"\s+[\u2014\u2013]\s+|\s+--?\s+")
_REMEDY_LEAD = re.compile(
    r"^(replace|repair|swap|contact|check|call|reseat|re-seat|clean|tighten|adjust|inspect)\b",
    re.I,
)
_NUMBERED = re.compile(r"(?:^|\s)\d{1,2}[.)]\s+(?=\S)")


def _top_level_split(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quote = False
    buf = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        elif ch == '"':
            quote = not quote
        if depth == 0 and not quote and text.startswith(sep, i):
            parts.append(buf)
            buf = ""
            i += len(sep)
            continue
        buf += ch
        i += 1
    parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


def split_items(text: str) -> list[str]:
    """The items a cell or sentence lists: one per line, per numbered item, per
    semicolon, and per comma when every part is a short phrase (a list, not a
    sentence with a clause)."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        numbered = [p for p in _NUMBERED.split(" " + line) if p.strip()]
        pieces = numbered if len(numbered) > 1 else [line]
        for piece in pieces:
            piece = _LEADING_NUMBER.sub("", piece.strip())
            for part in _top_level_split(piece, ";"):
                commas = _top_level_split(part, ", ")
                if (
                    len(commas) > 1
                    and not _CONDITION.match(part)  # "If it returns, call support": one item
                    and all(MIN_LISTED_WORDS <= len(c.split()) <= MAX_LISTED_WORDS for c in commas)
                ):
                    out.extend(commas)
                else:
                    out.append(part)
    items = [o.strip().rstrip(".").strip() for o in out if o.strip(" .")]
    return [i for i in items if not _NOTHING.match(i)]


def split_title(text: str) -> tuple[str, str, str]:
    """'CP signal break in cable — usually near ...' -> (title, notes, remedy)."""
    parts = _DASH.split(text, maxsplit=1)
    title = parts[0].strip()
    notes = remedy = ""
    if len(parts) > 1:
        tail = parts[1].strip()
        if _REMEDY_LEAD.match(tail):
            remedy = tail
        else:
            notes = tail
            rm = re.search(r"(?:,|;)\s*(replace[^,;]*)$", tail, re.I)
            if rm:
                remedy = rm.group(1)
    return title, notes, remedy
