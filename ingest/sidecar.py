"""Knowledge about one manual that its text does not state in a form the
extractors read, kept *beside* the manual: ``<name>.knowledge.yaml`` next to
``<name>.md``. Nothing in it names the manual: it belongs to the file it sits
beside, so renaming both keeps every link.

Every record cites the manual by a ``quote`` the manual holds (resolved to its
lines at compile time, so a citation cannot drift); a record that does not fit
fails with ``file:line: what was expected``, and `evkb manual lint` reports it.

- ``steps``: minutes of this manual's steps, by step number, with the assumption;
- ``causes``, ``evidence``, ``measurements``: knowledge the prose states in a way
  no extractor reads;
- ``cues``: context phrases that point at a cause (site events);
- ``links``: which steps test or fix a cause, where the manual says so outside
  the cause's own row. A step of this manual is named by its number; a step of
  another manual by words its title or sub-steps hold (``{step_with: "..."}``),
  so the link holds whatever that manual's file is called;
- ``ocpp_aliases``: OCPP ChargePointErrorCode values that mean one of this
  manual's codes.

Causes are named by their id within this manual (``cp-signal-break-in-cable``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from kb.curated import Node, load_yaml, records
from kb.schema import (
    MEASURE_STATES,
    Cause,
    CodeAlias,
    ContextRule,
    Evidence,
    Implication,
    KnowledgeBase,
    Measurement,
    MeasureState,
    Source,
    Step,
    slug,
)

SUFFIX = ".knowledge.yaml"
POLARITIES = ("for", "against")
WHENS = ("low", "high", "open", "zero", "in_range", "equals")
KEYS = ("steps", "causes", "evidence", "measurements", "cues", "links", "ocpp_aliases")


def path_for(manual: Path) -> Path:
    return manual.with_name(manual.stem + SUFFIX)


@dataclass(frozen=True)
class Sidecar:
    manual: str  # id of the manual it sits beside
    path: str  # as shown in messages
    root: Node

    def items(self, key: str) -> list[Node]:
        return records(self.root, key)


def load(path: Path, shown: str, manual_id: str) -> Sidecar:
    root = load_yaml(path, shown)
    if isinstance(root.value, list) and not root.value:
        root = Node({}, 1, shown)
    if not isinstance(root.value, dict):
        raise root.fail("expected a mapping of knowledge about the manual beside it")
    for key, node in root.value.items():
        if key not in KEYS:
            raise node.fail(f"expected one of {', '.join(KEYS)}, not {key!r}")
    side = Sidecar(manual_id, shown, root)
    _validate(side)
    return side


def _strength(rec: Node) -> float:
    s = rec.number("strength")
    assert s is not None
    if s <= 0:
        raise rec.node("strength").fail("expected a positive likelihood ratio")
    return s


def _validate(side: Sidecar) -> None:
    """Shapes, before any manual is compiled."""
    for rec in side.items("steps"):
        rec.text("step"), rec.text("assumption")
        minutes = rec.number("minutes")
        assert minutes is not None
        if not 0 <= minutes < 10_000:
            raise rec.node("minutes").fail("expected minutes between 0 and 10000")
    for rec in side.items("causes"):
        rec.text("id"), rec.text("title"), rec.text("quote")
    for rec in side.items("evidence"):
        rec.text("cause"), rec.text("text"), rec.text("quote")
        _strength(rec)
        if rec.text("polarity", required=False) not in ("", *POLARITIES):
            raise rec.node("polarity").fail(f"expected polarity to be one of {POLARITIES}")
    for rec in side.items("measurements"):
        rec.text("id"), rec.text("quantity"), rec.text("quote"), rec.text("unit")
        if rec.text("state", required=False) not in MEASURE_STATES:
            raise rec.node("state").fail(f"expected state to be one of {MEASURE_STATES[1:]}")
        for imp in rec.get("implications", list):
            if imp.text("when") not in WHENS:
                raise imp.node("when").fail(f"expected 'when' to be one of {WHENS}")
    for rec in side.items("cues"):
        rec.text("id"), rec.strings("phrases"), rec.text("cause"), rec.text("quote")
        _strength(rec)
    for rec in side.items("links"):
        rec.text("cause"), rec.text("quote")
        for key in ("tests", "fixes"):
            for item in rec.get(key, list, required=False) or []:
                if isinstance(item.value, str | int | float):
                    continue
                if isinstance(item.value, dict) and "step_with" in item.value:
                    item.text("step_with")
                    continue
                raise item.fail(f"expected a step number or {{step_with: words}} in {key!r}")
    for rec in side.items("ocpp_aliases"):
        rec.text("code"), rec.text("means"), rec.text("quote")


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*`_]", "", s)).strip().lower()


def find_quote(quote: str, path: str, text: str) -> Source | None:
    """The fewest lines (at most six) of ``text`` that hold ``quote``."""
    q = _norm(quote)
    lines = text.split("\n")
    for j in range(len(lines)):
        for i in range(j, max(j - 6, -1), -1):
            if q in _norm(" ".join(lines[i : j + 1])):
                return Source(path, i + 1, j + 1)
    return None


def _here(node: Node) -> Source:
    return Source(node.path, node.line, node.line)


class _Applier:
    def __init__(
        self,
        kb: KnowledgeBase,
        sidecars: list[Sidecar],
        texts: dict[str, tuple[str, str]],
        priors: dict[str, float],
    ) -> None:
        self.kb = kb
        self.sidecars = sidecars
        self.texts = texts
        self.priors = priors

    def cite(self, side: Sidecar, rec: Node) -> Source:
        src = find_quote(rec.text("quote"), *self.texts[side.manual])
        if src is None:
            raise rec.node("quote").fail("expected the quote to appear in the manual beside it")
        return src

    def cause_id(self, side: Sidecar, rec: Node, ids: set[str], key: str = "cause") -> str:
        local = rec.text(key)
        cid = f"{side.manual}/cause/{local}"
        if cid not in ids:
            known = ", ".join(
                sorted(i.rsplit("/", 1)[-1] for i in ids if i.startswith(side.manual + "/"))
            )
            raise rec.node(key).fail(
                f"expected a known cause of the manual beside it, not {local!r} (known: {known})"
            )
        return cid

    def step_ref(self, side: Sidecar, item: Node) -> str | None:
        """A step id: a number of this manual, or the one step of any compiled manual
        whose title or sub-steps hold the words (None when that manual is absent)."""
        if isinstance(item.value, dict):
            words = _norm(item.text("step_with"))
            hits = [s for s in self.kb.steps if words in _norm(" ".join([s.title, *s.substeps]))]
            if len(hits) > 1:
                names = ", ".join(f"{s.source.cite()} {s.title}" for s in hits)
                raise item.fail(f"expected words that name one step, found {len(hits)}: {names}")
            return hits[0].id if hits else None
        number = str(item.value)
        sid = f"{side.manual}/step/{number}"
        if not any(s.id == sid for s in self.kb.steps):
            nums = ", ".join(s.number for s in self.kb.steps if s.manual == side.manual)
            raise item.fail(
                f"expected a step number of the manual beside it ({nums}), not {number!r}"
            )
        return sid

    def apply(self) -> KnowledgeBase:
        kb = self.kb
        causes = list(kb.causes)
        manuals = {m.id: m for m in kb.manuals}
        for side in self.sidecars:
            m = manuals[side.manual]
            for rec in side.items("causes"):
                basis = rec.text("prior", required=False) or "default"
                causes.append(
                    Cause(
                        id=f"{side.manual}/cause/{rec.text('id')}",
                        manual=side.manual,
                        title=rec.text("title"),
                        component=rec.text("component", required=False) or m.component_category,
                        equipment=m.equipment,
                        error_codes=m.error_codes,
                        prior=self.prior(rec, basis),
                        prior_basis=basis,
                        notes=rec.text("notes", required=False),
                        remedy=rec.text("remedy", required=False),
                        source=self.cite(side, rec),
                    )
                )
        ids = {c.id for c in causes}
        evidence = list(kb.evidence)
        measurements = list(kb.measurements)
        rules: list[ContextRule] = []
        aliases: list[CodeAlias] = []
        links: dict[str, tuple[list[str], list[str]]] = {}
        minutes: dict[str, tuple[float, str]] = {}
        for side in self.sidecars:
            for rec in side.items("evidence"):
                cid = self.cause_id(side, rec, ids)
                evidence.append(
                    Evidence(
                        id=f"{cid}/ev/{slug(rec.text('text'), 40)}",
                        manual=side.manual,
                        kind=rec.text("kind", required=False) or "symptom",  # type: ignore[arg-type]
                        text=rec.text("text"),
                        cause=cid,
                        strength=_strength(rec),
                        polarity=rec.text("polarity", required=False) or "for",  # type: ignore[arg-type]
                        source=self.cite(side, rec),
                    )
                )
            for rec in side.items("measurements"):
                imps = []
                for imp in rec.get("implications", list):
                    cid = self.cause_id(side, imp, ids) if imp.get("cause", str, False) else ""
                    imps.append(
                        Implication(
                            imp.text("when"),
                            imp.text("text"),
                            cid,
                            imp.number("value", required=False),
                        )
                    )
                measurements.append(
                    Measurement(
                        id=f"{side.manual}/measure/side-{rec.text('id')}",
                        manual=side.manual,
                        quantity=rec.text("quantity"),
                        points=rec.strings("points", required=False),
                        unit=rec.text("unit"),
                        low=rec.number("low", required=False),
                        high=rec.number("high", required=False),
                        condition=rec.text("condition", required=False),
                        text=rec.text("text"),
                        implications=tuple(imps),
                        source=self.cite(side, rec),
                        state=_state(rec.text("state", required=False)),
                    )
                )
            for rec in side.items("cues"):
                cid = self.cause_id(side, rec, ids)
                rules.append(
                    ContextRule(
                        rec.text("id"),
                        rec.strings("phrases"),
                        cid,
                        _strength(rec),
                        rec.text("explanation", required=False),
                        self.cite(side, rec),
                        _here(rec),
                    )
                )
            for rec in side.items("links"):
                cid = self.cause_id(side, rec, ids)
                self.cite(side, rec)
                have = links.setdefault(cid, ([], []))
                for slot, key in enumerate(("tests", "fixes")):
                    for item in rec.get(key, list, required=False) or []:
                        sid = self.step_ref(side, item)
                        if sid is not None and sid not in have[slot]:
                            have[slot].append(sid)
            for rec in side.items("ocpp_aliases"):
                means = rec.text("means")
                if means not in manuals[side.manual].error_codes:
                    raise rec.node("means").fail(
                        f"expected one of the manual's error codes, not {means!r}"
                    )
                aliases.append(CodeAlias(rec.text("code"), means, self.cite(side, rec), _here(rec)))
            for rec in side.items("steps"):
                sid = self.step_ref(side, rec.node("step"))
                assert sid is not None
                value = rec.number("minutes")
                assert value is not None
                minutes[sid] = (value, f"sidecar: {rec.text('assumption')}")
        causes = [
            replace(
                c,
                tests=tuple(dict.fromkeys([*c.tests, *links[c.id][0]])),
                fixes=tuple(dict.fromkeys([*c.fixes, *links[c.id][1]])),
            )
            if c.id in links
            else c
            for c in causes
        ]
        steps: list[Step] = [
            replace(s, minutes=minutes[s.id][0], minutes_basis=minutes[s.id][1])
            if s.id in minutes
            else s
            for s in kb.steps
        ]
        return replace(
            kb,
            causes=tuple(causes),
            evidence=tuple(evidence),
            measurements=tuple(measurements),
            steps=tuple(steps),
            context_rules=kb.context_rules + tuple(rules),
            code_aliases=kb.code_aliases + tuple(aliases),
        )

    def prior(self, rec: Node, basis: str) -> float:
        if basis.lower() not in self.priors:
            raise rec.node("prior").fail(
                f"expected a prior wording from priors.yaml, not {basis!r}"
            )
        return self.priors[basis.lower()]


def apply(
    kb: KnowledgeBase,
    sidecars: list[Sidecar],
    texts: dict[str, tuple[str, str]],
    priors: dict[str, float],
) -> KnowledgeBase:
    return _Applier(kb, sidecars, texts, priors).apply()


def _state(text: str) -> MeasureState:
    """A sidecar's measurement state (checked against MEASURE_STATES by lint)."""
    for st in MEASURE_STATES:
        if st == text:
            return st
    return ""
