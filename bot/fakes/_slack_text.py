"""What a Slack user reads: control sequences (mentions, links) and Slack's entities."""

from __future__ import annotations

import re

from bot.fakes._slack_workspace import JSON

# Anything Slack would parse as a control sequence: mentions, broadcasts, links.
_LIVE_TOKEN = re.compile(r"<[^<>]+>")


def live_tokens(text: str) -> list[str]:
    """Raw ``<...>`` sequences Slack would render as mentions, broadcasts or links.

    Properly escaped text (``&lt;`` instead of ``<``) yields none, which is how tests prove
    that a member's SMS cannot ping ``@channel`` or smuggle a disguised link.
    """
    return _LIVE_TOKEN.findall(text)


def rendered_text(message: JSON, users: dict[str, JSON] | None = None) -> str:
    """Roughly what a Slack user reads for a message's ``text``: control sequences resolved
    (``<url|label>`` shows its label, ``<@U1>`` a name) and Slack's three entities decoded."""
    known = users or {}

    def render(token: str) -> str:
        target, _, label = token[1:-1].partition("|")
        if label:
            return label
        if target[:1] == "!":
            return "@" + target[1:].split("^")[0]
        if target[:1] == "@":
            return "@" + str(known.get(target[1:], {}).get("real_name") or target[1:])
        return target

    text = str(message.get("text") or "")
    out, last = [], 0
    for match in _LIVE_TOKEN.finditer(text):
        out += [_unescape(text[last : match.start()]), render(match.group())]
        last = match.end()
    out.append(_unescape(text[last:]))
    return "".join(out)


def _unescape(text: str) -> str:
    """Slack escapes only these three; html.unescape would also decode ones Slack shows raw."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
