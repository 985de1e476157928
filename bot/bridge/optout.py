"""Recognising a member's opt-out and opt-in keywords.

A member who texts STOP must never be texted by a campaign again, and the
law and the carriers judge us by the standard keywords, the same ones Twilio
acts on. Only a whole-message keyword counts: "please stop texting my wife"
is a conversation for the activist, not an opt-out. Decorations around the
word ("Stop!", "STOP 🙏", "*stop*") are ignored because members add them and
still mean it.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

__all__ = [
    "OPT_IN_WORDS",
    "OPT_OUT_WORDS",
    "Keyword",
    "classify",
    "from_twilio_opt_out_type",
]


class Keyword(Enum):
    """What a keyword message asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


OPT_OUT_WORDS: frozenset[str] = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
"""Twilio's default opt-out keywords (upper case)."""

OPT_IN_WORDS: frozenset[str] = frozenset({"START", "UNSTOP", "YES"})
"""Twilio's default opt-in keywords (upper case)."""

_TWILIO_OPT_OUT_TYPES = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN}

# Unicode categories that decorate a word without changing it: punctuation
# (P*), symbols and emoji (S*), separators (Z*), and the invisible joiners,
# variation selectors and controls that emoji and phones bring with them.
_DECORATION_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me"})
# Inside the message only these may sit between letters, so that "opt out",
# "opt-out" and "stop all" read as OPTOUT and STOPALL, while "stop it" stays
# two words and is not a keyword.
_JOINERS = frozenset(" -_.\t")


def classify(body: str) -> Keyword | None:
    """The keyword a whole SMS body amounts to, or None if it is not one.

    YES is a standard opt-in word but also an ordinary answer ("have you
    voted?" "yes"). Act on OPT_IN only for a number that is opted out, and
    deliver the message to the activist either way.
    """
    word = _bare_word(body)
    if word in OPT_OUT_WORDS or _only_opt_out_words(body):
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    return None


def from_twilio_opt_out_type(value: str | None) -> Keyword | None:
    """Map the ``OptOutType`` parameter of Twilio's incoming-message webhook.

    Twilio sends STOP, START or HELP when its Advanced Opt-Out matched a
    keyword. HELP is answered by Twilio itself and changes nothing here.
    """
    if value is None:
        return None
    return _TWILIO_OPT_OUT_TYPES.get(value.strip().upper())


def _only_opt_out_words(body: str) -> bool:
    """True for an insistent "STOP STOP" or "Stop. Unsubscribe!".

    Erring towards opt-out is the safe side: a missed STOP is a complaint to
    the regulator, an extra one costs a single conversation.
    """
    words = [word for word in map(_bare_word, body.split()) if word]
    return len(words) > 1 and all(word in OPT_OUT_WORDS for word in words)


def _bare_word(body: str) -> str:
    """The message in upper case with its decorations and inner joiners removed.

    NFKC first, so that full-width or styled letters ("ＳＴＯＰ") read as
    the ASCII word the member meant.
    """
    text = unicodedata.normalize("NFKC", body)
    core = _strip_decoration(text)
    return "".join(ch for ch in core if ch not in _JOINERS).upper()


def _strip_decoration(text: str) -> str:
    """Drop decorating characters from both ends of ``text``."""
    start, end = 0, len(text)
    while start < end and _is_decoration(text[start]):
        start += 1
    while end > start and _is_decoration(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_decoration(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "PSZ" or category in _DECORATION_CATEGORIES
