"""A partition of the knowledge base: the causes of one equipment (plus the generic
ones), with their matcher and their experta engine, built once and reset per query."""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine import outcomes, rules
from engine.match import Matcher
from engine.plan import CauseSteps
from engine.records import order_key
from kb.schema import Cause, KnowledgeBase
from kb.text import Lexicon, clauses, terms


class Partition:
    """Causes of one equipment (plus generic ones), with their built engine."""

    def __init__(
        self,
        kb: KnowledgeBase,
        key: str,
        causes: list[Cause],
        lexicon: Lexicon,
        links: Mapping[str, CauseSteps],
    ) -> None:
        self.key = key
        self.kb = kb
        self.causes = {c.id: c for c in causes}
        self.lexicon = lexicon
        self.links = links
        self.matcher = Matcher(kb, self.causes, lexicon, links)
        manuals = {c.manual for c in causes}
        measurements = [m for m in kb.measurements if m.manual in manuals]
        ctx = [r for r in kb.context_rules if r.cause in self.causes]
        self.context_rules = ctx
        self.measurements = measurements
        self._signatures: dict[str, outcomes.FixSignature] | None = None
        self.engine = rules.PartitionEngine(
            self.matcher.observables, measurements, causes, ctx, fixed_by=self.fixed_by
        )
        total = sum(c.prior for c in causes) or 1.0
        self.log_prior = {c.id: math.log(c.prior / total) for c in causes}
        self.max_log_prior = max(self.log_prior.values(), default=0.0)
        self.by_prior = sorted(self.log_prior, key=lambda cid: (-self.log_prior[cid], cid))
        self.order_keys = {c.id: order_key(c) for c in causes}

    def quantity_at(self, points: tuple[str, ...]) -> str | None:
        """What the manuals measure between these test points, when that is one
        quantity (resistance between PP and PE, voltage on CP)."""
        want = set(points)
        found = {
            m.quantity
            for m in self.measurements
            if m.points
            and (want <= set(m.points) or set(m.points) <= want)
            and m.quantity in rules.READING_QUANTITIES
        }
        return found.pop() if len(found) == 1 else None

    def signatures(self) -> dict[str, outcomes.FixSignature]:
        """How each cause is fixed (worked out on the first reported action)."""
        if self._signatures is None:
            vocab = outcomes.default_vocabulary()
            steps = {s.id: s for s in self.kb.steps}
            statements: dict[str, list[str]] = {}
            for e in self.kb.evidence:
                if e.cause in self.causes and e.kind == "statement":
                    statements.setdefault(e.cause, []).append(e.text)
            sigs = {}
            for cid, c in self.causes.items():
                fix_steps = [steps[s] for s in self.links[cid].fixes if s in steps]
                texts = [c.remedy, c.notes, *statements.get(cid, [])]
                own = terms(c.title, self.lexicon)
                for st in fix_steps:
                    # of a step that does several things, what it does about this cause
                    subs = [x for x in st.substeps if terms(x, self.lexicon) & own]
                    texts += [st.title, *(subs or st.substeps)]
                objects = frozenset(o for cl in clauses(c.title, self.lexicon) for o in cl.objects)
                if not objects:
                    objects = frozenset(
                        o for cl in clauses(c.component, self.lexicon) for o in cl.objects
                    )
                sigs[cid] = outcomes.signature(objects, [t for t in texts if t], vocab)
            self._signatures = sigs
        return self._signatures

    def fixed_by(self, report: outcomes.ActionReport) -> list[tuple[Cause, str]]:
        """The causes the reported action would have fixed, with how."""
        out = []
        for cid, sig in self.signatures().items():
            if outcomes.fixes(report, sig):
                fixes = ", ".join(sorted(sig.actions)) or "its part"
                how = f"{report.action} fixes this cause ({fixes})"
                out.append((self.causes[cid], how))
        return out
