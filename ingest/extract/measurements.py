"""Measurements with expected ranges, and what a reading out of range implies.

Reads sentences such as "Measure PP to Ground: expect 100-200Ω", "If CP voltage
is 0V, <cause>", "An open circuit means <cause>", "torque ... to 2.8 Nm",
"should retract ... in 5-8 seconds", "if your phone shows 1 bar or less, <cause>".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ingest.identifiers import strip_markup
from ingest.link import resolve_cause
from ingest.state import IngestState, Sentence
from ingest.values import stated_values
from kb.schema import Implication, Measurement, MeasureState, When, slug
from kb.units import POINT_PATTERN, UNIT_PATTERN, canonical_points, canonical_unit

_NUM = r"\d+(?:\.\d+)?"
# a sign glued to the digits is kept (a Unicode minus too): -12 V is not 12 V
_VALUE = re.compile(
    rf"(?<![\w.])(?P<sign>[-\u2212](?=\d))?(?P<a>{_NUM})(?:\s*(?:-|–|to)\s*(?P<b>{_NUM}))?"
    rf"\s*(?P<plus>\+)?\s*(?P<unit>{UNIT_PATTERN})(?![a-zA-Z0-9])",
    re.I,
)
_CUE = re.compile(
    r"\b(measure\w*|expect\w*|should|torque\w*|target|wait|within|more than|at least|"
    r"less than|verify|up to|retract\w*|shows?)\b",
    re.I,
)
_POINT = re.compile(rf"\b{POINT_PATTERN}\b(?!-ERR)(?:\s+pins?)?", re.I)
_THESE = re.compile(r"\b(?:these|those|the) two pins\b", re.I)
_IF = re.compile(r"^if\b(?P<cond>[^,]+),\s*(?P<then>.+)$", re.I)
_MEANS = re.compile(
    r"^(?:an?\s+)?(?P<cond>open circuit|short circuit|open|short|0\s*V)\s+"
    r"(?:means|indicates|suggests)\s+(?P<then>.+)$",
    re.I,
)
# the state a reading is taken in, by the words that name it; the condition keeps
# the document's own words (up to four words of what is in that state before them)
_CONDITIONS: list[tuple[re.Pattern[str], MeasureState]] = [
    (re.compile(r"\bstandby\b|\bnot plugged in(?:to [\w ]+?)?(?=[,.;)]|$)", re.I), "standby"),
    (re.compile(r"\bat rest\b|\bnot (?:being )?pressed\b|\breleased\b", re.I), "at rest"),
    (re.compile(r"\bpressed\b", re.I), "actuated"),
    (re.compile(r"\bretract\w*", re.I), "moving"),
]
_SUBJECT = re.compile(r"((?:[\w-]+\s+){0,4})$")
_BE = re.compile(r"\b(?:is|are|was|were|be|being|when|while|if|the|with)\b\s*", re.I)
_KEEP_QUANTITIES = {"voltage", "resistance", "torque", "duration", "signal"}


@dataclass
class _Builder:
    quantity: str
    points: tuple[str, ...]
    unit: str
    condition: str
    text: str
    line_start: int
    line_end: int
    low: float | None = None
    high: float | None = None
    state: MeasureState = ""
    implications: list[Implication] = field(default_factory=list)


def _condition(text: str, quantity: str) -> tuple[str, MeasureState]:
    """The condition a reading is taken in, in the document's words, and its state:
    "when cable release button is at rest" -> ("cable release button at rest",
    "at rest")."""
    plain = re.sub(r"[*`]", "", text)
    for pat, state in _CONDITIONS:
        m = pat.search(plain)
        if m is None or (state == "moving" and quantity != "duration"):
            continue
        if state == "moving":
            words = plain.split()
            return " ".join(words[:8]).rstrip(",.:;"), state
        lead = _SUBJECT.search(re.split(r"[,.;:()]", plain[: m.start()])[-1])
        subject = _BE.sub("", lead.group(1) if lead else "").strip()
        return " ".join(f"{subject} {m.group(0)}".split()), state
    if quantity in ("duration", "torque", "signal"):
        words = plain.split()
        return " ".join(words[:8]).rstrip(",.:;"), ""
    return "", ""


def _value(m: re.Match[str]) -> tuple[str, str, float, float | None, bool] | None:
    unit = canonical_unit(m.group("unit"))
    if unit is None:
        return None
    canon, quantity, factor = unit
    sign = -1.0 if m.group("sign") else 1.0
    a = sign * float(m.group("a")) * factor
    b = float(m.group("b")) * factor if m.group("b") else None
    if not math.isfinite(a) or (b is not None and not math.isfinite(b)):
        return None  # "100-999...9 Ω": too long for a float, and JSON has no Infinity
    return canon, quantity, a, b, bool(m.group("plus"))


def _implications(state: IngestState, s: Sentence, cond: str, then: str) -> list[Implication]:
    then = re.split(r"\s+[\u2014\u2013]\s+", then)[0]
    cl = cond.lower()
    when: When = "low"
    value: float | None = None
    vm = _VALUE.search(cond)
    if re.search(r"\bopen\b", cl):
        when = "open"
    elif re.search(r"\bshort\b", cl):
        when = "zero"
        value = 0.0
    elif vm:
        parsed = _value(vm)
        value = parsed[2] if parsed else None
        if value == 0:
            when = "zero"
        elif value is not None and re.search(r"\b(?:not|never|fails? to)\s+reach", cl):
            # "does not reach -12 V": the reading stops short of the value
            when = "high" if value < 0 else "low"
        elif re.search(r"or less|less than|below|under", cl):
            when = "low"
        elif re.search(r"or more|more than|above|over", cl):
            when = "high"
        else:
            when = "equals"
    else:
        return []
    src = state.source(s.line_start, s.line_end)
    out: list[Implication] = []
    # "the cable's CP conductor is broken or the charger's CP generation circuit has
    # failed" names two causes: one implication each
    for part in re.split(r",?\s+or\s+(?=the\b)", then):
        part = re.sub(r"^(?:the site|it|this)\s+may\s+have\s+", "", part, flags=re.I)
        part = re.split(r"\.\s", part)[0]
        cause = resolve_cause(state, part, src)
        out.append(Implication(when, part.rstrip("."), cause.id if cause else "", value))
    return out


def run(state: IngestState) -> None:
    builders: dict[tuple[str, str, str, tuple[str, ...], str], _Builder] = {}
    last_points: dict[str, tuple[str, ...]] = {}
    for s in state.sentences:
        scope = s.section
        pts_here = canonical_points(
            [
                m.group(0).split()[0]
                if m.group(0).lower().endswith(("pin", "pins"))
                else m.group(0)
                for m in _POINT.finditer(s.text)
            ]
        )
        if len(pts_here) >= 2:
            last_points[scope] = pts_here
        # implications: "If CP voltage is 0V, ..." / "An open circuit means ..."
        im = _IF.match(s.text) or _MEANS.match(s.text)
        if im and (
            _VALUE.search(im.group("cond")) or re.search(r"open|short", im.group("cond"), re.I)
        ):
            imps = _implications(state, s, im.group("cond"), im.group("then"))
            vm = _VALUE.search(im.group("cond"))
            parsed = _value(vm) if vm else None
            quantity = parsed[1] if parsed else "resistance"
            target = None
            for key in reversed(list(builders)):
                b = builders[key]
                if (
                    key[0] == scope
                    and b.quantity == quantity
                    and (
                        not pts_here
                        or b.points == pts_here
                        or not b.points
                        or set(pts_here) <= set(b.points)
                    )
                ):
                    target = b
                    break
            if imps and target is not None:
                target.implications.extend(imps)
                target.line_end = max(target.line_end, s.line_end)
                continue
            if imps and parsed is not None:
                words, measured_in = _condition(s.text, parsed[1])
                b = _Builder(
                    parsed[1],
                    pts_here,
                    parsed[0],
                    words,
                    s.text,
                    s.line_start,
                    s.line_end,
                    state=measured_in,
                )
                b.implications.extend(imps)
                builders[(scope, parsed[1], b.condition, pts_here, s.text)] = b
                continue
        if not _CUE.search(s.text):
            continue
        clauses = re.split(r",\s*but\s+|;\s*", s.text)
        for clause in clauses:
            for vm in _VALUE.finditer(clause):
                parsed = _value(vm)
                if parsed is None:
                    continue
                unit, quantity, a, b_, plus = parsed
                if quantity not in _KEEP_QUANTITIES:
                    continue
                points = pts_here if quantity in ("voltage", "resistance") else ()
                if quantity in ("voltage", "resistance") and not points:
                    points = last_points.get(scope, ()) if _THESE.search(s.text) else ()
                    if not points:
                        continue
                condition, measured_in = _condition(clause, quantity)
                key = (scope, quantity, condition, points, "")
                if quantity in ("duration", "torque", "signal"):
                    key = (scope, quantity, condition, points, clause)
                bld = builders.get(key)
                if bld is None and not condition:
                    # "expect 11.5-12.5V DC" refines "approximately 12V DC ... in standby"
                    bld = next(
                        (b for k, b in builders.items() if k[:2] == key[:2] and k[3] == points),
                        None,
                    )
                if bld is None:
                    bld = _Builder(
                        quantity,
                        points,
                        unit,
                        condition,
                        s.text,
                        s.line_start,
                        s.line_end,
                        state=measured_in,
                    )
                    builders[key] = bld
                else:
                    bld.line_end = max(bld.line_end, s.line_end)
                    if bld.text != s.text:
                        bld.text = f"{bld.text} {s.text}"
                low, high = (a, b_) if b_ is not None else (a, None if plus else a)
                if re.search(r"at least", clause, re.I):
                    high = None
                if bld.low is None or b_ is not None or bld.low == bld.high:
                    bld.low, bld.high = low, high
    for n, ((_scope, quantity, condition, points, _), b) in enumerate(builders.items()):
        name = "-".join([quantity, *points, condition]) if points else f"{quantity}-{condition}"
        state.add(
            "measurements",
            Measurement(
                id=f"{state.manual_id}/measure/{slug(name, 40)}-{n}",
                manual=state.manual_id,
                quantity=quantity,
                points=points,
                unit=b.unit,
                low=b.low,
                high=b.high,
                condition=condition,
                text=b.text,
                implications=tuple(b.implications),
                source=state.source(b.line_start, b.line_end),
                state=b.state,
            ),
        )
    _stated(state, len(builders))


# ---------------------------------------------------------------- stated values
#
# Every other value the document states with a unit (a sentence, a list item, a
# heading, a table cell, a comment in a code block), a setting given a number
# ("set debugLevel to 11", "NodeId=22") and a firmware version bound ("4.5.3 or
# later"), as a reading the document expects, cited to its line.

# a setting's name is written as an identifier: camelCase or snake_case
_SETTING = re.compile(
    r"\b(?P<name>(?=[A-Za-z0-9_]*(?:[a-z][A-Z]|[A-Za-z0-9]_[A-Za-z0-9]))[A-Za-z][A-Za-z0-9_]{2,})"
    r"\s*(?:=|:|\s+to|\s+is|\s+of|\s)\s*(?P<v>-?\d+(?:\.\d+)?)(?![\w.%°])"
)
_VERSION = re.compile(
    r"\b(?:firmware|version|fw|software|release)\s+(?:version\s+)?v?(?P<v>\d+(?:\.\d+){1,3})\b"
    r"(?P<bound>\s+(?:or\s+(?:later|newer|higher|above)|and\s+(?:later|newer)))?"
    r"|\b(?:earlier|older)\s+than\s+v?(?P<v2>\d+(?:\.\d+){1,3})\b",
    re.I,
)
_COMMENT = re.compile(r"(?:#|//)\s*(?P<c>.+)$")
_DIGIT = re.compile(r"\d")


def _units_of(text: str) -> list[tuple[str, str, float | None, float | None, str]]:
    """(quantity, unit, low, high, what) for each value stated in ``text``."""
    out: list[tuple[str, str, float | None, float | None, str]] = []
    if not _DIGIT.search(text):  # values, settings and versions all have digits
        return out
    for v in stated_values(text):
        out.append((v.quantity, v.unit, v.low, v.high, v.text))
    for m in _SETTING.finditer(text):
        if any(m.group("v") in t for *_r, t in out):
            continue
        value = float(m.group("v"))
        if math.isfinite(value):
            out.append(("setting", "", value, value, f"{m.group('name')} {m.group('v')}"))
    for m in _VERSION.finditer(text):
        ver = m.group("v") or m.group("v2")
        out.append(("version", "", None, None, ver))
    return out


def _covered(state: IngestState, line: int, low: float | None, high: float | None) -> bool:
    for m in state.get("measurements"):
        if m.source.line_start <= line <= m.source.line_end and (m.low, m.high) == (low, high):
            return True
    return False


def _pieces(state: IngestState) -> list[tuple[int, int, str, str, str]]:
    """(line_start, line_end, text, section, condition) of every stated piece."""
    meta = {
        n
        for sec in state.doc.sections
        for b in sec.blocks
        if state.consumed.get(b.line_start) == "meta"
        for n in range(b.line_start, b.line_end + 1)
    }
    out: list[tuple[int, int, str, str, str]] = [
        (s.line_start, s.line_end, s.text, s.section, "")
        for s in state.sentences
        if s.line_start not in meta
    ]
    for sec in state.doc.sections:
        if sec.level > 0:
            out.append((sec.line, sec.line, sec.title, sec.title, ""))
        for b in sec.all_blocks():
            if b.kind == "table":
                # a value is read from its own cell (the header names the quantity and
                # the row's first cell its state, but their numbers are not this row's)
                for head in b.header:
                    out.append((b.line_start, b.line_start, head, sec.title, ""))
                for row in b.rows:
                    ident = row.cells[0] if row.cells else ""
                    for j, cell in enumerate(row.cells):
                        head = b.header[j] if j < len(b.header) else ""
                        out.append((row.line, row.line, cell, sec.title, ident if j else head))
            elif b.kind == "code":
                first = b.line_start + (1 if b.label == "fence" else 0)
                for n, line in enumerate(b.content.split("\n")):
                    cm = _COMMENT.search(line)
                    if cm:
                        out.append((first + n, first + n, line.strip(), sec.title, ""))
            elif b.kind == "paragraph" and b.lines and b.lines[0].raw.startswith("[ ]"):
                pass  # checklist lines are sentences already
    return out


def _stated(state: IngestState, start: int) -> None:
    n = start
    for line, end, text, _section, condition in _pieces(state):
        plain = re.sub(r"[*`]", "", text)
        for quantity, unit, low, high, what in _units_of(plain):
            if _covered(state, line, low, high):
                continue
            points = (
                canonical_points([m.group(0).split()[0] for m in _POINT.finditer(plain)])
                if quantity in ("voltage", "resistance")
                else ()
            )
            state.add(
                "measurements",
                Measurement(
                    id=f"{state.manual_id}/measure/{slug(f'{quantity}-{what}', 40)}-{n}",
                    manual=state.manual_id,
                    quantity=quantity,
                    points=points,
                    unit=unit,
                    low=low,
                    high=high,
                    condition=strip_markup(condition),
                    text=plain.strip(),
                    implications=(),
                    source=state.source(line, end),
                ),
            )
            n += 1
