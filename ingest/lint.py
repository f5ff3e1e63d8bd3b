"""Manual lint for documentation writers: findings with ``path:line``.

Checks (each a small function over the ingested document, in the manner of the
extractor chain):

- ``lockout``: a step that works inside the cabinet with no lockout step before it
  (error), or cabinet work in a manual whose safety section names no lockout (error);
- ``tools``: a tool or consumable a step uses that the Required Tools table lacks
  (warning), vocabulary in kb/curated/lint.yaml;
- ``numbers``: a V x A claim that disagrees with the kW stated beside it (error);
- ``units``: an expected reading given as a bare number (warning).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest import curated as curated_mod
from ingest.pipeline import display_path, find_manuals, ingest_text, manual_ids, read_text
from ingest.state import IngestState
from ingest.tree import Item
from kb.curated import CURATED_DIR, load_yaml, records
from kb.text import containment, terms


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    severity: str  # "error" or "warning"
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message} [{self.check}]"


@dataclass(frozen=True)
class LintVocabulary:
    tools: tuple[tuple[str, tuple[str, ...]], ...]  # name, phrases


def load_vocabulary(directory: Path | None = None) -> LintVocabulary:
    path = (directory or CURATED_DIR) / "lint.yaml"
    root = load_yaml(path, display_path(path))
    tools = []
    for rec in records(root, "tools"):
        tools.append((rec.text("name"), rec.strings("phrases")))
    return LintVocabulary(tuple(tools))


def _items(items: Iterable[Item]) -> Iterable[Item]:
    for it in items:
        yield it
        yield from _items(it.children)


def _step_items(state: IngestState) -> list[tuple[str, Item]]:
    """(step id, list item) for every sub-step line of every step."""
    out: list[tuple[str, Item]] = []
    for step in state.get("steps"):
        for sec in state.doc.sections:
            for block in sec.all_blocks():
                if block.kind != "list":
                    continue
                if not (step.source.line_start <= block.line_start <= step.source.line_end):
                    continue
                out.extend((step.id, it) for it in _items(block.items))
    return out


_INSIDE = re.compile(
    r"inside the (?:cabinet|unit|housing|enclosure)|open the [\w\s-]*cabinet|"
    r"terminal block|drum cover|contactor board|soldered to the main",
    re.I,
)
_LOCK = re.compile(r"\block out\b|\bLOTO\b|lockout", re.I)


def check_lockout(state: IngestState, vocab: LintVocabulary) -> list[Finding]:
    out: list[Finding] = []
    steps = sorted(state.get("steps"), key=lambda s: s.source.line_start)
    locked = False
    for step in steps:
        text = " ".join([step.title, *step.substeps])
        if step.substeps and _LOCK.search(step.substeps[0]):
            locked = True
        if re.search(r"remove (?:the )?LOTO|remove lockout", text, re.I):
            continue
        if _INSIDE.search(text) and not locked and not _LOCK.search(step.title):
            out.append(
                Finding(
                    state.path,
                    step.source.line_start,
                    "error",
                    "lockout",
                    f"step {step.number} {step.title!r} works inside the cabinet "
                    "but no lockout/tagout step comes before it",
                )
            )
    inside = any(_INSIDE.search(" ".join(s.substeps)) for s in steps)
    if inside and not any(r.lockout for r in state.get("safety")):
        out.append(
            Finding(
                state.path,
                1,
                "error",
                "lockout",
                "the procedure works inside the cabinet but the safety section "
                "says nowhere that lockout/tagout is required",
            )
        )
    return out


def check_tools(state: IngestState, vocab: LintVocabulary) -> list[Finding]:
    table = [
        terms(f"{t.name} {t.specification}", state.lexicon)
        for t in [*state.get("tools"), *state.get("parts")]
    ]
    if not table:
        return []
    out: list[Finding] = []
    reported: set[str] = set()
    for _sid, item in _step_items(state):
        low = item.text.lower()
        for name, phrases in vocab.tools:
            if name in reported:
                continue
            hit = next((p for p in phrases if re.search(rf"\b{re.escape(p)}\b", low)), None)
            if hit is None:
                continue
            want = terms(name, state.lexicon)
            if any(containment(want, row) >= 0.5 for row in table):
                continue
            reported.add(name)
            out.append(
                Finding(
                    state.path,
                    item.line_start,
                    "warning",
                    "tools",
                    f"{hit!r} is used here but {name!r} is not in the Required Tools table",
                )
            )
    return out


_VA = re.compile(
    r"(\d+(?:\.\d+)?)\s*A\b[^.()]*?(?:at|@|/)\s*(\d+(?:\.\d+)?)\s*V(?:AC)?\b"
    r"|(\d+(?:\.\d+)?)\s*V(?:AC)?\s*/\s*(\d+(?:\.\d+)?)\s*A\b",
    re.I,
)
_KW = re.compile(r"(\d+(?:\.\d+)?)\s*kW\b", re.I)


def check_numbers(state: IngestState, vocab: LintVocabulary) -> list[Finding]:
    out: list[Finding] = []
    for s in state.sentences:
        kws = [float(m.group(1)) for m in _KW.finditer(s.text)]
        if not kws:
            continue
        for m in _VA.finditer(s.text):
            amps, volts = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
            power = float(amps) * float(volts) / 1000
            if not any(abs(power - kw) <= 0.02 * kw for kw in kws):
                stated = " or ".join(f"{kw:g} kW" for kw in kws)
                out.append(
                    Finding(
                        state.path,
                        s.line_start,
                        "error",
                        "numbers",
                        f"{amps} A x {volts} V = {power:g} kW, but the text says {stated}",
                    )
                )
    return out


_EXPECT_BARE = re.compile(
    r"\b(?:expect(?:ed)?|should (?:measure|read|be)|measures?|reads?)\s+(?:about\s+|around\s+|"
    r"approximately\s+|~\s*)?(\d+(?:\.\d+)?(?:\s*[-–]\s*\d+(?:\.\d+)?)?)(?!\d|\.\d|\s*[-–]\s*\d)"
    r"(?!\s*(?:[%°]|[A-Za-zΩω]))",
    re.I,
)


def check_units(state: IngestState, vocab: LintVocabulary) -> list[Finding]:
    out: list[Finding] = []
    for s in state.sentences:
        for m in _EXPECT_BARE.finditer(s.text):
            out.append(
                Finding(
                    state.path,
                    s.line_start,
                    "warning",
                    "units",
                    f"expected reading {m.group(1)!r} has no unit",
                )
            )
    return out


CHECKS: tuple[Callable[[IngestState, LintVocabulary], list[Finding]], ...] = (
    check_lockout,
    check_tools,
    check_numbers,
    check_units,
)


def lint_paths(paths: Iterable[Path], curated_dir: Path | None = None) -> list[Finding]:
    cur = curated_mod.load(curated_dir)
    vocab = load_vocabulary(curated_dir)
    findings: list[Finding] = []
    paths = list(paths)
    found = find_manuals(paths)
    ids = manual_ids(found, paths)
    for path in found:
        shown = display_path(path)
        state = ingest_text(shown, read_text(path), ids[path], cur)
        for check in CHECKS:
            findings.extend(check(state, vocab))
        findings.extend(
            Finding(shown, line, "warning", "structure", message)
            for line, message in state.warnings
        )
    findings.sort(key=lambda f: (f.path, f.line, f.check))
    return findings
