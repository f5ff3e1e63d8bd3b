"""Apply curated knowledge (kb/curated/*.yaml) to the compiled manuals.

Curated records cite a manual by id and a *quote*; the quote is looked up in the
manual being compiled, so the citation always holds the record's text and follows
the manual when it is edited or regenerated. A quote not found is an error at the
YAML line; records about a manual not being compiled are left out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from kb.curated import CURATED_DIR, Node, load_yaml, records
from kb.schema import (
    Cause,
    CodeAlias,
    ContextRule,
    Evidence,
    Implication,
    KnowledgeBase,
    LexiconEntry,
    Measurement,
    Source,
    StepCost,
)
from kb.text import Lexicon

POLARITIES = ("for", "against")
WHENS = ("low", "high", "open", "zero", "in_range", "equals")


@dataclass
class Curated:
    lexicon: Lexicon
    lexicon_entries: list[LexiconEntry]
    priors: dict[str, float]
    causes: list[Node] = field(default_factory=list)
    evidence: list[Node] = field(default_factory=list)
    measurements: list[Node] = field(default_factory=list)
    context_rules: list[Node] = field(default_factory=list)
    step_costs: list[Node] = field(default_factory=list)
    cause_steps: list[Node] = field(default_factory=list)
    code_aliases: list[Node] = field(default_factory=list)
    default_minutes_per_substep: float = 3.0


def _here(node: Node) -> Source:
    return Source(node.path, node.line, node.line)


def load(directory: Path | None = None) -> Curated:
    d = directory or CURATED_DIR
    lex_root = load_yaml(d / "lexicon.yaml", _show(d / "lexicon.yaml"))
    entries: list[LexiconEntry] = []
    for rec in records(lex_root, "lexicon"):
        canonical = rec.text("canonical")
        entries.append(LexiconEntry(canonical, rec.strings("phrases"), _here(rec)))
    lexicon = Lexicon.build((e.canonical, e.phrases) for e in entries)
    pri_root = load_yaml(d / "priors.yaml", _show(d / "priors.yaml"))
    priors: dict[str, float] = {}
    for rec in records(pri_root, "priors"):
        weight = rec.number("weight")
        assert weight is not None
        if weight <= 0:
            raise rec.node("weight").fail("expected a positive weight")
        for word in rec.strings("wording"):
            priors[word.lower()] = weight
    if "default" not in priors:
        raise pri_root.fail("expected a prior with wording 'default'")
    know = load_yaml(d / "knowledge.yaml", _show(d / "knowledge.yaml"))
    costs = load_yaml(d / "step_costs.yaml", _show(d / "step_costs.yaml"))
    cur = Curated(
        lexicon,
        entries,
        priors,
        causes=records(know, "causes"),
        evidence=records(know, "evidence"),
        measurements=records(know, "measurements"),
        context_rules=records(know, "context_rules"),
        step_costs=records(costs, "step_costs"),
        cause_steps=records(know, "cause_steps"),
        code_aliases=records(know, "code_aliases"),
    )
    per = costs.get("default_minutes_per_substep", (int, float), required=False)
    if per is not None:
        cur.default_minutes_per_substep = float(per)
    # validate shapes up front so a bad record fails even if its manual is absent
    for rec in cur.causes:
        rec.text("id"), rec.text("manual"), rec.text("title"), rec.text("quote")
    for rec in cur.evidence:
        rec.text("cause"), rec.text("text"), rec.text("quote")
        _strength(rec)
        if rec.text("polarity", required=False) not in ("", *POLARITIES):
            raise rec.node("polarity").fail(f"expected polarity to be one of {POLARITIES}")
    for rec in cur.measurements:
        rec.text("manual"), rec.text("quantity"), rec.text("quote")
        for imp in rec.get("implications", list):
            if imp.text("when") not in WHENS:
                raise imp.node("when").fail(f"expected 'when' to be one of {WHENS}")
    for rec in cur.context_rules:
        rec.text("id"), rec.strings("phrases"), rec.text("cause"), rec.text("quote")
        _strength(rec)
    for rec in cur.step_costs:
        rec.text("step"), rec.number("minutes"), rec.text("assumption")
    for rec in cur.code_aliases:
        rec.text("code"), rec.text("means"), rec.text("quote")
    for rec in cur.cause_steps:
        rec.text("cause"), rec.text("quote")
        rec.strings("tests", required=False), rec.strings("fixes", required=False)
    return cur


def _strength(rec: Node) -> float:
    s = rec.number("strength")
    assert s is not None
    if s <= 0:
        raise rec.node("strength").fail("expected a positive likelihood ratio")
    return s


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*`_]", "", s)).strip().lower()


def cite(rec: Node, manual: str, texts: dict[str, tuple[str, str]]) -> Source | None:
    """Resolve ``quote`` to the fewest lines of ``manual`` that hold it (at most
    six): the first line where the quote ends, extended back only as far as the
    quote needs."""
    if manual not in texts:
        return None
    src = _find_quote(rec, *texts[manual])
    if src is None:
        raise rec.node("quote").fail(f"expected the quote to appear in manual {manual!r}")
    return src


def _find_quote(rec: Node, path: str, text: str) -> Source | None:
    quote = _norm(rec.text("quote"))
    lines = text.split("\n")
    for j in range(len(lines)):
        for i in range(j, max(j - 6, -1), -1):
            if quote in _norm(" ".join(lines[i : j + 1])):
                return Source(path, i + 1, j + 1)
    return None


def apply(kb: KnowledgeBase, cur: Curated, texts: dict[str, tuple[str, str]]) -> KnowledgeBase:
    causes = list(kb.causes)
    evidence = list(kb.evidence)
    measurements = list(kb.measurements)
    manuals = {m.id: m for m in kb.manuals}
    for rec in cur.causes:
        manual = rec.text("manual")
        src = cite(rec, manual, texts)
        if src is None:
            continue
        m = manuals[manual]
        basis = rec.text("prior", required=False) or "default"
        if basis.lower() not in cur.priors:
            raise rec.node("prior").fail(
                f"expected a prior wording from priors.yaml, not {basis!r}"
            )
        causes.append(
            Cause(
                id=f"{manual}/cause/{rec.text('id')}",
                manual=manual,
                title=rec.text("title"),
                component=rec.text("component", required=False) or m.component_category,
                equipment=m.equipment,
                error_codes=m.error_codes,
                prior=cur.priors[basis.lower()],
                prior_basis=basis,
                notes=rec.text("notes", required=False),
                remedy=rec.text("remedy", required=False),
                source=src,
            )
        )
    cause_ids = {c.id for c in causes}

    def known(rec: Node, key: str = "cause") -> str | None:
        cid = rec.text(key)
        manual = cid.split("/", 1)[0]
        if manual not in texts:
            return None
        if cid not in cause_ids:
            raise rec.node(key).fail(f"expected a known cause id, not {cid!r}")
        return cid

    for rec in cur.evidence:
        cid = known(rec)
        if cid is None:
            continue
        src = cite(rec, rec.text("manual", required=False) or cid.split("/", 1)[0], texts)
        assert src is not None
        evidence.append(
            Evidence(
                id=f"{cid}/ev/curated-{rec.line}",
                manual=cid.split("/", 1)[0],
                kind=rec.text("kind", required=False) or "symptom",  # type: ignore[arg-type]
                text=rec.text("text"),
                cause=cid,
                strength=_strength(rec),
                polarity=rec.text("polarity", required=False) or "for",  # type: ignore[arg-type]
                source=src,
            )
        )
    for rec in cur.measurements:
        manual = rec.text("manual")
        src = cite(rec, manual, texts)
        if src is None:
            continue
        imps = []
        for imp in rec.get("implications", list):
            cid = known(imp) or ""
            imps.append(
                Implication(
                    imp.text("when"), imp.text("text"), cid, imp.number("value", required=False)
                )
            )
        measurements.append(
            Measurement(
                id=f"{manual}/measure/curated-{rec.text('id')}",
                manual=manual,
                quantity=rec.text("quantity"),
                points=rec.strings("points", required=False),
                unit=rec.text("unit"),
                low=rec.number("low", required=False),
                high=rec.number("high", required=False),
                condition=rec.text("condition", required=False),
                text=rec.text("text"),
                implications=tuple(imps),
                source=src,
            )
        )
    rules = []
    for rec in cur.context_rules:
        cid = known(rec)
        if cid is None:
            continue
        src = cite(rec, cid.split("/", 1)[0], texts)
        assert src is not None
        rules.append(
            ContextRule(
                rec.text("id"),
                rec.strings("phrases"),
                cid,
                _strength(rec),
                rec.text("explanation", required=False),
                src,
                _here(rec),
            )
        )
    step_ids = {s.id for s in kb.steps}
    links: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for rec in cur.cause_steps:
        cid = known(rec)
        if cid is None:
            continue
        cite(rec, rec.text("manual", required=False) or cid.split("/", 1)[0], texts)
        ids = {k: rec.strings(k, required=False) for k in ("tests", "fixes")}
        for key, values in ids.items():
            for sid in values:
                if sid.split("/", 1)[0] in texts and sid not in step_ids:
                    raise rec.node(key).fail(f"expected a known step id, not {sid!r}")
        links[cid] = (
            tuple(s for s in ids["tests"] if s in step_ids),
            tuple(s for s in ids["fixes"] if s in step_ids),
        )
    causes = [
        replace(c, tests=links[c.id][0], fixes=links[c.id][1]) if c.id in links else c
        for c in causes
    ]
    aliases = []
    for rec in cur.code_aliases:
        means = rec.text("means")
        # cited from the first manual declaring the code that holds the quote; another
        # manual may declare the same station code in its own words (a third-party
        # or newer revision), and without the quoted manual the alias is left out
        src = None
        for m in kb.manuals:
            if means in m.error_codes and m.id in texts:
                src = _find_quote(rec, *texts[m.id])
                if src is not None:
                    break
        if src is None:
            continue
        aliases.append(CodeAlias(rec.text("code"), means, src, _here(rec)))
    costs: dict[str, StepCost] = {}
    for rec in cur.step_costs:
        sid = rec.text("step")
        if sid.split("/", 1)[0] not in texts:
            continue
        if sid not in step_ids:
            raise rec.node("step").fail(f"expected a known step id, not {sid!r}")
        minutes = rec.number("minutes")
        assert minutes is not None
        costs[sid] = StepCost(sid, minutes, rec.text("assumption"), _here(rec))
    steps = tuple(
        replace(
            s,
            minutes=costs[s.id].minutes
            if s.id in costs
            else cur.default_minutes_per_substep * max(1, len(s.substeps)),
        )
        for s in kb.steps
    )
    return replace(
        kb,
        causes=tuple(causes),
        evidence=tuple(evidence),
        measurements=tuple(measurements),
        steps=steps,
        lexicon=tuple(cur.lexicon_entries),
        context_rules=tuple(rules),
        step_costs=tuple(costs.values()),
        code_aliases=tuple(aliases),
    )
