"""Troubleshooting tables of any layout: each column's *role* (identifier, cause,
meaning, action, likelihood, expected value) is read from its header words
(kb/curated/roles.yaml) and from its cells (a column of codes or light patterns
identifies faults even without a header). Headerless tables, tables whose first
row is data, HTML tables, ``<br>`` and lists inside cells, and continuation rows
(an empty identifier cell) are handled. Each row becomes a documented fault
(ingest/faults.py); a table with no identifier column lists the causes of the
section's fault or of the document's error code.

A table that looks like troubleshooting (a role word in its header) but whose
roles do not make a fault table is a warning, never silence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest import faults
from ingest.faults import FaultEntry, Text
from ingest.identifiers import codes_in, shape_of, strip_markup
from ingest.items import split_items, split_title
from ingest.roles import Role
from ingest.state import IngestState
from ingest.tree import Block, Row, Section
from ingest.values import stated_values
from kb.schema import Cause, Implication, Measurement, When, slug
from kb.units import canonical_points

CONTENT_SHARE = 0.6  # share of a column's cells that must look like identifiers
_AUTOMATIC = re.compile(r"\b(?:firmware|automatic|system|controller|device)\b", re.I)
_FREQ = re.compile(
    r"\b(rare|rarely|uncommon|occasional|common|frequent|often|usually|most common|"
    r"temporary|intermittent)\b",
    re.I,
)
_NOTE_REMEDY = re.compile(r"\b(contact [^.;]+|cleared by [^.;]+|check [^.;]+)", re.I)


@dataclass
class Layout:
    roles: list[Role | None]
    header_is_data: bool = False
    automatic: bool = False  # the action column says what the equipment does
    strong_cause: bool = False  # a column is named as the cause ("Cause", "Reason")

    def first(self, role: Role) -> int | None:
        return next((i for i, r in enumerate(self.roles) if r == role), None)

    def all(self, role: Role) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r == role]


def _identifier_share(state: IngestState, cells: list[str]) -> float:
    """Share of a column's cells written as codes, messages or light patterns."""
    filled = [c for c in cells if c.strip()]
    if not filled:
        return 0.0
    hits = sum(
        1
        for c in filled
        if shape_of(c, state.roles) is not None or (codes_in(c, camel=True) and len(c.split()) <= 3)
    )
    return hits / len(filled)


def _looks_like_identifiers(state: IngestState, cells: list[str]) -> bool:
    return _identifier_share(state, cells) >= CONTENT_SHARE


def _looks_like_actions(state: IngestState, cells: list[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    return bool(filled) and sum(
        state.roles.is_imperative(c) for c in filled
    ) >= CONTENT_SHARE * len(filled)


def infer(state: IngestState, block: Block) -> Layout | None:
    """Column roles of a table, or None when it is no troubleshooting table."""
    header = [strip_markup(h) for h in block.header]
    ncols = max([len(header), *(len(r.cells) for r in block.rows)], default=0)
    if ncols < 2:
        return None
    if header and re.match(r"^tools?\b", header[0], re.I):
        return None  # the Required Tools table (tools_table)
    columns = [[r.cells[j] if j < len(r.cells) else "" for r in block.rows] for j in range(ncols)]
    header_is_data = False
    # a first row written like the rows under it (a code over a column of codes) is data
    if (
        header
        and shape_of(header[0], state.roles) is not None
        and _looks_like_identifiers(state, columns[0])
        and not state.roles.header_roles(header[0])
    ):
        header_is_data = True
        columns = [[header[j] if j < len(header) else "", *columns[j]] for j in range(ncols)]
        header = []
    candidates = [state.roles.header_roles(h) for h in header] + [[]] * (ncols - len(header))
    if not any(candidates) and header and any(h.strip() for h in header):
        return None  # headers without a role word: not a troubleshooting table
    roles: list[Role | None] = [None] * ncols
    # a column named only as a cause ("Cause", "Reason") makes "Meaning" and
    # "Description" columns say what the identifier means; without one, the
    # first of them gives the cause
    strong = [j for j, c in enumerate(candidates) if c and c[0] == "cause" and "meaning" not in c]
    soft_used = False
    for j, cands in enumerate(candidates):
        if not cands:
            continue
        role = cands[0]
        if "meaning" in cands and role in ("cause", "meaning"):
            if strong or soft_used:
                role = "meaning"
            else:
                role, soft_used = "cause", True
        roles[j] = role
    # the identifier is the column whose cells look most like identifiers (codes,
    # messages, light patterns), else the first named so; a second one says what
    # the first means
    scores = [_identifier_share(state, col) for col in columns]
    ids = [
        j
        for j in range(ncols)
        if roles[j] == "identifier" or (roles[j] in (None, "value") and scores[j] >= CONTENT_SHARE)
    ]
    if ids:
        best = max(ids, key=lambda j: (scores[j] >= CONTENT_SHARE, roles[j] == "identifier", -j))
        for j in ids:
            if j == best:
                roles[j] = "identifier"
            elif roles[j] == "identifier" and scores[best] >= CONTENT_SHARE > scores[j]:
                # "Code | Meaning | What you see": beside a column of codes, a column
                # of symptoms in words says what is seen while the code holds
                roles[j] = "seen"
            elif roles[j] == "identifier":
                roles[j] = "meaning" if "cause" in roles else "cause"
    if (
        "identifier" in roles
        and not {"cause", "action", "meaning"} & set(roles)
        and "likelihood" in roles
    ):
        # "Symptom | Notes": the notes on each symptom say why it happens
        roles[roles.index("likelihood")] = "cause"
    if "identifier" in roles:
        # unnamed columns after the identifier: what to do when they read as
        # instructions, else (the first) why it happens
        start = roles.index("identifier") + 1
        for j in range(start, ncols):
            if roles[j] is not None or not any(c.strip() for c in columns[j]):
                continue
            if _looks_like_actions(state, columns[j]):
                roles[j] = "action"
            elif "cause" not in roles and "value" not in roles:
                roles[j] = "cause"
    automatic = any(
        roles[j] == "action" and j < len(header) and _AUTOMATIC.search(header[j])
        for j in range(ncols)
    )
    return Layout(roles, header_is_data, automatic, strong_cause=bool(strong))


def _rows(block: Block, layout: Layout) -> list[Row]:
    rows = list(block.rows)
    if layout.header_is_data:
        rows.insert(0, Row(block.line_start, list(block.header), len(block.header)))
    return rows


def _cell(row: Row, j: int | None) -> str:
    if j is None or j >= len(row.cells):
        return ""
    return row.cells[j].strip()


def _items(text: str, line: int) -> list[Text]:
    return [Text.of(t, line) for t in split_items(text)]


def _cause_texts(state: IngestState, text: str, line: int, notes: str = "") -> list[Text]:
    """The causes a cell lists; what follows a dash is the note or remedy of all."""
    title, tail_notes, remedy = split_title(strip_markup(text.replace("\n", "; ")))
    note = notes or tail_notes
    fm = _FREQ.search(notes) if notes else None  # frequency only from a notes column
    basis = fm.group(1).lower() if fm else ""
    if notes and not remedy:
        rm = _NOTE_REMEDY.search(notes)
        remedy = rm.group(1) if rm else ""
    return [
        Text(piece, line, line, notes=note, remedy=remedy, basis=basis)
        for piece in split_items(title)
    ]


def _section_fault(state: IngestState, sec: Section) -> str:
    """A section title that names a fault, for a cause table under it."""
    t = sec.title.strip()
    if sec.level == 0 or not t:
        return ""
    if state.roles.is_fault_phrase(t) and not state.roles.is_troubleshooting(t):
        return t
    return ""


def run(state: IngestState) -> None:
    for sec in state.doc.sections:
        for block in sec.all_blocks():
            if block.kind != "table" or state.is_claimed(block.line_start, block.line_end):
                continue
            layout = infer(state, block)
            if layout is None:
                if any(state.roles.header_roles(strip_markup(h)) for h in block.header):
                    names = " | ".join(strip_markup(h) for h in block.header)
                    if any(
                        r in ("identifier", "cause", "action")
                        for h in block.header
                        for r in state.roles.header_roles(strip_markup(h))
                    ):
                        state.warn(
                            block.line_start,
                            f"table ({names}) looks like troubleshooting, but no column "
                            "says what the rows are about",
                        )
                continue
            if not _table(state, sec, block, layout):
                continue
            state.claim(block.line_start, block.line_end)


def _table(state: IngestState, sec: Section, block: Block, layout: Layout) -> bool:
    ident = layout.first("identifier")
    cause_cols = layout.all("cause")
    action_cols = layout.all("action")
    meaning_cols = layout.all("meaning")
    notes_col = layout.first("likelihood")
    if ident is None and not cause_cols:
        if action_cols:
            names = " | ".join(strip_markup(h) for h in block.header)
            state.warn(
                block.line_start,
                f"table ({names}) gives actions but no column says what they are for",
            )
        return False
    if ident is not None and not (cause_cols or action_cols or meaning_cols):
        return False  # identifiers with values only: a state table for measurements
    rows = _rows(block, layout)
    if ident is None and not layout.strong_cause:
        return False  # "Value | Meaning": a legend, not a list of causes
    if ident is None:
        # causes of the section's fault, or of the document's error code
        fault = _section_fault(state, sec)
        texts: list[Text] = []
        for row in rows:
            for j in cause_cols:
                cell = _cell(row, j)
                if cell:
                    texts.extend(_cause_texts(state, cell, row.line, _cell(row, notes_col)))
        if fault:
            faults.emit(
                state,
                FaultEntry(
                    Text.of(fault, sec.line),
                    shape_of(fault, state.roles),
                    codes=codes_in(fault),
                    causes=texts,
                    basis="cause table",
                ),
            )
        else:
            faults.emit_cause_list(state, texts, list(state.error_codes))
        return True
    entry: FaultEntry | None = None
    entry_rows: list[Row] = []  # the rows of the current entry (continuations too)
    headers = [strip_markup(h) for h in block.header]
    id_head = headers[ident] if ident < len(headers) else ""

    def flush(e: FaultEntry) -> None:
        causes = faults.emit(state, e)
        for r in entry_rows:
            for j in layout.all("value"):
                head = headers[j] if j < len(headers) else ""
                _state_reading(state, e, causes, r, head, id_head, _cell(r, j))

    # in a column of codes, a word alone ("Overload", "Ripple") is a code too
    code_column = _identifier_share(state, [_cell(r, ident) for r in rows]) >= CONTENT_SHARE
    for row in rows:
        id_cell = _cell(row, ident)
        if not id_cell:
            if entry is None:
                continue
            # a continuation row: its causes and actions belong to the row above
        else:
            if entry is not None:
                flush(entry)
            entry_rows = []
            label = strip_markup(id_cell.replace("\n", " / "))
            shape = shape_of(label, state.roles)
            if (
                shape is None
                and re.fullmatch(r"[A-Z0-9 .:_/'-]{3,60}", label)
                and re.search(r"[A-Z]{2}", label)
            ):
                shape = "message"  # "NO EARTH" in a message column: what the display shows
            codes = [label] if shape is not None else []
            if shape is None:
                codes = codes_in(label, camel=True)
                shape = "code" if codes else None
            if shape is None and code_column and len(label.split()) <= 3:
                shape, codes = "code", [label]  # "Overload" among codes is a code
            entry = FaultEntry(
                Text(label, row.line, row.line),
                shape,
                codes=codes,
                basis="symptom table",
                automatic=layout.automatic,
            )
        for j in cause_cols:
            cell = _cell(row, j)
            if cell:
                entry.causes.extend(_cause_texts(state, cell, row.line, _cell(row, notes_col)))
        for j in meaning_cols:
            cell = _cell(row, j)
            if cell:
                entry.meaning.append(Text.of(cell.replace("\n", " "), row.line))
        for j in action_cols:
            cell = _cell(row, j)
            if cell:
                entry.actions.extend(_items(cell, row.line))
        for j in layout.all("seen"):
            cell = _cell(row, j)
            for part in re.split(r"\s*;\s*", cell.replace("\n", " ")):
                if part.strip():
                    entry.seen.append(Text.of(part.strip(), row.line))
        entry_rows.append(row)
    if entry is not None:
        flush(entry)
    return True


def _state_reading(
    state: IngestState,
    entry: FaultEntry,
    causes: list[Cause],
    row: Row,
    head: str,
    id_head: str,
    cell: str,
) -> None:
    """A state table's value cell ("State C | +6V ±1 | Ready to charge"): a reading in
    that range means the row's state, so it implies the row's causes."""
    if not cell:
        return
    points = canonical_points(re.findall(r"[A-Za-z]+", head))
    for n, v in enumerate(stated_values(cell)):
        if v.low is None and v.high is None:
            continue
        when: When = "equals" if v.low == v.high else "in_range"
        state.add(
            "measurements",
            Measurement(
                id=f"{state.manual_id}/measure/{slug(f'{head}-{entry.identifier.text}', 40)}-{n}",
                manual=state.manual_id,
                quantity=v.quantity,
                points=points,
                unit=v.unit,
                low=v.low,
                high=v.high,
                condition=f"{id_head} {entry.identifier.text}".strip(),
                text=f"{head}: {cell}" if head else cell,
                implications=tuple(
                    Implication(when, c.title, c.id, v.low if when == "equals" else None)
                    for c in causes
                    if c.kind == "stated"
                ),
                source=state.source(row.line),
            ),
        )
