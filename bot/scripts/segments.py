"""What a text costs as SMS: its encoding (GSM-7 or UCS-2) and its segment count.

The rules follow GSM 03.38 (3GPP TS 23.038) and Twilio's published segment
calculator (the npm package ``sms-segments-calculator``), which
``tests/scripts/test_segments.py`` cross-checks against:

- A text is GSM-7 when every character is in the GSM 03.38 basic table or its
  extension table; one character outside them makes the whole text UCS-2.
- GSM-7 costs a septet per basic character and two per extension character
  (the escape and the character); UCS-2 costs a UTF-16 code unit per BMP
  character and two for one outside it (most emoji).
- One segment holds 160 septets or 70 units; once a text needs more, each
  segment holds 153 or 67, the rest going to the concatenation header.
- A segment boundary never splits what a reader sees as one character (an
  extended grapheme cluster, UAX #29): an escape pair, a surrogate pair, an
  emoji with its skin tone or ZWJ sequence, a letter with combining accents.
- ``characters`` is what Twilio's calculator reports: septets for GSM-7, and
  grapheme clusters for UCS-2. CR and LF always count as two, as there.
- The empty text is GSM-7, one segment, no characters, as there.

Deliberate differences from Twilio's calculator, both about emoji:

- Grapheme clusters follow the current UAX #29 rules with this Python's
  Unicode data; Twilio's calculator uses a splitter frozen at Unicode 10. So
  emoji sequences introduced since (such as 👩‍🦰, ❤️‍🔥, 🧑‍🤝‍🧑) and a skin tone
  after a non-person emoji are one character here and two or three there,
  and are never split across segments here.
- A single cluster too long for a segment (dozens of stacked combining marks)
  is split between code points here; Twilio's calculator overfills a segment.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Figures", "describe", "figures", "graphemes", "gsm_replacement"]

Encoding = Literal["GSM-7", "UCS-2"]

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 basic table in code order, less the escape at 0x1B."""

GSM_EXTENSION = "\f^{}\\[~]|€"
"""Characters reached through the escape: each costs two septets."""

_SEPTETS: dict[str, int] = {c: 1 for c in GSM_BASIC} | {c: 2 for c in GSM_EXTENSION}

SINGLE_SEPTETS, MULTI_SEPTETS = 160, 153
SINGLE_UNITS, MULTI_UNITS = 70, 67


@dataclass(frozen=True)
class Figures:
    """The cost of one text as SMS."""

    encoding: Encoding
    segments: int
    characters: int
    """Septets for GSM-7; user-perceived characters for UCS-2 (as Twilio counts)."""
    non_gsm: list[str]
    """The distinct characters that force UCS-2, in order of first appearance."""


def figures(text: str) -> Figures:
    """Encoding, segment count and characters of ``text`` sent as one SMS."""
    clusters = graphemes(text)
    non_gsm = list(dict.fromkeys(c for c in clusters if c not in _SEPTETS))
    if not non_gsm:
        septets = [(_SEPTETS[c],) for c in clusters]
        segments = _pack(septets, SINGLE_SEPTETS, MULTI_SEPTETS)
        return Figures("GSM-7", segments, sum(s for (s,) in septets), [])
    units = [tuple(_utf16_units(ch) for ch in cluster) for cluster in clusters]
    segments = _pack(units, SINGLE_UNITS, MULTI_UNITS)
    return Figures("UCS-2", segments, len(clusters), non_gsm)


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(clusters: Sequence[Sequence[int]], single: int, multi: int) -> int:
    """Segments needed for clusters of the given code sizes, none split if it fits whole."""
    if sum(sum(cluster) for cluster in clusters) <= single:
        return 1
    segments, used = 1, 0
    for cluster in clusters:
        whole = sum(cluster)
        for size in (whole,) if whole <= multi else cluster:
            if used + size > multi:
                segments, used = segments + 1, 0
            used += size
    return segments


# --- Replacements --------------------------------------------------------------------

_REPLACEMENTS: dict[str, str] = {
    **dict.fromkeys("‘’‚‛′´`ʼ", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−•⁃", "-"),
    "…": "...",
    **dict.fromkeys("\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006", " "),
    **dict.fromkeys("\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u2028\u2029", "\n"),
    **dict.fromkeys("\u00ad\u200b\u2060\ufeff", ""),
}
_TRANSLATION = str.maketrans(_REPLACEMENTS)


def gsm_replacement(text: str) -> str:
    """``text`` with typographic punctuation and odd spaces swapped for GSM-7 ones.

    Curly quotes and primes become straight ones, dashes and bullets a
    hyphen, the ellipsis three dots, Unicode spaces a space (and tabs too),
    invisible ones (soft hyphen, zero-width space, BOM) nothing. Decomposed
    accents are composed (NFC), so ``e`` + U+0301 becomes the GSM ``é``.
    Letters are left alone: a member's name is not respelt to save a penny.
    """
    return unicodedata.normalize("NFC", text).translate(_TRANSLATION)


# --- The line for Slack ---------------------------------------------------------------


def describe(f: Figures, text: str) -> str:
    """One line for Slack saying what ``text`` (whose figures are ``f``) costs, and why.

    e.g. ``GSM-7 · 2 segments (191 characters)``, or ``UCS-2 · 3 segments
    (150 characters) — forced by ’ “: use the GSM-7 version to save 1 segment``.
    """
    line = f"{f.encoding} · {_count(f.segments, 'segment')} ({_count(f.characters, 'character')})"
    if f.encoding == "GSM-7":
        return line
    line += f" — forced by {_names(f.non_gsm)}"
    replacement = gsm_replacement(text)
    if replacement == text:
        return line
    better = figures(replacement)
    saved = f.segments - better.segments
    if better.encoding == "UCS-2":
        line += f": the GSM-7 replacements still leave {_names(better.non_gsm)} forcing UCS-2"
        return line + (f" but save {_count(saved, 'segment')}" if saved > 0 else "")
    if saved > 0:
        return line + f": use the GSM-7 version to save {_count(saved, 'segment')}"
    if saved == 0:
        return line + ": the GSM-7 version costs the same"
    return line + f": the GSM-7 version would cost {_count(-saved, 'segment')} more"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _names(characters: Sequence[str]) -> str:
    return " ".join(_shown(c) for c in characters)


def _shown(cluster: str) -> str:
    """The cluster itself, or its code points when nothing in it would be visible."""
    if all(unicodedata.category(ch)[0] in "ZC" for ch in cluster):
        return " ".join(f"U+{ord(ch):04X}" for ch in cluster)
    return cluster


# --- Grapheme clusters (UAX #29, extended) --------------------------------------------

_OTHER, _CONTROL, _EXTEND, _ZWJ, _SPACING, _PREPEND, _RI, _PICTO = range(8)
_L, _V, _T, _LV, _LVT = range(8, 13)

# Extended_Pictographic (emoji-data.txt), as (first, last) code point ranges.
_PICTOGRAPHIC = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049),
    (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA),
    (0x231A, 0x231B), (0x2328, 0x2328), (0x2388, 0x2388), (0x23CF, 0x23CF),
    (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB),
    (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2605),
    (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705), (0x2708, 0x2712),
    (0x2714, 0x2714), (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721),
    (0x2728, 0x2728), (0x2733, 0x2734), (0x2744, 0x2744), (0x2747, 0x2747),
    (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755), (0x2757, 0x2757),
    (0x2763, 0x2767), (0x2795, 0x2797), (0x27A1, 0x27A1), (0x27B0, 0x27B0),
    (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D),
    (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F), (0x1F16C, 0x1F171), (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA),
    (0x1F400, 0x1F53D), (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F),
    (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945),
    (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
)  # fmt: skip
_PICTO_STARTS = [first for first, _ in _PICTOGRAPHIC]

_PREPENDS = frozenset(
    {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x0D4E, 0x110BD, 0x110CD}
)
_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3


def _break_class(cp: int) -> int:
    """The Grapheme_Cluster_Break property of a code point, near enough for SMS text."""
    if cp in (0x0A, 0x0D):
        return _CONTROL  # CR LF are two characters, as in Twilio's calculator
    if cp == 0x200D:
        return _ZWJ
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _RI
    if cp == 0x200C or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return _EXTEND  # ZWNJ, emoji skin tones, emoji tag characters
    if _HANGUL_BASE <= cp <= _HANGUL_LAST:
        return _LV if (cp - _HANGUL_BASE) % 28 == 0 else _LVT
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _T
    if cp in _PREPENDS:
        return _PREPEND
    category = unicodedata.category(chr(cp))
    if category in ("Mn", "Me"):
        return _EXTEND
    if category == "Mc":
        return _SPACING
    if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return _CONTROL
    i = bisect.bisect_right(_PICTO_STARTS, cp) - 1
    if i >= 0 and cp <= _PICTOGRAPHIC[i][1]:
        return _PICTO
    return _OTHER


_HANGUL_JOINS = {
    _L: (_L, _V, _LV, _LVT),
    _V: (_V, _T),
    _LV: (_V, _T),
    _T: (_T,),
    _LVT: (_T,),
}


def graphemes(text: str) -> list[str]:
    """``text`` split into extended grapheme clusters, with CR and LF always apart."""
    clusters: list[str] = []
    start = 0
    previous = _CONTROL
    regional_run = 0  # regional indicators in a row so far: flags pair them up
    emoji = 0  # 1 after Extended_Pictographic Extend*, 2 when a ZWJ follows that
    for i, ch in enumerate(text):
        current = _break_class(ord(ch))
        if i and _breaks(previous, current, regional_run, emoji):
            clusters.append(text[start:i])
            start = i
        regional_run = regional_run + 1 if current == _RI else 0
        if current == _PICTO:
            emoji = 1
        elif emoji == 1 and current in (_EXTEND, _ZWJ):
            emoji = 2 if current == _ZWJ else 1
        else:
            emoji = 0
        previous = current
    if text:
        clusters.append(text[start:])
    return clusters


def _breaks(previous: int, current: int, regional_run: int, emoji: int) -> bool:
    if previous == _CONTROL or current == _CONTROL:
        return True  # GB4, GB5
    if current in _HANGUL_JOINS.get(previous, ()):
        return False  # GB6-GB8
    if current in (_EXTEND, _ZWJ, _SPACING) or previous == _PREPEND:
        return False  # GB9-GB9b
    if current == _PICTO and emoji == 2:
        return False  # GB11
    return not (current == _RI and regional_run % 2 == 1)  # GB12, GB13
