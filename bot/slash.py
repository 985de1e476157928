"""What each `/turnout` subcommand does, and the help each caller may see.

Every answer is a `Reply` (shown only to the caller). A typo gets help, a
command above the caller's role gets a plain "only organisers can", and
nothing here raises to Slack.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.campaigns import assignment, lifecycle, roles, sending, stats
from bot.campaigns.roles import NotAllowed, Role
from bot.command_args import Args, CommandError, parse
from bot.exports import export
from bot.practice import batch
from bot.runtime import Runtime
from bot.scripts import canned
from bot.text import PRACTICE_MARK

log = logging.getLogger(__name__)


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[Runtime, str, Args], Awaitable[Reply]]


@dataclass(frozen=True)
class Subcommand:
    usage: str
    summary: str
    role: Role
    run: Handler


async def _help(rt: Runtime, user: str, _args: Args) -> Reply:
    async with rt.db.sessions() as session:
        role = await roles.role_of(session, rt, user)
    return Reply(help_text(role))


async def _next(rt: Runtime, user: str, _args: Args) -> Reply:
    outcome = await sending.send_next(rt, user)
    return Reply(outcome.text, outcome.blocks)


async def _stats(rt: Runtime, _user: str, args: Args) -> Reply:
    return Reply(await stats.stats_text(rt, args.option("campaign")))


async def _practice(rt: Runtime, user: str, args: Args) -> Reply:
    rest = [w.lower() for w in args.words[1:]]
    if rest == ["end"] and not args.numbers:
        return Reply(await batch.end(rt, user))
    if rest == ["next"] and not args.numbers:
        outcome = await sending.send_next(rt, user, practice=True)
        return Reply(outcome.text, outcome.blocks)
    if rest or len(args.numbers) > 1:
        raise CommandError(
            "usage: /turnout practice [N] [campaign:SLUG] (a practice batch of N simulated "
            f"members, {batch.DEFAULT_SIZE} if not said), /turnout practice next (text the "
            "next of them), /turnout practice end (clear it)"
        )
    size = args.numbers[0] if args.numbers else batch.DEFAULT_SIZE
    return Reply(await batch.start(rt, user, size, args.option("campaign")))


async def _assign(rt: Runtime, user: str, args: Args) -> Reply:
    if len(args.users) != 1 or len(args.numbers) != 1:
        raise CommandError("usage: /turnout assign @user N [branch:NAME] [campaign:SLUG]")
    result = await assignment.assign_batch(
        rt,
        user,
        args.users[0],
        args.numbers[0],
        branch=args.option("branch"),
        campaign=args.option("campaign"),
    )
    where = f" in {args.option('branch')}" if args.option("branch") else ""
    if result.given == 0:
        return Reply(f"No unassigned, textable members are left{where} in {result.campaign}.")
    text = f"Assigned {result.given} members{where} to <@{result.activist}> ({result.campaign})."
    if result.given < result.asked:
        text += f" Only {result.given} of the {result.asked} asked for were left{where}."
    else:
        text += f" {result.left_in_pool} remain unassigned{where}."
    return Reply(text)


async def _unassign(rt: Runtime, user: str, args: Args) -> Reply:
    if len(args.users) != 1 or not set(args.words[1:]) <= {"unsent", "all"}:
        raise CommandError("usage: /turnout unassign @user [unsent|all]")
    everything = "all" in args.words[1:]
    count = await assignment.unassign(rt, user, args.users[0], unsent_only=not everything)
    which = "members" if everything else "unsent members"
    return Reply(f"Took {count} {which} back from <@{args.users[0]}>.")


async def _reassign(rt: Runtime, user: str, args: Args) -> Reply:
    if len(args.users) != 2:
        raise CommandError("usage: /turnout reassign @from @to")
    count = await assignment.reassign(rt, user, args.users[0], args.users[1])
    return Reply(f"Moved {count} conversations from <@{args.users[0]}> to <@{args.users[1]}>.")


async def _campaign(rt: Runtime, user: str, args: Args) -> Reply:
    action = args.words[1] if len(args.words) > 1 else "list"
    if action == "list":
        async with rt.db.sessions() as session:
            rows = await lifecycle.list_campaigns(session)
            practice = await lifecycle.list_campaigns(session, practice=True)
        if not rows:
            return Reply("No campaigns yet. Load one with `turnout campaign load FILE.yml`.")
        lines = [f"• `{c.slug}` {c.name} — {c.state}" for c in rows]
        lines += [f"• {PRACTICE_MARK} `{c.slug}` (of `{c.practice_of}`)" for c in practice]
        return Reply("\n".join(lines))
    states = {"start": "active", "pause": "paused", "close": "closed"}
    if action not in states or len(args.words) != 3:
        raise CommandError("usage: /turnout campaign list|start|pause|close SLUG")
    slug = args.words[2]
    await lifecycle.change_state(rt, user, slug, states[action])
    return Reply(f"Campaign `{slug}` is now {states[action]}.")


async def _export(rt: Runtime, user: str, args: Args) -> Reply:
    return Reply(await export.command(rt, user, args.words[1:], args.option("campaign")))


async def _role(rt: Runtime, user: str, args: Args) -> Reply:
    if len(args.users) != 1 or len(args.words) != 2:
        raise CommandError("usage: /turnout role @user organiser|coordinator|activist")
    role = await roles.set_role(rt, user, args.users[0], args.words[1])
    return Reply(
        f"<@{args.users[0]}> is now an {role.label}."
        if role.label[0] in "aeiou"
        else f"<@{args.users[0]}> is now a {role.label}."
    )


async def _scripts(rt: Runtime, user: str, rest: str) -> Reply:
    """`scripts add|edit NAME TEXT [campaign:SLUG]`, `scripts remove NAME`, `scripts list`."""
    words = rest.split()
    campaign = None
    if words and words[-1].lower().startswith("campaign:"):
        campaign = words.pop().split(":", 1)[1]
    action = words[0].lower() if words else ""
    if action in ("add", "edit", "remove") and len(words) >= 2:
        text = " ".join(words[2:]) or None
        return Reply(await canned.change(rt, user, action, words[1].lower(), text, campaign))
    if action == "list":
        async with rt.db.sessions() as session:
            spec = lifecycle.spec_of(await lifecycle.resolve(session, campaign))
        listed = "\n".join(f"• `;{n}` {t}" for n, t in spec.scripts.items()) or "No scripts yet."
        return Reply(listed)
    raise CommandError(
        "usage: /turnout scripts (opens the scripts window), /turnout scripts list, "
        "/turnout scripts add|edit NAME TEXT, /turnout scripts remove NAME"
    )


COMMANDS: dict[str, Subcommand] = {
    "help": Subcommand("help", "what you can do", Role.ACTIVIST, _help),
    "next": Subcommand("next", "text the next member in your queue", Role.ACTIVIST, _next),
    "scripts": Subcommand(
        "scripts",
        "pick a conversation and send a script (organisers: "
        "`scripts add|edit NAME TEXT`, `scripts remove NAME`)",
        Role.ACTIVIST,
        _help,
    ),
    "stats": Subcommand(
        "stats [campaign:SLUG]", "texts, replies and opt-outs by branch", Role.ACTIVIST, _stats
    ),
    "practice": Subcommand(
        "practice [N] [campaign:SLUG]",
        "a practice batch of simulated members: real scripts, no real texts "
        "(`practice next` texts the next, `practice end` clears it)",
        Role.ACTIVIST,
        _practice,
    ),
    "assign": Subcommand(
        "assign @user N [branch:NAME] [campaign:SLUG]",
        "give an activist up to N unassigned members",
        Role.ORGANISER,
        _assign,
    ),
    "unassign": Subcommand(
        "unassign @user [unsent|all]", "take members back", Role.ORGANISER, _unassign
    ),
    "reassign": Subcommand(
        "reassign @from @to", "move every conversation to someone else", Role.ORGANISER, _reassign
    ),
    "campaign": Subcommand(
        "campaign list|start|pause|close SLUG", "campaign state", Role.ORGANISER, _campaign
    ),
    "export": Subcommand(
        "export replacements [all]|outcomes|conversations [campaign:SLUG]",
        "a CSV to your DM; `export mark-processed [campaign:SLUG]` once the office has "
        "sent the replacement ballots",
        Role.ORGANISER,
        _export,
    ),
    "role": Subcommand(
        "role @user organiser|coordinator|activist", "set someone's role", Role.ADMIN, _role
    ),
}


def help_text(role: Role) -> str:
    lines = [
        "*Turnout* — text members one to one from Slack.",
        "Reply in a member's thread in this app's DM to text them; their replies arrive there.",
        "",
    ]
    for sub in COMMANDS.values():
        if role >= sub.role:
            lines.append(f"• `/turnout {sub.usage}` — {sub.summary}")
    return "\n".join(lines)


async def dispatch(rt: Runtime, user: str, text: str) -> Reply:
    try:
        first, _, rest = text.strip().partition(" ")
        if first.lower() == "scripts":
            # Script text is free prose (apostrophes, quotes), so it is not split like options.
            return await _scripts(rt, user, rest)
        args = parse(text)
        name = args.words[0] if args.words else "help"
        sub = COMMANDS.get(name)
        if sub is None:
            return await _unknown(rt, user, name)
        async with rt.db.sessions() as session:
            if await roles.role_of(session, rt, user) < sub.role:
                raise NotAllowed(sub.role)
        return await sub.run(rt, user, args)
    except (
        CommandError,
        NotAllowed,
        lifecycle.CampaignError,
        ValueError,
        canned.ScriptError,
    ) as problem:
        return Reply(str(problem)[0].upper() + str(problem)[1:])


async def _unknown(rt: Runtime, user: str, name: str) -> Reply:
    close = difflib.get_close_matches(name, COMMANDS, n=1)
    hint = f" Did you mean `/turnout {close[0]}`?" if close else ""
    help_reply = await _help(rt, user, Args())
    return Reply(f"I don't know `{name}`.{hint}\n\n{help_reply.text}")
