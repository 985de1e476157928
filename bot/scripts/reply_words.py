"""Members' words as they really write them, made plain for the reply classifier.

Texts arrive in text-speak, with emoji, repeated letters, missing
apostrophes, and in Welsh with its mutations. `plain` turns each into one
spelling (lower case, single spaces, contractions spelled out) so the rules
in `bot.scripts.suggestions` can be written once.
"""

from __future__ import annotations

import re
import unicodedata

# Emoji that carry an answer; any other symbol is dropped.
EMOJI = {
    "👍": " ok ",
    "👌": " ok ",
    "✅": " done ",
    "✔": " done ",
    "☑": " done ",
    "📮": " posted ",
    "📬": " posted ",
    "📪": " posted ",
    "📭": " posted ",
    "✉": " posted ",
    "📨": " posted ",
    "📩": " posted ",
    "🗳": " ballot ",
    "👎": " no ",
    "❌": " no ",
}

# One spelling per word: text-speak, common misspellings, contractions.
WORDS = {
    **dict.fromkeys(
        ["ye", "yea", "yeh", "yeah", "yep", "yup", "yh", "ya", "yah", "aye", "yas", "yess"], "yes"
    ),
    **dict.fromkeys(["nah", "na", "nope", "naw", "noo"], "no"),
    **dict.fromkeys(["nt", "nit", "nnot"], "not"),
    **dict.fromkeys(["havent", "havnt", "havint", "aint", "avent", "avnt", "havenot"], "have not"),
    **dict.fromkeys(["hasnt", "hasent"], "has not"),
    **dict.fromkeys(["didnt", "didint", "didnae", "didn"], "did not"),
    **dict.fromkeys(["dont", "dnt", "doant", "dinnae"], "do not"),
    **dict.fromkeys(["wont", "wouldnt"], "will not"),
    **dict.fromkeys(["cant", "cannot", "carnt", "canny"], "can not"),
    **dict.fromkeys(["isnt", "aint"], "is not"),
    **dict.fromkeys(["wasnt"], "was not"),
    **dict.fromkeys(["wil", "wll", "wl", "shall", "shl"], "will"),
    **dict.fromkeys(["ill", "il", "ll"], "i will"),
    **dict.fromkeys(["im", "iam"], "i am"),
    **dict.fromkeys(["ive", "iv"], "i have"),
    **dict.fromkeys(["av", "ave", "hav", "hv", "haf"], "have"),
    **dict.fromkeys(["dun", "dne", "donee", "doneit"], "done"),
    **dict.fromkeys(
        [
            "2moro",
            "2morrow",
            "2mrw",
            "2morow",
            "tmrw",
            "tmr",
            "tmoz",
            "tomoz",
            "tomorow",
            "tomrrow",
            "tommorow",
            "tommorrow",
            "tomorrw",
            "tomo",
        ],
        "tomorrow",
    ),
    **dict.fromkeys(["2nite", "tonite", "2night", "tonigt"], "tonight"),
    **dict.fromkeys(["l8r", "l8er", "ltr"], "later"),
    **dict.fromkeys(["m8", "m8e", "mayte"], "mate"),
    **dict.fromkeys(["u", "yu", "ya'll"], "you"),
    **dict.fromkeys(["ur", "yr"], "your"),
    **dict.fromkeys(["pls", "plz", "plez", "pleas", "plse", "plss"], "please"),
    **dict.fromkeys(["txt", "tx", "txts", "txting", "texting", "texts", "texted"], "text"),
    **dict.fromkeys(["msg", "msgs", "messages", "messaging", "mesages", "massages"], "message"),
    **dict.fromkeys(["b4", "bfore", "befor"], "before"),
    **dict.fromkeys(["gonna", "gona"], "going to"),
    **dict.fromkeys(["postd", "psted", "posed", "postted", "poasted", "postedit"], "posted"),
    **dict.fromkeys(["snt", "sended"], "sent"),
    **dict.fromkeys(["votd", "vted", "votted", "vote'd"], "voted"),
    **dict.fromkeys(["balot", "ballott", "ballet", "ballots", "balots", "ballad"], "ballot"),
    **dict.fromkeys(["recieved", "recived", "receieved", "receved", "recieve"], "received"),
    **dict.fromkeys(["nevr", "neva", "nver", "nevah"], "never"),
    **dict.fromkeys(["yt", "yett"], "yet"),
    **dict.fromkeys(["alredy", "allready", "allredy", "alrdy", "already"], "already"),
    **dict.fromkeys(["thx", "thanx", "ta", "cheers", "thnx", "thanks"], "thanks"),
    **dict.fromkeys(["wen", "wot", "wat"], "what"),
    **dict.fromkeys(["bin", "binned"], "binned"),
    **dict.fromkeys(["nxt"], "next"),
    **dict.fromkeys(["rong", "wrng", "worng"], "wrong"),
    **dict.fromkeys(["numbr", "nmber", "numba", "numer", "no."], "number"),
    **dict.fromkeys(["txtin", "textin", "textn", "txtn", "texting"], "text"),
    **dict.fromkeys(["unsub"], "unsubscribe"),
    **dict.fromkeys(["1"], "one"),
    **dict.fromkeys(["defo", "deffo", "def"], "definitely"),
    **dict.fromkeys(["riteiro", "riteirio", "retiro"], "riteirio"),
    **dict.fromkeys(["wkend", "wknd", "weekend"], "weekend"),
    **dict.fromkeys(["wedii", "wedin", "wedir"], "wedi"),
}

_APOSTROPHES = str.maketrans({"’": "", "‘": "", "`": "", "'": "", "´": ""})
_WELSH_ELISION = re.compile(r"([aeiouwyŵŷ])['’](n|i|r|ch|w)\b")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_NON_WORD = re.compile(r"[^a-z0-9?\u00e0-\u00ff\u0175\u0177]+")


def plain(text: str) -> str:
    """The text in one spelling: `Ye dun it 👍!!` -> `yes done it yes`."""
    text = unicodedata.normalize("NFKC", text).lower()
    for symbol, word in EMOJI.items():
        text = text.replace(symbol, word)
    text = _WELSH_ELISION.sub(r"\1 \2", text)  # pleidleisio'n -> pleidleisio n
    text = text.translate(_APOSTROPHES)
    text = _REPEATS.sub(r"\1", text)
    text = _NON_WORD.sub(" ", text).replace("?", " ? ")
    return " ".join(WORDS.get(word, word) for word in text.split())


def tokens(text: str) -> frozenset[str]:
    """The plain words of a text, for comparing it with an outcome's examples."""
    return frozenset(w for w in plain(text).split() if w != "?")
