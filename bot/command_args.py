"""Parsing what follows `/turnout`: words, @mentions, numbers and key:value.

Slack sends mentions in slash commands as `<@U123|name>` when the command
escapes them (the manifest sets should_escape), so users are recognised by
id, never by a display name that two people could share.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class CommandError(ValueError):
    """The words do not make a valid command; the message says how to fix it."""


@dataclass
class Args:
    words: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    def option(self, name: str) -> str | None:
        return self.options.get(name)


def parse(text: str, *, option_names: frozenset[str] = frozenset({"branch", "campaign"})) -> Args:
    """Split `text`; quotes keep spaces together (branch:"Anglia Ruskin")."""
    try:
        tokens = shlex.split(text.replace("\u201c", '"').replace("\u201d", '"'))
    except ValueError as exc:
        raise CommandError(f"I couldn't read that: {exc}") from exc
    args = Args()
    pending: str | None = None
    for token in tokens:
        if pending is not None:
            args.options[pending] = token
            pending = None
            continue
        mention = MENTION.match(token)
        if mention:
            args.users.append(mention.group(1))
            continue
        key, sep, value = token.partition(":")
        if sep and key.lower() in option_names:
            if value:
                args.options[key.lower()] = value
            else:
                pending = key.lower()
            continue
        if token.isdigit():
            args.numbers.append(int(token))
            continue
        if token.startswith("@"):
            raise CommandError(
                f"I don't know who {token} is. Pick them from Slack's @-menu so the name "
                "turns blue."
            )
        args.words.append(token.lower())
    if pending is not None:
        raise CommandError(f"{pending}: needs a value, e.g. {pending}:Leeds")
    return args
