"""What one sentence of troubleshooting prose says: an action to take, a cause, a
conditional ("If X, Y"), an effect explained by a cause ("X means Y", "X because
Y"), a lead-in that says what the list after it holds ("Typically this is due
to:"), or plain description. Shared by the section, definition and sentence
extractors, so a sentence is read the same way whatever shape holds it.

>>> r = default_roles()
>>> analyse("Check CAN cable", r).kind, analyse("Typically this is due to:", r).role
('action', 'cause')
>>> s = analyse("If battery is older than 3 years old, consider replacing battery", r)
>>> s.kind, s.condition, s.text
('conditional', 'battery is older than 3 years old', 'consider replacing battery')
>>> s = analyse("This is most likely the case because two DTUs are querying the same inverter.", r)
>>> s.kind, s.text
('cause', 'two DTUs are querying the same inverter')
>>> analyse("Until a fix ships, the vendor's guidance matches ours: run it on 1.6J.", r).text
'run it on 1.6J'
>>> analyse("Other connections might need to be stopped first.", r).kind
'action'
>>> analyse("The relay may be damaged.", r).kind, analyse("This must be done first.", r).kind
('description', 'description')
>>> s = analyse("Six inches of untwisted wire is enough to cause cross-talk.", r)
>>> s.kind, s.text, s.condition
('explained', 'Six inches of untwisted wire', 'cross-talk')
>>> analyse("Possible causes are a loose plug or a worn latch.", r).kind
'description'
>>> analyse("To build the libraries, `make get-deps`", r).kind
'action'
>>> analyse("To build the libraries, $ make get-deps", r).kind
'action'
>>> analyse("It won't take a new session on its own - press reset to start one", r).text
'press reset to start one'
>>> analyse("In rare cases, the supply also appears to be too weak.", r).text
'the supply is too weak'
>>> s = analyse("If you see Checksum does not match messages, it means the checksum is wrong.", r)
>>> s.kind, s.condition, s.text
('explained', 'you see Checksum does not match messages', 'the checksum is wrong')
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from ingest.identifiers import shape_of
from ingest.roles import Role, Roles, default_roles, fold

__all__ = ["Statement", "analyse", "dash_action", "default_roles", "effect_text", "split_sentences"]

Kind = Literal["action", "cause", "conditional", "explained", "lead", "symptom", "description"]


@dataclass(frozen=True)
class Statement:
    kind: Kind
    text: str  # the cause, the action, or the consequence of a conditional
    condition: str = ""  # "If X, ...": X; "X means Y": X
    role: Role | None = None  # a lead-in: the role of what follows


_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(*`\[])")

# "X means (that) Y", "this signals that Y", "which indicates Y"
_MEANS = re.compile(
    r"^(?P<x>.*?)\b(?:it|this|that|which)?\s*(?:means|meaning|signals|suggests|indicates|"
    r"is\s+a\s+(?:very\s+)?strong\s+sign\s+of|is\s+a\s+sign\s+of|points\s+to)\s+(?:that\s+)?"
    r"(?P<y>.+)$",
    re.I,
)
# "Y because X", "Y due to X", "Y caused by X", "Y as a result of X"
_BECAUSE = re.compile(
    r"^(?P<y>.*?)\b(?:(?:is|are|was|were|be)\s+)?(?:(?:most|very|highly)\s+)?(?:likely\s+)?"
    r"(?:(?:the\s+case\s+)?because(?:\s+of)?|due\s+to|caused\s+by|as\s+a\s+result\s+of|"
    r"the\s+result\s+of|is\s+the\s+reason|results?\s+from)\s+(?:the\s+fact\s+that\s+)?(?P<x>.+)$",
    re.I,
)
# "This seems to be an issue with X", "It is most likely an issue with X", "Likely X"
_LIKELY = re.compile(
    r"^(?:(?:this|it|that)\s+(?:seems\s+to\s+be|is|could\s+be|may\s+be|might\s+be|"
    r"is\s+probably|is\s+most\s+likly|is\s+most\s+likely|is\s+likely)\s+)?"
    r"(?:(?:most\s+|very\s+)?(?:likely|likly|probably)\s+)?(?:an?\s+)?"
    r"(?P<what>issue|problem|bug|fault|defect|mistake|error)\s+(?P<prep>with|in)\s+(?P<x>.+)$"
    r"|^(?:(?:most\s+)?likely|probably|possibly|maybe|perhaps)[,:]?\s+(?P<x2>.+)$",
    re.I,
)
# a narrative's fault and its cause: "One issue I keep seeing is when X",
# "the nature of the issue is that X", "The problem is that X"
_ISSUE = re.compile(
    r"^(?:.{0,80}?\b)?(?:issue|problem|fault|failure|symptom|malfunction)s?\b[^.]{0,60}?"
    r"\b(?:is|was)\s+(?P<how>when|that)\s+(?P<x>.+)$",
    re.I,
)
# "This error happens if evcc is already running", "It occurs when the cable is cold"
_HAPPENS = re.compile(
    r"^(?:this|that|the|it)?\s*(?:error|problem|issue|message|warning|fault|behaviou?r|it)?\s*"
    r"(?:happens|occurs|appears|shows\s+up|is\s+shown|is\s+raised|is\s+logged|is\s+reported|"
    r"comes\s+up)\s+(?:only\s+)?(?:if|when|whenever|because)\s+(?P<x>.+)$",
    re.I,
)
# "Some devices react slowly to commands - if this happens, a desync is flagged"
_THIS_HAPPENS = re.compile(
    r"^(?P<x>.{12,}?)\s*(?:\s[-\u2013\u2014]\s|[;,:]|\.)\s*(?:and\s+)?(?:if|when|whenever|once)\s+"
    r"(?:this|that|it)\s+(?:happens|occurs|is\s+the\s+case)\s*,?\s*(?P<y>.{6,})$",
    re.I,
)
_CAREFUL = re.compile(
    r"^(?:be\s+careful|make\s+sure|ensure|take\s+care|check)\s+(?:that\s+)?(?:you\s+)?"
    r"(?:are\s+not|aren't|do\s+not|don't|did\s+not|didn't|have\s+not|haven't|not\s+to)\s+"
    r"(?P<x>\w+ing\b.{4,}|\w+ed\b.{4,})$",
    re.I,
)
_ROOT = re.compile(
    r"^(?:the\s+)?(?:root\s+cause|cause|reason|explanation)\s*(?:is|was|:)\s*(?P<x>.+)$", re.I
)
# "This can be remedied with X", "it helps to X", "the recommendation is to X"
_REMEDY = re.compile(
    r"^.*?\b(?:can|could|may)\s+be\s+(?:remedied|fixed|solved|resolved|avoided|prevented|"
    r"worked\s+around)\s*(?:,?\s*for\s+example,?)?\s+(?:with|by)\s+(?P<x>.+)$"
    r"|^.*?\b(?:it\s+helps\s+to|the\s+(?:recommendation|solution|fix|workaround)\s+"
    r"(?:here\s+)?is\s+to|you\s+(?:can|should|need\s+to|have\s+to|must)|"
    r"try\s+to|the\s+only\s+way\s+(?:\w+\s+){0,3}is\s+(?:to|by)|"
    r"it\s+is\s+(?:necessary|required)\s+to|it\s+is\s+recommended\s+to)\s+(?P<x2>.+)$",
    re.I,
)
# "FoxESS's own guidance matches ours: run this charger on 1.6J", "Our advice:
# update first": what the advice named before the colon says to do
_ADVICE_COLON = re.compile(
    r"^(?P<lead>[^:]{0,80}?\b(?:guidance|advice|recommendations?|suggestions?|solutions?|"
    r"workarounds?|remed(?:y|ies)|fix|tip|rule\s+of\s+thumb)\b[^:]{0,40}):\s+(?P<x>.{6,})$",
    re.I,
)
# "Other connections might need to be stopped", "the fuse must be replaced": a
# thing to do, said of what it is done to (a "may be damaged" is a risk, not this)
_MUST_BE_DONE = re.compile(
    r"^(?P<x>(?!(?:this|it|that|these|they|you)\b).{3,}?)\s+(?:(?:might|may|will|would)\s+)?"
    r"(?:must|should|need\s+to|needs\s+to|has\s+to|have\s+to)\s+(?:also\s+|first\s+)?be\s+"
    r"(?:\w+ed|\w+en|set|reset|put|cut|shut|run|re-?run|done|made|built|rebuilt|kept|left|"
    r"sent|held|fit|split)\b",
    re.I,
)
# "see Issue #1523 for the full discussion": a pointer to reading elsewhere
_POINTER = re.compile(
    r"^(?:see|read|refer\s+to|check\s+out|consult)\b.{0,60}?\b(?:issues?|discussions?|threads?|"
    r"forums?|docs?|documentation|sections?|pages?|links?|details|wiki|guides?|#\d+)\b",
    re.I,
)
_DASH_DO = re.compile(r"^(?P<head>.{12,}?)\s[-\u2013\u2014]\s+(?P<x>[a-z].{6,})$", re.I)
# "the power supply unit also appears to be too weak": a hedged cause
_SEEMS = re.compile(
    r"^(?:in\s+(?:some|rare|exceptional|few|many)\s+cases,?\s+)?"
    r"(?P<x>(?!(?:this|it|that|there|which|these|they)\b)[^,;]{3,60}?)\s+(?:also\s+|sometimes\s+)?"
    r"(?:appears?|seems?)\s+to\s+be\s+(?P<y>.{3,})$",
    re.I,
)
_IF = re.compile(
    r"^(?:(?:if|when|whenever|unless|hvis|in\s+case)\s+)(?P<x>[^,;]+?)"
    r"(?:\s*[,;:]\s*(?:then\s+)?|\s+then\s+)(?P<y>.+)$",
    re.I,
)
_IF_TAIL = re.compile(r"^(?P<y>[^,;:]{6,}?),?\s+(?:if|whenever|once)\s+(?P<x>[^,;:]{6,})$", re.I)
# "This can lead to multiple restarts", "X results in Y"
_LEADS = re.compile(
    r"^(?P<x>.{3,}?)\s+(?:(?:can|could|may|will|might)\s+(?:also\s+)?)?"
    r"(?:lead|leads|led|result|results|resulted)\s+(?:to|in)\s+(?P<y>.{6,})$",
    re.I,
)
# "X causes Y", "6 inches of untwisted wire is enough to cause cross-talk": X brings Y
# about ("Possible causes are ..." names causes, it does not state one)
_CAUSES = re.compile(
    r"^(?P<x>.{3,}?)\s+(?:(?:is|are)\s+(?:enough|sufficient)\s+to|can|could|may|might|will|"
    r"would|often|usually|sometimes|frequently)?\s*(?:also\s+)?(?:cause|causes)\s+"
    r"(?!(?:are|is|were|was|include|of|for|can|may|might|could|and|or|to|this|that|it)\b)"
    r"(?P<y>.{3,})$",
    re.I,
)
# "Possible causes ...", "Common causes ...": a lead naming causes, not one causing
_NAMES_CAUSES = re.compile(r"\b(?:possible|common|main|other|likely|typical|known|root)$", re.I)
# "To install and compile libopencm3, `$ mingw32-make get-deps`": a purpose and its command
_TO_COMMAND = re.compile(r"^to\s+[^,`]{3,80},\s*(?:`[^`]{2,}`|\$\s*\S[^`]*)\.?$", re.I)
# "The cable cross-section can also have an influence", "X may play a role"
_INFLUENCE = re.compile(
    r"^(?P<x>.{6,}?)\s+(?:can|could|may|might|will|does|do)\s+(?:also\s+)?"
    r"(?:have\s+an?\s+(?:\w+\s+)?(?:influence|effect|impact)|play\s+a\s+(?:\w+\s+)?role|"
    r"be\s+(?:the|a)\s+(?:culprit|reason|cause))(?:\s+(?:on|in)\s+(?:this|it|that))?\.?$",
    re.I,
)
# "... and you most likely inserted an invalid serial number"
_YOU_LIKELY = re.compile(
    r"^(?:.*?\b(?:and|so|then)\s+)?(?:you|someone|the\s+user)(?:\s+have|'ve)?\s+"
    r"(?:most\s+|very\s+)?(?:likely|probably)\s+(?P<x>\w+ed\b.{4,})$",
    re.I,
)
_LEAD_CAUSE = re.compile(
    r"\b(?:reasons?|causes?|due\s+to|because|caused|signals?|indicates?|means?|"
    r"explanations?|arsak(?:er)?|orsak(?:er)?|dette\s+betyr|either)\b|\bwhen\s*:?\s*$",
    re.I,
)
# "There are a few reasons why ...", "There's a number of possible reasons for this."
_REASONS = re.compile(
    r"^there(?:\s+is|\s+are|'s|'re)\s+(?:a\s+)?(?:number\s+of|few|several|many|some|"
    r"different|various|two|three|multiple)\s+(?:different\s+|possible\s+|common\s+)*"
    r"(?:reasons?|causes?|explanations?|ways?)\b",
    re.I,
)
_LEAD_ACTION = re.compile(
    r"\b(?:solutions?|fix(?:es)?|remed(?:y|ies)|workarounds?|steps?|options?|"
    r"what\s+(?:you\s+can\s+|to\s+)?do|try|following|recommend\w*|you\s+can|"
    r"losning(?:er)?|handling|tiltak|hva\s+du\s+kan)\b",
    re.I,
)


_PRONOUN = re.compile(
    r"^(?:this|it|that|which|these|they)?(?:\s+(?:is|was|are|were|happens|occurs|"
    r"seems\s+to\s+be))?(?:\s+(?:most|very|highly))?(?:\s+likely)?(?:\s+the\s+case)?$",
    re.I,
)


# a subject that points back at an earlier sentence ("This is unsupported and ...",
# "Since Q is high, this ...")
_ANAPHORIC = re.compile(r"^(?:this|it|that|which|these|they)\b|\b(?:this|it|that|and|or)$", re.I)


def _effect(text: str) -> str:
    """The effect half of "X means Y" / "Y because X", or "" when it only points
    back ("This is because ...", "This is most likely the case because ...")."""
    return "" if _PRONOUN.match(text.strip()) else text


_AUXILIARY = re.compile(
    r"^(?P<head>(?:[^\s,;]+\s+){1,8}?)(?P<aux>is|are|was|were|has|have|had|can|does|do|will)"
    r"\s+(?P<rest>(?!not\b|no\b|n't\b)\w.*)$",
    re.I,
)


def negated(condition: str) -> str | None:
    """What "Y unless X" says goes wrong: X not so ("not" after X's first auxiliary
    verb), or None when X has none to negate.

    >>> negated("a 120 ohm resistor is placed in parallel between the TX and RX lines")
    'a 120 ohm resistor is not placed in parallel between the TX and RX lines'
    >>> negated('680 ohm "bias" resistors are wired between D+ and +5V')
    '680 ohm "bias" resistors are not wired between D+ and +5V'
    >>> negated("you twist the pair") is None, negated("the cable is not connected") is None
    (True, True)
    """
    m = _AUXILIARY.match(" ".join(condition.split()))
    if m is None:
        return None
    return f"{m.group('head')}{m.group('aux')} not {m.group('rest')}"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s.strip()]


def _clean(text: str) -> str:
    t = re.sub(r"\s+", " ", text).strip().strip(",;")
    return t.rstrip(".").strip()


# discourse markers that do not change what a sentence says
_MARKER = re.compile(
    r"^(?:for\s+example|for\s+instance|e\.g\.|similarly|likewise|however|also|in\s+addition|"
    r"additionally|otherwise|alternatively|alternately|in\s+both\s+cases|in\s+some\s+cases|"
    r"in\s+this\s+case|in\s+that\s+case|note|tip|hint|so|thus|therefore|unfortunately|"
    r"fortunately|sadly|sometimes|usually|typically|generally|first|then|finally|"
    r"and|but|or|plus)\s*[,:]\s*",
    re.I,
)
# "you will see", "is shown", "the LED blinks": what the reader observes, not why
# a reading with its unit: "below 12V", "3 kWh", "85 °C"
READING = re.compile(r"\d\s*(?:m?v|m?a|k?ohms?|k?\u03a9|\u00b0\s*[cf]|hz|k?w|kwh|%)(?![a-z])", re.I)


def observed(text: str, roles: Roles) -> bool:
    """A condition that is something seen (a light, a code, a message, a reading),
    not a state of the installation.

    >>> r = default_roles()
    >>> observed("the gateway LED is red", r), observed("the fuse is blown", r)
    (True, False)
    """
    return bool(shape_of(text, roles) or OBSERVED.search(text) or READING.search(text))


OBSERVED = re.compile(
    r"\b(?:see|seeing|shown|shows?|displays?|displayed|appears?|log(?:s|ged)?|reports?|"
    r"reported|blinks?|blinking|flash(?:es|ing)?|lights?\s+up|get|receive|notice)\b",
    re.I,
)


_SEEING = re.compile(
    r"^(?:(?:if|when)\s+)?(?:you\s+(?:see|are\s+seeing|get|notice|observe|have|encounter)|"
    r"there\s+(?:is|are)|the\s+log\s+(?:shows|says))\s+",
    re.I,
)
_TAIL = re.compile(r"\s+(?:in|on)\s+the\s+(?:logs?|console|display|screen)\b.*$", re.I)


def effect_text(condition: str) -> str:
    """What is seen, from the condition of an explanation: "If you are seeing
    repeated X messages in the logs" -> "repeated X messages"."""
    t = _SEEING.sub("", condition.strip())
    t = _TAIL.sub("", t)
    return t.strip(" ,.;:")


_READER = re.compile(r"(?:you|we|i)\b", re.I)


def readers_doing(text: str) -> bool:
    """A clause whose subject is the reader ("you are planning to ...", "we use
    ..."): their intent or doing, not a condition of the equipment.

    >>> readers_doing("you want to charge faster"), readers_doing("the relay sticks")
    (True, False)
    """
    return bool(_READER.match(text))


# a last word that leaves the clause unfinished ("The meaning of X is")
_DANGLING = frozenset(
    "a an the of to in on at by for from with as and or but than is are was were be "  # noqa: SIM905
    "that which".split()
)
# English words that carry no subject of their own: a cause, an effect or a
# condition made only of them is a piece of a sentence ("same", "so", "The")
_FUNCTION = _DANGLING | frozenset(
    "this these those it its they them there here what who into onto about nor so if "  # noqa: SIM905
    "then also too not no yes been being am do does did has have had same such other "
    "possible necessary needed applicable above below".split()
)
_WORD = re.compile(r"[^\W_][\w'.+-]*")


def fragment(text: str) -> bool:
    """A piece of a sentence, not something that can be the cause, effect or
    condition of a fault: no word of its own, cut off after a word that needs more,
    or the tail of a noun phrase ("of the levels").

    >>> fragment("same"), fragment("The"), fragment("of the ConnectionLevels is")
    (True, True, True)
    >>> fragment("SIM card not seated"), fragment("Relay welded")
    (False, False)
    """
    words = [w.lower() for w in _WORD.findall(text)]
    if not words or words[0] == "of" or words[-1] in _DANGLING:
        return True
    return all(w in _FUNCTION for w in words)


def dash_action(sentence: str, roles: Roles) -> tuple[str, str] | None:
    """ "It won't accept a new session on its own - press reset to start one": what
    goes wrong, and after the dash what to do; None when there is no such dash, or
    the part before it states a cause (which stays the sentence's reading)."""
    m = _DASH_DO.match(sentence)
    if m is None or not roles.is_imperative(m.group("x")) or _POINTER.match(m.group("x")):
        return None
    if _analyse(m.group("head"), roles).kind != "description":
        return None
    return _clean(m.group("head")), _clean(m.group("x"))


def analyse(sentence: str, roles: Roles) -> Statement:
    """What the sentence says (cached: every extractor asks about the same ones).
    A statement whose cause, effect or condition is only a fragment of the
    sentence ("The meaning of X is", "If so, ...") says nothing causal."""
    st = _analyse(sentence, roles)
    if st.kind in ("cause", "explained", "symptom") and fragment(st.text):
        return Statement("description", _clean(sentence))
    if st.kind in ("explained", "conditional") and st.condition and fragment(st.condition):
        if st.kind == "explained":
            return Statement("cause", st.text)
        # "If so, ...": the condition is an earlier sentence's, so nothing here
        # says what causes what
        return Statement("description", _clean(sentence))
    return st


@functools.lru_cache(maxsize=65536)
def _analyse(sentence: str, roles: Roles) -> Statement:
    s = re.sub(r"\s+", " ", sentence).strip()
    plain = re.sub(r"[*`]", "", s)
    while m := _MARKER.match(plain):
        plain = plain[m.end() :]
    # "To pause without unplugging, leave the session running": the action after
    # the purpose
    pm = re.match(
        r"^(?:to|for|in|under|on|from|at|via|within|inside|after|before|once)\s+[^,]{3,80},\s+"
        r"(?P<rest>.+)$",
        plain,
        re.I,
    )
    if pm and roles.is_imperative(pm.group("rest")) and not plain.endswith(":"):
        plain = pm.group("rest")
    if _TO_COMMAND.match(s):
        # "To install and compile libopencm3, `$ mingw32-make get-deps`": the command
        return Statement("action", _clean(plain))
    if plain.endswith(":") and len(plain.split()) <= 16:
        label = roles.label_role(plain)
        if label is None:
            if _LEAD_CAUSE.search(fold(plain)):
                label = "cause"
            elif _LEAD_ACTION.search(fold(plain)):
                label = "action"
        if label is not None:
            return Statement("lead", "", role=label)
    if m := _ISSUE.match(plain):
        x = _clean(m.group("x"))
        if len(x.split()) >= 3:
            return Statement("symptom" if m.group("how").lower() == "when" else "cause", x)
    if _REASONS.match(plain):
        return Statement("lead", "", role="cause")
    if m := _ROOT.match(plain):
        return Statement("cause", _clean(m.group("x")))
    if m := _HAPPENS.match(plain):
        return Statement("cause", _clean(m.group("x")))
    if m := _THIS_HAPPENS.match(plain):
        return Statement("explained", _clean(m.group("x")), condition=_clean(m.group("y")))
    if m := _IF.match(plain):
        cond, then = _clean(m.group("x")), _clean(m.group("y"))
        if lm := _YOU_LIKELY.match(then):
            # "if it's unknown it will not appear and you most likely inserted X"
            return Statement("cause", _clean(lm.group("x")))
        inner = _analyse(then, roles) if then else None
        if inner is not None and inner.kind in ("explained", "cause") and not inner.condition:
            return Statement("explained", inner.text, condition=cond)
        if inner is not None and inner.kind == "explained":
            # "If you use X, you will have issues (due to Z)": X brings the trouble
            return Statement("conditional", then, condition=cond)
        return Statement("conditional", then, condition=cond)
    if m := _CAREFUL.match(plain):
        # "Be careful that you are not using an RS232 adaptor": the mistake warned of
        x = re.split(r"\s+which\b|,\s*(?:but|and|as)\b|\s+\(", m.group("x"))[0]
        return Statement("cause", _clean(x))
    if roles.is_imperative(plain):
        return Statement("action", _clean(plain))
    if (m := _ADVICE_COLON.match(plain)) and roles.is_imperative(m.group("x")):
        return Statement("action", _clean(m.group("x")))
    if (split := dash_action(plain, roles)) is not None:
        return Statement("action", _clean(split[1]))
    if m := _MEANS.match(plain):
        x, y = _effect(_clean(m.group("x"))), _clean(m.group("y"))
        if y and len(y.split()) >= 2:
            return Statement("explained" if x else "cause", y, condition=x)
    if m := _BECAUSE.match(plain):
        x, y = _clean(m.group("x")), _effect(_clean(m.group("y")))
        if not y and "," in x:
            # fronted: "Due to the fact that X, Y"
            x, _, y = x.partition(",")
            x, y = _clean(x), _clean(y)
        if x and len(x.split()) >= 2:
            return Statement("explained" if y else "cause", x, condition=y)
    if m := _INFLUENCE.match(plain):
        return Statement("cause", _clean(m.group("x")))
    if (m := _CAUSES.match(plain)) and not readers_doing(plain):
        x, y = _clean(m.group("x")), _clean(m.group("y"))
        if not _ANAPHORIC.search(x) and not _NAMES_CAUSES.search(x):
            return Statement("explained", x, condition=y)
    if (m := _LEADS.match(plain)) and not readers_doing(plain):
        x, y = _clean(m.group("x")), _clean(m.group("y"))
        if x and y and not _ANAPHORIC.search(x):
            return Statement("explained", x, condition=y)
    if m := _YOU_LIKELY.match(plain):
        return Statement("cause", _clean(m.group("x")))
    if (m := _IF_TAIL.match(plain)) and not readers_doing(m.group("x")):
        return Statement("conditional", _clean(m.group("y")), condition=_clean(m.group("x")))
    if m := _LIKELY.match(plain):
        x = _clean(m.group("x") or m.group("x2") or "")
        if x and m.group("what"):
            # "most likely an issue with your installation": the issue, not the thing
            x = f"{m.group('what').lower()} {m.group('prep').lower()} {x}"
        if x:
            return Statement("cause", x)
    if (m := _SEEMS.match(plain)) and (
        roles.states_problem(m.group("y")) or roles.is_fault_phrase(m.group("y"))
    ):
        # "In exceptional cases, the power supply unit also appears to be too weak"
        return Statement("cause", _clean(f"{m.group('x')} is {m.group('y')}"))
    if m := _REMEDY.match(plain):
        x = _clean(m.group("x") or m.group("x2") or "")
        if x:
            return Statement("action", x)
    if _MUST_BE_DONE.match(plain):
        return Statement("action", _clean(plain))
    return Statement("description", _clean(plain))
