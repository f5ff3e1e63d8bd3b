"""What was already tried, and what happened: troubleshooting reasoning from the
knowledge base (Heckerman et al.: an action that fixes a cause, and its outcome,
is evidence about that cause).

A report such as "power-cycled it, back online" or "reseated the SIM and the
antenna, still offline" names an *action* (a class of kb/curated/outcomes.yaml:
reboot, reseat, replace, ...), the components it was done to, and an *outcome*
(fixed, no change, fixed for a while). The manuals say which steps fix which
cause; the same vocabulary read in a cause's remedy, notes and fixing steps
gives the actions that fix it. An action that fixed the fault speaks for the
causes it fixes; one that changed nothing speaks against them.

>>> v = default_vocabulary()
>>> lex = Lexicon.build([("sim", ["sim card"])], {"sim": "communications"})
>>> found = reports("Reseated the SIM card, still offline.", v, lex)
>>> [(r.action, sorted(r.objects), r.outcome) for r in found]
[('reseat', ['sim'], 'no_change')]
>>> [(r.action, r.outcome) for r in reports("cycled the breaker and it was back online", v)]
[('reboot', 'fixed')]
>>> [(r.action, r.outcome) for r in reports("power cycled it and it reconnected", v)]
[('reboot', 'fixed')]
>>> [(r.action, r.outcome) for r in reports("reconnected the antenna, still offline", v)]
[('reseat', 'no_change')]
>>> sorted(manual_actions("Cleared by remote or physical reboot", v))
['reboot']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kb.curated import CURATED_DIR, Node, load_yaml
from kb.text import Lexicon, apply_lexicon

Outcome = Literal["fixed", "no_change", "temporary"]
OUTCOMES: tuple[Outcome, ...] = ("fixed", "no_change", "temporary")
# actions that mend a part: replacing a part mends what reseating or adjusting it would
REPAIRS = frozenset({"reseat", "replace", "adjust", "clean"})


def _pattern(phrases: Iterable[str], fillers: Iterable[str] = ()) -> re.Pattern[str]:
    """Whole phrases; "*" is one or two words; between two words of a phrase one
    of ``fillers`` may stand ("came right back", "works fine again")."""
    fill = "|".join(re.escape(f) for f in sorted({f.lower().strip() for f in fillers}))
    gap = rf"\s+(?:(?:{fill})\s+)?" if fill else r"\s+"
    alts = []
    for p in sorted({p.lower().strip() for p in phrases}, key=len, reverse=True):
        body = gap.join(r"(?:\S+\s+){0,1}\S+" if w == "*" else re.escape(w) for w in p.split())
        alts.append(body)
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alts) or '(?!)'})(?![\w-])", re.I)


@dataclass(frozen=True)
class Vocabulary:
    actions: tuple[tuple[str, re.Pattern[str]], ...]
    manual: tuple[tuple[str, re.Pattern[str]], ...]
    outcomes: tuple[tuple[Outcome, re.Pattern[str]], ...]
    by_itself: re.Pattern[str]

    def action_in(self, text: str) -> tuple[str, tuple[int, int]] | None:
        found = self.actions_in(text)
        return found[0] if found else None

    def actions_in(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """Every action named, in order (one per place in the text)."""
        hits = sorted(
            (
                (m.start(), -m.end(), name, m.span())
                for name, pat in self.actions
                for m in pat.finditer(text)
            ),
        )
        out: list[tuple[str, tuple[int, int]]] = []
        end = -1
        for start, _neg, name, span in hits:
            if start >= end:
                out.append((name, span))
                end = span[1]
        return out

    def resolved_itself(self, text: str) -> bool:
        """A sentence that says the fault went away ("came back") with nobody doing
        anything ("by itself", "without anyone touching it")."""
        for m in _SENTENCE.finditer(text):
            sentence = m.group(0)
            outcome = self.outcome_in(sentence)
            if outcome and outcome[0] == "fixed" and self.by_itself.search(sentence):
                return True
        return False

    def outcome_in(self, text: str) -> tuple[Outcome, tuple[int, int]] | None:
        # "came back for an hour then dropped" is temporary, not fixed
        found = [(o, m.span()) for o, pat in self.outcomes for m in [pat.search(text)] if m]
        for wanted in ("temporary", "no_change", "fixed"):
            for o, span in found:
                if o == wanted:
                    return o, span
        return None


def _load(path: Path) -> Vocabulary:
    root = load_yaml(path)
    actions = [(name, _pattern(n.value_strings())) for name, n in _items(root, "actions")]
    manual = [(name, _pattern(n.value_strings())) for name, n in _items(root, "manual_actions")]
    outcomes: list[tuple[Outcome, re.Pattern[str]]] = []
    fillers = _Group(root.node("fillers")).value_strings() if "fillers" in root.value else []
    for name, n in _items(root, "outcomes"):
        if name not in OUTCOMES:
            raise n.fail(f"expected an outcome among {', '.join(OUTCOMES)}, not {name!r}")
        outcomes.append((name, _pattern(n.value_strings(), fillers)))
    by_itself = _pattern(_Group(root.node("by_itself")).value_strings())
    return Vocabulary(tuple(actions), tuple(manual), tuple(outcomes), by_itself)


class _Group:
    def __init__(self, node: Node) -> None:
        self.node = node

    def value_strings(self) -> list[str]:
        if not isinstance(self.node.value, list):
            raise self.node.fail("expected a list of phrases")
        out = []
        for item in self.node.value:
            if not isinstance(item.value, str) or not item.value.strip():
                raise item.fail("expected a phrase")
            out.append(item.value)
        return out

    def fail(self, message: str) -> Exception:
        return self.node.fail(message)


def _items(root: Node, key: str) -> list[tuple[str, _Group]]:
    node = root.get(key, dict)
    return [(name, _Group(n)) for name, n in node.items()]


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Vocabulary:
    return _load(Path(path))


def load_vocabulary(directory: Path | None = None) -> Vocabulary:
    path = (directory or CURATED_DIR) / "outcomes.yaml"
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)


def default_vocabulary() -> Vocabulary:
    return load_vocabulary()


@dataclass(frozen=True)
class ActionReport:
    action: str
    objects: frozenset[str]  # components it was done to (canonical lexicon names)
    outcome: Outcome | None
    text: str  # the sentence it was read from
    span: tuple[int, int]  # of the sentence in the observation


_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]?")
# the equipment as the subject right before a verb: "and it reconnected"
_DOER_BEFORE = re.compile(
    r"\b(?:it|they|the\s+(?:station|charger|unit|modem|wallbox|device))\s+(?:then\s+|just\s+)?$",
    re.I,
)
_CLAUSE_CUT = re.compile(r"[,;:+]|\band\s+(?:it|then|that)\b|\bbut\b")


def _objects(text: str, lexicon: Lexicon | None) -> frozenset[str]:
    if lexicon is None or lexicon.object_pattern is None:
        return frozenset()
    return frozenset(
        m.group(0) for m in lexicon.object_pattern.finditer(apply_lexicon(text, lexicon))
    )


def reports(text: str, vocab: Vocabulary, lexicon: Lexicon | None = None) -> list[ActionReport]:
    """The actions a report says were done, each with the components it names and
    the outcome stated in the same sentence (or a short next one: "Didn't help.")."""
    sentences = [(m.group(0), m.span()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    out: list[ActionReport] = []
    for n, (sentence, span) in enumerate(sentences):
        found = [
            (action, (a, b))
            for action, (a, b) in vocab.actions_in(sentence)
            # "power cycled it and it reconnected": what the station did, not a
            # second thing done to it
            if not (_DOER_BEFORE.search(sentence, 0, a) and vocab.outcome_in(sentence[a:b]))
        ]
        if not found:
            continue
        # the outcome follows the last action ("reseated the SIM and cleaned it,
        # antenna re-torqued, still offline") and holds for every action before it
        last_end = found[-1][1][1]
        outcome = vocab.outcome_in(sentence[last_end:])
        # or in a short sentence soon after ("... phone 5 bars. Still offline.")
        for nxt, _span in sentences[n + 1 : n + 4]:
            if outcome is not None or vocab.actions_in(nxt):
                break
            if len(nxt.split()) <= 8:
                outcome = vocab.outcome_in(nxt)
        cuts = [0, *(m.end() for m in _CLAUSE_CUT.finditer(sentence)), len(sentence)]
        for action, (a, b) in found:
            # the components of the action: named in its clause ("sim reseated",
            # "reseated the sim")
            lo = max(c for c in cuts if c <= a)
            hi = min(c for c in cuts if c >= b)
            objects = _objects(sentence[lo:hi], lexicon)
            out.append(
                ActionReport(
                    action, objects, outcome[0] if outcome else None, sentence.strip(), span
                )
            )
    return out


def manual_actions(text: str, vocab: Vocabulary) -> frozenset[str]:
    """The actions a manual's remedy or step text performs."""
    return frozenset(name for name, pat in vocab.manual if pat.search(text))


@dataclass(frozen=True)
class FixSignature:
    """How a cause is fixed: the actions its remedy and fixing steps perform, the
    components it is about, and the actions the manual expects may not be enough
    ("Reset the RCD; if it trips again, test the insulation")."""

    actions: frozenset[str]
    objects: frozenset[str]
    first_tries: frozenset[str] = frozenset()


# what to do when the action did not settle it: "if it trips again", "if the fault
# persists", "if it is still offline"
_IF_AGAIN = re.compile(
    r"\b(?:if|when|should)\b[^.;]{0,40}?\b(?:again|persists?|remains?|recurs?|returns?|"
    r"still|continues?|repeats?|not\s+(?:help|clear|resolve|fix))\b",
    re.I,
)


def signature(
    title_objects: frozenset[str], fix_texts: Sequence[str], vocab: Vocabulary
) -> FixSignature:
    """
    >>> v = default_vocabulary()
    >>> sig = signature(frozenset(), ["Reset the RCD; if it trips again, test the insulation"], v)
    >>> sorted(sig.actions), sorted(sig.first_tries)
    (['reboot'], ['reboot'])
    >>> sorted(signature(frozenset(), ["Reset the RCD", "if it trips again, call"], v).first_tries)
    ['reboot']
    >>> sorted(signature(frozenset(), ["Power cycle the modem"], v).first_tries)
    []
    """
    acts: set[str] = set()
    tries: set[str] = set()
    for i, t in enumerate(fix_texts):
        acts |= manual_actions(t, vocab)
        # the next step may say it ("Reset the RCD" / "if it trips again, ...")
        after = fix_texts[i + 1] if i + 1 < len(fix_texts) else ""
        for name, pat in vocab.manual:
            m = pat.search(t)
            if m is not None and (_IF_AGAIN.search(t, m.end()) or _IF_AGAIN.match(after)):
                tries.add(name)
    return FixSignature(frozenset(acts), title_objects, frozenset(tries))


def fixes(report: ActionReport, sig: FixSignature) -> bool:
    """Would the reported action have fixed a cause of this signature? Not when it
    changed nothing and the manual says what to do next in that case: the cause
    is still the one its manual is working through."""
    if report.outcome == "no_change" and report.action in sig.first_tries:
        return False
    if report.action == "reboot":
        return "reboot" in sig.actions
    if not report.objects or not (report.objects & sig.objects):
        return False
    if report.action == "replace":
        return True  # a new part mends whatever was wrong with the old one
    if report.action in REPAIRS:
        return report.action in sig.actions or bool(sig.actions & REPAIRS - {"replace"})
    return report.action in sig.actions
