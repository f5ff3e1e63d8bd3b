"""Error codes as a technician or a station gives them, resolved to the codes the
knowledge base knows: the same code in another case or spacing ("bmsconnectionlost",
"E 12"), a message quoted in part ("bind: address already in use"), an OCPP code.
An unknown code is reported with the closest known ones, never dropped.

>>> idx = CodeIndex(["BmsConnectionLost", "E12", "Error: Charger out of sync"])
>>> idx.resolve("bmsconnectionlost").code, idx.resolve("e 12").code
('BmsConnectionLost', 'E12')
>>> idx.resolve("Charger out of sync").code
'Error: Charger out of sync'
>>> r = idx.resolve("BmsConectionLost"); (r.code, r.closest[:1])
(None, ('BmsConnectionLost',))
>>> idx.named_in("since Tuesday /Alarms/BmsConnectionLost = 2, and e12 once; lost the BMS")
['BmsConnectionLost']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process


def _key(code: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", code.lower())


def _words(code: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", code.lower()))


@dataclass(frozen=True)
class Resolution:
    given: str
    code: str | None  # the known code, or None when unknown
    closest: tuple[str, ...] = ()  # known codes nearest an unknown one


class CodeIndex:
    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = tuple(dict.fromkeys(c for c in codes if c))
        self.by_key: dict[str, str] = {}
        for c in self.codes:
            self.by_key.setdefault(_key(c), c)
        self._words = {c: _words(c) for c in self.codes}

    def resolve(self, given: str) -> Resolution:
        g = given.strip()
        if not g:
            return Resolution(given, None)
        hit = self.by_key.get(_key(g))
        if hit is not None:
            return Resolution(given, hit)
        gw = _words(g)
        if len(gw.split()) >= 2 or len(_key(g)) >= 6:
            # a message quoted in part, or a code written inside a longer text
            inside = [c for c, w in self._words.items() if len(w) >= 4 and f" {gw} " in f" {w} "]
            inside += [
                c
                for c, w in self._words.items()
                if len(_key(c)) >= 4 and f" {w} " in f" {gw} " and c not in inside
            ]
            if len(inside) == 1:
                return Resolution(given, inside[0])
        found = process.extract(g, self.codes, scorer=fuzz.WRatio, limit=3, score_cutoff=60)
        return Resolution(given, None, tuple(c for c, _s, _i in found))

    def named_in(self, text: str) -> list[str]:
        """The known codes a free text writes in a code's shape (``CamelCase`` of two
        words or more, ``UPPER_SNAKE``, a letter-number code such as ``E12`` or
        ``CX001``, or the last part of a path such as ``/Alarms/BmsConnectionLost``):
        a plain word ("overload", "e12" in lower case) names no code."""
        out: list[str] = []
        for m in _CODE_SHAPED.finditer(text):
            hit = self.by_key.get(_key(m.group(1)))
            if hit is not None and hit not in out:
                out.append(hit)
        return out


_CODE_SHAPED = re.compile(
    r"(?<![\w./-])(?:/?[\w.-]+/)*"
    r"([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{1,3}-?\d{1,4})"
    r"(?![\w-])"
)
