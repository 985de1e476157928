"""Text crossing the bridge between SMS and Slack, made safe in both directions.

A member's SMS is untrusted: posted to Slack as-is, ``<!channel>`` would ping a
whole channel and ``<http://evil|your bank>`` would show one link and open
another. :func:`escape_for_slack` makes such text inert.

An activist's thread reply arrives in Slack's wire format (mentions as
``<@U123>``, links as ``<url|label>``, ``&``, ``<`` and ``>`` escaped, mrkdwn
emphasis and emoji shortcodes). None of that means anything on a phone, so
:func:`slack_to_plain` turns it into the plain text the activist saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

__all__ = ["EMOJI", "UserNames", "escape_for_slack", "slack_to_plain", "user_ids_in"]

UserNames = Mapping[str, str] | Callable[[str], str | None]
"""Slack user id → display name, as a mapping or a lookup function."""

_NO_NAMES: Mapping[str, str] = MappingProxyType({})

# Anything between < and > on the wire is a control sequence: Slack escapes
# the angle brackets a user actually types.
_CONTROL = re.compile(r"<([^<>]*)>")
_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>")
_FENCE = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_QUOTE = re.compile(r"^> ", re.MULTILINE)

# Placeholders stand in for text that later passes must not rewrite (a URL's
# underscores, a code span's asterisks). NUL never occurs in Slack text, and
# it is removed from the input before any placeholder is made.
_SENTINEL = "\x00"
_PLACEHOLDER = re.compile(f"{_SENTINEL}(\\d+){_SENTINEL}")

_SPECIAL_MENTIONS = frozenset({"here", "channel", "everyone"})
_SCHEMES_TO_DROP = ("mailto:", "tel:", "sms:")


def _emphasis(marker: str) -> re.Pattern[str]:
    """Slack's rule for ``*bold*``, ``_italic_`` and ``~strike~``.

    A marker opens only after a non-alphanumeric character and closes only
    before one, and the text between does not start or end with a space. That
    is why ``x*y*z``, ``2*3=6`` and ``snake_case_name`` keep their characters.
    Underscore counts as punctuation here so that ``_*both*_`` nests.
    """
    m = re.escape(marker)
    not_alnum_before = r"(?<![^\W_])"
    not_alnum_after = r"(?![^\W_])"
    return re.compile(
        f"{not_alnum_before}(?<!{m}){m}(?!\\s)([^{m}\\n]+?)(?<!\\s){m}(?!{m}){not_alnum_after}"
    )


_EMPHASIS = tuple(_emphasis(marker) for marker in ("*", "_", "~"))

_SKIN_TONES = {
    "2": "\N{EMOJI MODIFIER FITZPATRICK TYPE-1-2}",
    "3": "\N{EMOJI MODIFIER FITZPATRICK TYPE-3}",
    "4": "\N{EMOJI MODIFIER FITZPATRICK TYPE-4}",
    "5": "\N{EMOJI MODIFIER FITZPATRICK TYPE-5}",
    "6": "\N{EMOJI MODIFIER FITZPATRICK TYPE-6}",
}

_VS16 = "\N{VARIATION SELECTOR-16}"

# The shortcodes activists actually type in a GOTV conversation. Anything not
# here is left as typed: a wrong guess would put a stranger's symbol on a
# member's phone, while ":unknown:" at least reads as what was meant.
EMOJI: Mapping[str, str] = MappingProxyType(
    {
        "slightly_smiling_face": "\N{SLIGHTLY SMILING FACE}",
        "simple_smile": "\N{SLIGHTLY SMILING FACE}",
        "slightly_frowning_face": "\N{SLIGHTLY FROWNING FACE}",
        "smile": "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}",
        "smiley": "\N{SMILING FACE WITH OPEN MOUTH}",
        "grinning": "\N{GRINNING FACE}",
        "blush": "\N{SMILING FACE WITH SMILING EYES}",
        "wink": "\N{WINKING FACE}",
        "joy": "\N{FACE WITH TEARS OF JOY}",
        "laughing": "\N{SMILING FACE WITH OPEN MOUTH AND TIGHTLY-CLOSED EYES}",
        "sweat_smile": "\N{SMILING FACE WITH OPEN MOUTH AND COLD SWEAT}",
        "heart_eyes": "\N{SMILING FACE WITH HEART-SHAPED EYES}",
        "sunglasses": "\N{SMILING FACE WITH SUNGLASSES}",
        "hugging_face": "\N{HUGGING FACE}",
        "thinking_face": "\N{THINKING FACE}",
        "grimacing": "\N{GRIMACING FACE}",
        "cry": "\N{CRYING FACE}",
        "sob": "\N{LOUDLY CRYING FACE}",
        "thumbsup": "\N{THUMBS UP SIGN}",
        "+1": "\N{THUMBS UP SIGN}",
        "thumbsdown": "\N{THUMBS DOWN SIGN}",
        "-1": "\N{THUMBS DOWN SIGN}",
        "ok_hand": "\N{OK HAND SIGN}",
        "clap": "\N{CLAPPING HANDS SIGN}",
        "raised_hands": "\N{PERSON RAISING BOTH HANDS IN CELEBRATION}",
        "pray": "\N{PERSON WITH FOLDED HANDS}",
        "muscle": "\N{FLEXED BICEPS}",
        "wave": "\N{WAVING HAND SIGN}",
        "fist": "\N{RAISED FIST}",
        "handshake": "\N{HANDSHAKE}",
        "crossed_fingers": "\N{HAND WITH INDEX AND MIDDLE FINGERS CROSSED}",
        "point_right": "\N{WHITE RIGHT POINTING BACKHAND INDEX}",
        "heart": "\N{HEAVY BLACK HEART}" + _VS16,
        "purple_heart": "\N{PURPLE HEART}",
        "blue_heart": "\N{BLUE HEART}",
        "green_heart": "\N{GREEN HEART}",
        "tada": "\N{PARTY POPPER}",
        "white_check_mark": "\N{WHITE HEAVY CHECK MARK}",
        "heavy_check_mark": "\N{HEAVY CHECK MARK}" + _VS16,
        "x": "\N{CROSS MARK}",
        "ballot_box_with_ballot": "\N{BALLOT BOX WITH BALLOT}" + _VS16,
        "postbox": "\N{POSTBOX}",
        "calendar": "\N{TEAR-OFF CALENDAR}",
        "date": "\N{CALENDAR}",
        "telephone_receiver": "\N{TELEPHONE RECEIVER}",
        "fire": "\N{FIRE}",
        "star": "\N{WHITE MEDIUM STAR}",
        "sparkles": "\N{SPARKLES}",
        "eyes": "\N{EYES}",
        "rocket": "\N{ROCKET}",
        "100": "\N{HUNDRED POINTS SYMBOL}",
        "warning": "\N{WARNING SIGN}" + _VS16,
    }
)


# Only known names are matched, so an unknown ":word:" is never consumed and
# cannot swallow the colon of a known shortcode next to it ("10:30:tada:").
_SHORTCODE = re.compile(
    ":("
    + "|".join(re.escape(name) for name in sorted(EMOJI, key=len, reverse=True))
    + "):(?::skin-tone-([2-6]):)?"
)


def escape_for_slack(text: str) -> str:
    """Make untrusted text display in Slack exactly as it was typed.

    Slack treats ``&``, ``<`` and ``>`` as control characters and asks for
    exactly these three to be HTML-escaped; escaping anything else would show
    up as literal entities. Post the result without ``link_names`` or
    ``parse=full`` so that a typed ``@channel`` stays text too.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_ids_in(text: str) -> set[str]:
    """The Slack user ids mentioned in wire-format ``text``.

    Lets a caller fetch display names (``users.info``) before calling
    :func:`slack_to_plain`, which is synchronous.
    """
    return set(_USER_MENTION.findall(text))


def slack_to_plain(text: str, user_names: UserNames = _NO_NAMES) -> str:
    """Turn what a Slack user typed (``message.text``) into plain SMS text.

    Links become the URL itself, never just their label: a member must be
    able to see where a link goes. Mentions become names, emphasis markers
    and code fences disappear, common emoji shortcodes become the emoji
    (which makes the SMS UCS-2; the segment preview says so).
    """
    vault = _Vault()
    text = text.replace(_SENTINEL, "")
    text = _CONTROL.sub(lambda m: vault.stash(_render_control(m[1], user_names)), text)
    text = _unescape(text)
    text = _FENCE.sub(lambda m: vault.stash(m[1]), text)
    text = _INLINE_CODE.sub(lambda m: vault.stash(m[1]), text)
    text = _strip_emphasis(text)
    text = _QUOTE.sub("", text)
    text = _SHORTCODE.sub(_render_shortcode, text)
    return vault.restore(text).strip()


class _Vault:
    """Holds finished pieces of text out of reach of later rewriting passes."""

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def stash(self, piece: str) -> str:
        self._pieces.append(piece)
        return f"{_SENTINEL}{len(self._pieces) - 1}{_SENTINEL}"

    def restore(self, text: str) -> str:
        # A code span can hold a link's placeholder, so restore recursively.
        return _PLACEHOLDER.sub(lambda m: self.restore(self._pieces[int(m[1])]), text)


def _unescape(text: str) -> str:
    """Undo Slack's three escapes; ``&amp;`` last so ``&amp;lt;`` stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _render_control(inner: str, user_names: UserNames) -> str:
    """Plain text for one ``<...>`` control sequence."""
    target, _, label = inner.partition("|")
    label = _unescape(label)
    if target.startswith("@"):
        return _user_name(target[1:], label, user_names)
    if target.startswith("#"):
        return f"#{label or 'channel'}"
    if target.startswith("!"):
        return _render_command(target[1:], label)
    return _render_link(_unescape(target), label)


def _user_name(user_id: str, label: str, user_names: UserNames) -> str:
    """A mentioned user's name: the lookup, else the wire's label, else "someone"."""
    if isinstance(user_names, Mapping):
        name = user_names.get(user_id)
    else:
        name = user_names(user_id)
    # A name is outside text, never markup, so it must not look like a placeholder.
    return (name or label or "someone").replace(_SENTINEL, "")


def _render_command(command: str, label: str) -> str:
    """``<!here>``, ``<!subteam^S1|@team>``, ``<!date^...|fallback>`` and the like."""
    name, _, args = command.partition("^")
    if name in _SPECIAL_MENTIONS:
        return f"@{name}"
    if name == "subteam":
        return label or "@team"
    if name == "date":
        return label or _date_fallback(args)
    return label


def _date_fallback(args: str) -> str:
    """Slack requires a date's fallback text; if it is missing, show the UTC time."""
    timestamp = args.partition("^")[0]
    if not timestamp.isdigit():
        return ""
    try:
        moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _render_link(url: str, label: str) -> str:
    """The link's own address, shown the way it was typed where that is the same.

    Slack turns a typed ``union.org`` into ``<http://union.org|union.org>``;
    the label is then just the URL without its scheme and is safe to keep.
    """
    for scheme in _SCHEMES_TO_DROP:
        if url.startswith(scheme):
            return url.removeprefix(scheme)
    if label and url.partition("://")[2] == label:
        return label
    return url


def _strip_emphasis(text: str) -> str:
    """Remove ``*``, ``_`` and ``~`` pairs; in this order nesting unwinds in one pass."""
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    return text


def _render_shortcode(match: re.Match[str]) -> str:
    """The emoji for a known shortcode, with its skin tone if one follows."""
    emoji = EMOJI[match[1]]
    tone = _SKIN_TONES.get(match[2] or "", "")
    return emoji.removesuffix(_VS16) + tone if tone else emoji


# How a practice campaign's cards, posts and Home section are marked.
PRACTICE_MARK = ":mortar_board: Practice"
