"""What a piece of a troubleshooting document *is*: the role of a table column or a
label, whether a heading names a fault, whether a sentence tells the reader to do
something. The words come from kb/curated/roles.yaml (general vocabulary of the
genre), never from one document.

>>> r = default_roles()
>>> r.header_role("Probable Cause"), r.header_role("Lys"), r.header_role("Handling")
('cause', 'identifier', 'action')
>>> r.is_imperative("Check CAN cable, reboot BMS"), r.is_imperative("Cell failure")
(True, False)
>>> r.is_imperative("Remember to set the charger to single-phase mode")
True
>>> r.is_imperative("You should twist the wires"), r.is_imperative("You should see a prompt")
(True, False)
>>> r.states_problem("If the adjustment values are not correct, you can reset them")
True
>>> r.states_problem("battery voltage is below 12 V"), r.states_problem("below 23 degrees")
(True, False)
>>> r.is_led("Green slow blink"), r.is_led("Modem hardware failure")
(True, False)
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from kb.curated import CURATED_DIR, Node, load_yaml

# problem words that name a kind of thing rather than say something went wrong
_PROBLEM_NOUNS = frozenset(
    [
        "error",
        "errors",
        "warning",
        "issue",
        "issues",
        "problem",
        "problems",
        "bug",
        "defect",
        "defects",
        "known issue",
        "failure",
    ]
)
Role = Literal["identifier", "cause", "meaning", "action", "likelihood", "value", "seen"]
ROLES: tuple[Role, ...] = ("identifier", "cause", "meaning", "action", "likelihood", "value")


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, accents and markup off: 'Årsaker:' -> 'arsaker:'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_FOLD).lower()
    return re.sub(r"[*`_]+", " ", text)


# small words a label may hold besides its role words ("What *you can* do")
_LABEL_FILLER = frozenset(
    (
        "a",
        "an",
        "the",
        "of",
        "to",
        "for",
        "on",
        "in",
        "and",
        "or",
        "your",
        "you",
        "can",
        "i",
        "we",
        "do",
        "if",
        "it",
        "this",
        "that",
        "my",
        "our",
        "possible",
        "likely",
        "common",
        "typical",
        "known",
        "recommended",
        "other",
        "more",
        "de",
        "og",
        "du",
        "kan",
    )
)

_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "\u2019": "'"})


_T = TypeVar("_T")
_MEMO_LIMIT = 200_000  # answers kept per vocabulary; past that the memo starts again


def _memoised(method: Callable[[Roles, str], _T]) -> Callable[[Roles, str], _T]:
    """The vocabulary never changes and an answer depends on the text alone, while
    several extractors ask about the same cell or sentence: each question is answered
    once per text."""
    name = method.__name__

    @functools.wraps(method)
    def ask(self: Roles, text: str) -> _T:
        memo = self._memo
        key = (name, text)
        if key not in memo:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = method(self, text)
        answer: _T = memo[key]
        return answer

    return ask


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({fold(p).strip() for p in phrases if p.strip()}, key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts) or "(?!)"
    return re.compile(rf"(?<![\w'])(?:{body})(?![\w'])")


# "you should see a prompt", "you will get this output": what is expected, not an action
_EXPECTED_OUTCOME = re.compile(
    r"^you\s+(?:should|will|would|must)\s+(?:now\s+|then\s+|also\s+)?"
    r"(?:see|hear|get|notice|receive|find|have)\b"
)


@dataclass(frozen=True)
class Roles:
    """The compiled vocabulary (see kb/curated/roles.yaml)."""

    role_words: tuple[tuple[Role, tuple[str, ...]], ...]
    sections: tuple[str, ...]
    identifier_sections: tuple[str, ...]
    fault_words: tuple[str, ...]
    problem_phrases: tuple[str, ...]
    imperatives: tuple[str, ...]
    conditions: tuple[str, ...]
    consequences: tuple[str, ...]
    colours: tuple[str, ...]
    patterns: tuple[str, ...]
    dark: tuple[str, ...]

    def __hash__(self) -> int:
        # a key of the sentence caches (ingest/statements.py), hashed on every call
        return self._hash

    @functools.cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))

    @functools.cached_property
    def _memo(self) -> dict[tuple[str, str], Any]:
        return {}

    @functools.cached_property
    def _role_patterns(self) -> tuple[tuple[Role, re.Pattern[str]], ...]:
        return tuple((role, _phrase_pattern(words)) for role, words in self.role_words)

    @functools.cached_property
    def _exact(self) -> dict[str, list[Role]]:
        out: dict[str, list[Role]] = {}
        for role, words in self.role_words:
            for w in words:
                out.setdefault(fold(w).strip(), []).append(role)
        return out

    @functools.cached_property
    def _section(self) -> re.Pattern[str]:
        return _phrase_pattern(self.sections)

    @functools.cached_property
    def _identifier_section(self) -> re.Pattern[str]:
        return _phrase_pattern(self.identifier_sections)

    @functools.cached_property
    def _fault(self) -> re.Pattern[str]:
        return _phrase_pattern(self.fault_words)

    @functools.cached_property
    def _problem(self) -> re.Pattern[str]:
        return _phrase_pattern(self.problem_phrases)

    @_memoised
    def states_problem(self, text: str) -> bool:
        """A sentence that says something is wrong ("X does not work")."""
        return bool(self._problem.search(fold(text)))

    def says_what_goes_wrong(self, text: str) -> bool:
        """States a problem by what goes wrong ("does not work", "drops offline"),
        not only by naming one ("error codes", "known issues")."""
        return any(
            m.group(0).strip() not in _PROBLEM_NOUNS for m in self._problem.finditer(fold(text))
        )

    @functools.cached_property
    def _imperative(self) -> re.Pattern[str]:
        alts = sorted({fold(p).strip() for p in self.imperatives}, key=len, reverse=True)
        body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts)
        # "Please check", "You should check", "Try to reseat", "First, check", "1. Check"
        start = (
            r"^(?:\d+[.)]\s*|[-*]\s*|\(?[a-z]\)\s*)?"
            r"(?:(?:please|first|then|also|simply|just|now|finally|next|afterwards|"
            r"or|and|eller|og|deretter)[,:]?\s+)*"
        )
        advice = (
            r"you\s+(?:should|must|need\s+to|have\s+to)|make\s+sure\s+to|be\s+sure\s+to|"
            r"remember\s+to|(?:do\s+not|don't)\s+forget\s+to|it\s+is\s+important\s+to"
        )
        lead = start + rf"(?:(?:{advice}|you\s+(?:can|may)|try\s+to|it\s+helps\s+to)\s+)?"
        # after advice ("you should", "make sure to", "remember to") any verb is what to
        # do ("You should twist the pair"), but one of perceiving or having ("you
        # should see this output" says what is expected)
        advised = (
            start
            + rf"(?:{advice})\s+(?:(?:also|always|then|first|now)\s+)?"
            + r"(?!(?:see|hear|get|have|be|find|notice|receive|expect|know|now)\b)[a-z]{3,}\b"
        )
        # "re-run", "re-check": the verb with its prefix
        return re.compile(rf"{lead}(?:re-?)?(?:{body})(?![\w'])|{advised}")

    @functools.cached_property
    def _colour(self) -> re.Pattern[str]:
        return _phrase_pattern(self.colours)

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str]:
        return _phrase_pattern(self.patterns)

    @functools.cached_property
    def _dark(self) -> re.Pattern[str]:
        return _phrase_pattern(self.dark)

    # ------------------------------------------------------------ roles

    def header_roles(self, text: str) -> list[Role]:
        """Every role a header cell or label could have, best first: an exact
        vocabulary entry before one found inside a longer header."""
        return list(self._header_roles(text))

    @_memoised
    def _header_roles(self, text: str) -> tuple[Role, ...]:
        t = re.sub(r"[:.\s]+$", "", fold(text)).strip()
        t = re.sub(r"\s+", " ", re.sub(r"[()\[\]/]", " ", t)).strip()
        exact = self._exact.get(t)
        if exact:
            return tuple(dict.fromkeys(exact))
        found: list[tuple[int, Role]] = []
        for role, pat in self._role_patterns:
            m = pat.search(t)
            if m:
                found.append((m.start(), role))
        return tuple(dict.fromkeys(r for _pos, r in sorted(found, key=lambda x: x[0])))

    def header_role(self, text: str) -> Role | None:
        roles = self.header_roles(text)
        return roles[0] if roles else None

    @_memoised
    def label_role(self, text: str) -> Role | None:
        """The role of a short label ("**Causes:**", "Possible causes", "Solution:",
        "What you can do", "Issue Description"): every word of it must belong to
        role vocabulary (small words aside), so "Note on dual-port units" or a
        sentence is never taken for a label."""
        t = re.sub(r"[:.\s]+$", "", fold(text)).strip()
        t = re.sub(r"\s+", " ", re.sub(r"[()\[\]/&,-]", " ", t)).strip()
        if not t or len(t.split()) > 6:
            return None
        covered = [False] * len(t)
        last: tuple[int, Role] | None = None
        for role, pat in self._role_patterns:
            for m in pat.finditer(t):
                for k in range(m.start(), m.end()):
                    covered[k] = True
                if last is None or m.end() > last[0]:
                    last = (m.end(), role)
        if last is None:
            return None
        for m in re.finditer(r"[\w']+", t):
            if not covered[m.start()] and m.group(0) not in _LABEL_FILLER:
                return None
        exact = self._exact.get(t)
        # several role words: the last one names what the label is ("Issue Description")
        return exact[0] if exact else last[1]

    # ------------------------------------------------------------ sections

    def only_troubleshooting(self, title: str) -> bool:
        """A title that is nothing but a part name ("Troubleshooting", "FAQ",
        "Known issues", "Error codes"): a container of faults, not one."""
        t = re.sub(r"[\d.:()\-]+", " ", fold(title))
        rest = self._section.sub(" ", t)
        rest = self._identifier_section.sub(" ", rest)
        return not [w for w in re.findall(r"[\w']+", rest) if w not in _LABEL_FILLER]

    def is_troubleshooting(self, *titles: str) -> bool:
        return any(self._section.search(fold(t)) for t in titles if t)

    def lists_identifiers(self, title: str) -> bool:
        """A section title announcing codes, messages or lights ("Error codes",
        "LED lights", "Zaptec feilkoder": a name at most besides)."""
        t = fold(title)
        if not self._identifier_section.search(t):
            return False
        rest = self._identifier_section.sub(" ", re.sub(r"[\d.:()\-]+", " ", t))
        return len([w for w in re.findall(r"[\w']+", rest) if w not in _LABEL_FILLER]) <= 1

    @_memoised
    def is_fault_phrase(self, text: str) -> bool:
        return bool(self._fault.search(fold(text)))

    # ------------------------------------------------------------ sentences

    @_memoised
    def is_imperative(self, text: str) -> bool:
        t = re.sub(r"^\W+", "", fold(text)).strip()
        return bool(self._imperative.match(t)) and not _EXPECTED_OUTCOME.match(t)

    @functools.cached_property
    def _consequence(self) -> re.Pattern[str]:
        alts = sorted({fold(p).strip() for p in self.consequences}, key=len, reverse=True)
        body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts) or "(?!)"
        return re.compile(rf"^\W*(?:{body})(?![\w'])\s*")

    def consequence(self, text: str) -> str | None:
        """What "this would cause the charger to stop" says follows ("the charger to
        stop"), or None when ``text`` does not open with a consequence lead."""
        t = fold(text)
        m = self._consequence.match(t)
        if m is None:
            return None
        return text[m.end() :].strip() if len(t) == len(text) else t[m.end() :].strip()

    def is_condition(self, text: str) -> bool:
        t = fold(text).strip()
        return any(re.match(rf"{re.escape(c)}\b", t) for c in self.conditions)

    # ------------------------------------------------------------ lights

    @_memoised
    def is_led(self, text: str) -> bool:
        """A light pattern: a short text naming a colour and how it shows ("Green
        slow blink", "red: 4 blinks", "Blinkende rod"), or no light at all."""
        t = fold(text)
        words = re.findall(r"[\w']+", t)
        if not words or len(words) > 8:
            return False
        if self._dark.search(t):
            return True
        if not self._colour.search(t):
            return False
        if self._pattern.search(t) or re.search(r"\d+\s*x\b|\bx\s*\d+|\d+\s+blinks?", t):
            return True
        # a bare colour ("Red", "Green/Blue") in a list of patterns
        return len(words) <= 2


def _load(path: Path) -> Roles:
    root = load_yaml(path)
    if not isinstance(root.value, dict):
        raise root.fail("expected a mapping of role vocabulary")

    def strings(node: Node, key: str) -> tuple[str, ...]:
        return node.strings(key)

    roles_node = root.get("roles", dict)
    role_words: list[tuple[Role, tuple[str, ...]]] = []
    for name, node in roles_node.items():
        if name not in ROLES:
            raise node.fail(f"expected a role among {', '.join(ROLES)}, not {name!r}")
        words = tuple(str(item.value) for item in node.value if isinstance(item.value, str | int))
        if not words:
            raise node.fail(f"expected words for role {name!r}")
        role_words.append((name, words))
    led = root.node("led")
    return Roles(
        tuple(role_words),
        strings(root, "troubleshooting_sections"),
        strings(root, "identifier_sections"),
        strings(root, "fault_words"),
        strings(root, "problem_phrases"),
        strings(root, "imperatives"),
        strings(root, "conditions"),
        strings(root, "consequences"),
        strings(led, "colours"),
        strings(led, "patterns"),
        strings(led, "dark"),
    )


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Roles:
    return _load(Path(path))


def load_roles(directory: Path | None = None) -> Roles:
    path = (directory or CURATED_DIR) / "roles.yaml"
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)


def default_roles() -> Roles:
    return load_roles()
