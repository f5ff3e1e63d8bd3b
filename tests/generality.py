"""Generality on troubleshooting documents nobody here wrote.

``../shared/corpus/troubleshooting/`` holds real third-party documents with a
human-written ground truth (``truth.yaml``: per document its faults with their
causes and actions, its measurements) and field observations (``cases.yaml``).
Each document is compiled *on its own* and scored:

- **fault recall**: a truth fault is found when a fault record of the knowledge
  base (an error code, or a symptom that points at causes) says the same thing
  (at least half of the content words of one are in the other), or says part of
  it and cites the truth's line;
- **cause recall**: a truth cause of a found fault is found when a cause linked to
  that fault record says the same thing;
- **action recall**: likewise for an action, against the steps that test or fix
  the fault's causes and the causes' remedies;
- **measurement recall**: a truth measurement is found when a measurement record
  cites its line and (where the truth gives a number) holds that number;
- **diagnosis**: ``cases.yaml`` observations (text and the code a technician would
  read) against the document's knowledge base; a case counts when the cause the
  case expects (a regex over the cause's title and notes) ranks first / in the
  first three.

Run ``python -m tests.generality [TRUTH_DIR] [--cases FILE]`` for the table; the
test (tests/test_generality.py) asserts floors and prints the same figures.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.diagnose import Diagnoser
from ingest.pipeline import compile_paths
from kb.schema import Cause, KnowledgeBase, Step
from kb.text import containment, terms

SHARED = Path(__file__).resolve().parents[2] / "shared"
TRUTH_DIR = SHARED / "corpus" / "troubleshooting"
SIMILAR = 0.5
SIMILAR_AT_LINE = 0.25
LINE_SLACK = 1


def fold(text: str) -> str:
    """Lower case without accents or markup, so 'Rødt' meets 'Rodt'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("Æ", "AE")
    return re.sub(r"[*`_]", " ", text).lower()


def content(text: str) -> frozenset[str]:
    # identifiers such as BmsConnectionLost or CONNLEVEL_80_TCP_RUNNING count as words
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text.replace("_", " "))
    return terms(fold(text) + " " + fold(spaced), None)


def similar(a: str, b: str) -> float:
    ta, tb = content(a), content(b)
    if not ta or not tb:
        # a one-letter state ("A") or a bare number has no content words: same text
        same = re.sub(r"\W+", "", fold(a)) == re.sub(r"\W+", "", fold(b)) != ""
        return 1.0 if same else 0.0
    return max(containment(ta, tb), containment(tb, ta))


@dataclass(frozen=True)
class TruthFault:
    code: str
    line: int
    causes: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class TruthMeasurement:
    what: str
    expected: str
    line: int


@dataclass(frozen=True)
class TruthDoc:
    name: str
    faults: tuple[TruthFault, ...]
    measurements: tuple[TruthMeasurement, ...]


def load_truth(directory: Path) -> list[TruthDoc]:
    """truth.yaml, with each fault's line taken from its ``# l.N`` comment."""
    raw = (directory / "truth.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)
    lines_by_doc: dict[str, list[int]] = {}
    doc = ""
    for ln in raw.splitlines():
        m = re.match(r"^(\S[^:]*\.md):\s*$", ln)
        if m:
            doc = m.group(1)
            continue
        lm = re.match(r"^\s*- code:.*#\s*l\.(\d+)", ln)
        if lm and doc:
            lines_by_doc.setdefault(doc, []).append(int(lm.group(1)))
    out = []
    for name, entry in data.items():
        faults = entry.get("faults") or []
        lines = lines_by_doc.get(name, [])
        out.append(
            TruthDoc(
                name,
                tuple(
                    TruthFault(
                        str(f["code"]),
                        lines[i] if i < len(lines) else 0,
                        tuple(str(c) for c in f.get("causes") or ()),
                        tuple(str(a) for a in f.get("actions") or ()),
                    )
                    for i, f in enumerate(faults)
                ),
                tuple(
                    TruthMeasurement(str(m["what"]), str(m["expected"]), int(m["line"]))
                    for m in entry.get("measurements") or ()
                ),
            )
        )
    return out


@dataclass(frozen=True)
class FaultRecord:
    """A fault as the knowledge base holds it: what identifies it and where."""

    text: str
    line_start: int
    line_end: int
    causes: tuple[Cause, ...]


def fault_records(kb: KnowledgeBase) -> list[FaultRecord]:
    by_id = {c.id: c for c in kb.causes}
    out: list[FaultRecord] = []
    for ec in kb.error_codes:
        causes = tuple(c for c in kb.causes if ec.code in c.error_codes)
        label = " ".join(dict.fromkeys([ec.code, ec.text] if ec.text else [ec.code]))
        out.append(FaultRecord(label, ec.source.line_start, ec.source.line_end, causes))
    for s in kb.symptoms:
        causes = tuple(
            by_id[e.cause]
            for e in kb.evidence
            if e.kind == "symptom" and e.text == s.text and e.cause in by_id
        ) + tuple(
            # a fault whose document names no cause stands for its own cause
            c
            for c in kb.causes
            if c.kind == "fault" and c.title.casefold() == s.text.casefold()
        )
        out.append(FaultRecord(s.text, s.source.line_start, s.source.line_end, causes))
    return out


def actions_of(kb: KnowledgeBase, causes: Iterable[Cause]) -> list[str]:
    steps: dict[str, Step] = {s.id: s for s in kb.steps}
    texts: list[str] = []
    for c in causes:
        if c.remedy:
            texts.append(c.remedy)
        for sid in (*c.tests, *c.fixes):
            s = steps.get(sid)
            if s is not None:
                texts.append(s.title)
                texts.extend(s.substeps)
    return texts


@dataclass
class Score:
    found: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, hit: bool, label: str) -> None:
        self.total += 1
        self.found += hit
        if not hit:
            self.misses.append(label)

    def __iadd__(self, other: Score) -> Score:
        self.found += other.found
        self.total += other.total
        self.misses += other.misses
        return self

    @property
    def share(self) -> float:
        return self.found / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.found}/{self.total} {self.share:.0%}"


@dataclass
class DocScore:
    name: str
    faults: Score
    causes: Score
    actions: Score
    measurements: Score
    extracted_faults: int
    unmatched_faults: list[str]


def _at(line: int, start: int, end: int) -> bool:
    return start - LINE_SLACK <= line <= end + LINE_SLACK


def score_doc(doc: TruthDoc, kb: KnowledgeBase) -> DocScore:
    records = fault_records(kb)
    faults, causes, actions, measurements = Score(), Score(), Score(), Score()
    used: set[int] = set()
    for tf in doc.faults:
        best: tuple[float, int] | None = None
        for i, r in enumerate(records):
            sim = similar(tf.code, r.text)
            ok = sim >= SIMILAR or (
                sim >= SIMILAR_AT_LINE and _at(tf.line, r.line_start, r.line_end)
            )
            # a record at the truth's line wins over an equally similar one elsewhere
            key = sim + (0.5 if _at(tf.line, r.line_start, r.line_end) else 0.0)
            # then the record that says the fault whole: "Red fast blinking" is not "Red"
            key += 0.01 * min(
                containment(content(tf.code), content(r.text)),
                containment(content(r.text), content(tf.code)),
            )
            if ok and (best is None or key > best[0]):
                best = (key, i)
        faults.add(best is not None, f"{doc.name}:{tf.line} {tf.code}")
        linked = records[best[1]].causes if best is not None else ()
        if best is not None:
            used.add(best[1])
        for tc in tf.causes:
            hit = any(similar(tc, c.title) >= SIMILAR for c in linked)
            causes.add(hit, f"{doc.name}:{tf.line} {tc}")
        texts = actions_of(kb, linked)
        for ta in tf.actions:
            hit = any(similar(ta, t) >= SIMILAR for t in texts)
            actions.add(hit, f"{doc.name}:{tf.line} {ta}")
    for tm in doc.measurements:
        numbers = set(re.findall(r"\d+(?:[.,]\d+)?", tm.expected))
        hit = False
        for m in kb.measurements:
            if not _at(tm.line, m.source.line_start, m.source.line_end):
                continue
            held = set(re.findall(r"\d+(?:[.,]\d+)?", m.text))
            for v in (m.low, m.high):
                if v is not None:
                    held.add(f"{abs(v):g}")
            if not numbers or numbers & held:
                hit = True
                break
        measurements.add(hit, f"{doc.name}:{tm.line} {tm.what}")
    unmatched = [r.text for i, r in enumerate(records) if i not in used]
    return DocScore(doc.name, faults, causes, actions, measurements, len(records), unmatched)


@dataclass(frozen=True)
class CaseResult:
    id: str
    doc: str
    rank: int | None


def run_cases(cases: Sequence[dict[str, Any]], kbs: dict[str, KnowledgeBase]) -> list[CaseResult]:
    out = []
    diagnosers: dict[str, Diagnoser] = {}
    for case in cases:
        doc = str(case["doc"])
        if doc not in kbs:
            continue
        d = diagnosers.get(doc) or diagnosers.setdefault(doc, Diagnoser(kbs[doc]))
        result = d.diagnose(str(case["text"]), error=case.get("error"))
        rank = None
        for i, rc in enumerate(result.causes, 1):
            # the cause as the technician reads it: its title, notes and its own actions
            # (a case may name the fix the document gives for the cause)
            said = " ".join([rc.cause.title, rc.cause.notes, *actions_of(kbs[doc], [rc.cause])])
            if re.search(str(case["cause"]), said, re.I):
                rank = i
                break
        out.append(CaseResult(str(case["id"]), doc, rank))
    return out


NORWEGIAN = frozenset({"volterra-ladestasjon-feilsoking.md"})


@dataclass
class Report:
    docs: list[DocScore]
    cases: list[CaseResult]

    def total(self, docs: Iterable[DocScore]) -> tuple[Score, Score, Score, Score]:
        f, c, a, m = Score(), Score(), Score(), Score()
        for d in docs:
            f += d.faults
            c += d.causes
            a += d.actions
            m += d.measurements
        return f, c, a, m

    def english(self) -> tuple[Score, Score, Score, Score]:
        return self.total(d for d in self.docs if d.name not in NORWEGIAN)

    def top(self, k: int, norwegian: bool = False) -> Score:
        s = Score()
        for r in self.cases:
            if (r.doc in NORWEGIAN) == norwegian:
                s.add(r.rank is not None and r.rank <= k, r.id)
        return s

    def table(self) -> str:
        rows = ["| document | faults | causes | actions | measurements | fault records |"]
        rows.append("|---|---:|---:|---:|---:|---:|")
        for d in self.docs:
            rows.append(
                f"| {d.name} | {d.faults} | {d.causes} | {d.actions} | {d.measurements} "
                f"| {d.extracted_faults} |"
            )
        f, c, a, m = self.english()
        rows.append(f"| **English documents** | {f} | {c} | {a} | {m} | |")
        f, c, a, m = self.total(d for d in self.docs if d.name in NORWEGIAN)
        rows.append(f"| Norwegian document | {f} | {c} | {a} | {m} | |")
        lines = ["\n".join(rows), ""]
        lines.append(
            f"diagnosis, English documents: top-1 {self.top(1)}, top-3 {self.top(3)}; "
            f"Norwegian: top-1 {self.top(1, True)}, top-3 {self.top(3, True)}"
        )
        return "\n".join(lines)


def evaluate(directory: Path = TRUTH_DIR, cases_file: Path | None = None) -> Report:
    truth = load_truth(directory)
    kbs: dict[str, KnowledgeBase] = {}
    docs = []
    for doc in truth:
        kb = compile_paths([directory / doc.name])
        kbs[doc.name] = kb
        docs.append(score_doc(doc, kb))
    cases_path = cases_file or directory / "cases.yaml"
    cases = yaml.safe_load(cases_path.read_text(encoding="utf-8")) or []
    return Report(docs, run_cases(cases, kbs))


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    cases_file = None
    if "--cases" in args:
        i = args.index("--cases")
        cases_file = Path(args[i + 1])
        del args[i : i + 2]
    directory = Path(args[0]) if args else TRUTH_DIR
    report = evaluate(directory, cases_file)
    print(report.table())
    if verbose:
        for d in report.docs:
            for kind, s in (
                ("fault", d.faults),
                ("cause", d.causes),
                ("action", d.actions),
                ("measurement", d.measurements),
            ):
                for miss in s.misses:
                    print(f"  missed {kind}: {miss}")
            for u in d.unmatched_faults:
                print(f"  extra fault record: {d.name}: {u[:100]}")
        print("cases not first:", [(r.id, r.rank) for r in report.cases if r.rank != 1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
