"""Regular expressions for long lists of literal phrases.

``alternation`` writes a list of phrases the way a trie stores them: phrases that
share a beginning share its part of the pattern. Python's ``re`` tries the
branches of ``a|b|c`` one after the other at every position of the text, so a
lexicon of 500 phrases costs 500 attempts per character; written as a trie, each
character of the text is looked at once per phrase prefix it could continue.

What matches is the same as for the phrases sorted longest first and joined with
``|``: at each position the longest phrase that matches there (and that satisfies
whatever follows the group in the pattern: a shorter phrase is tried when a
lookahead after the longer one fails).

>>> import re
>>> pat = re.compile(rf"(?<![a-z])(?:{alternation(['on', 'one', 'on off', 'once'])})(?![a-z])")
>>> [m.group(0) for m in pat.finditer("one once, on off, ones on")]
['one', 'once', 'on off', 'on']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_END = ""  # a phrase ends at this node (never a character of a phrase)


def alternation(phrases: Iterable[str], piece: Callable[[str], str] = re.escape) -> str:
    """A regex (no outer group) matching any of ``phrases``, longest first.

    ``piece`` writes one character of a phrase as regex (default: escaped); the
    regex of one character must match exactly one character, or exactly what that
    character stands for (e.g. a space as ``\\s+``)."""
    root: dict[str, dict[str, object]] = {}
    for phrase in phrases:
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})  # type: ignore[assignment]
        node[_END] = {}
    return _emit(root, piece) if root else "(?!)"


def _emit(node: dict[str, dict[str, object]], piece: Callable[[str], str]) -> str:
    branches = [
        piece(ch) + _emit(child, piece)  # type: ignore[arg-type]
        for ch, child in sorted(node.items())
        if ch != _END
    ]
    if not branches:
        return ""
    # the phrase that ends here comes last: a longer one is tried first
    ends = _END in node
    if len(branches) == 1 and not ends:
        return branches[0]
    return "(?:" + "|".join(branches) + ("|" if ends else "") + ")"
