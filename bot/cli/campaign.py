"""`turnout campaign ...`: load campaign files and list campaigns.

Several modules add subcommands under `turnout campaign` (this one adds
`load` and `list`; purging adds `purge`). Each one calls
`campaign_subparsers(sub)` with the top-level subparsers of
`bot.cli.build_parser` and adds its parsers to what comes back, e.g.::

    purge = campaign_subparsers(sub).add_parser("purge", help="...")
    purge.set_defaults(run=_purge)  # a handler taking (args, settings) -> int

The `campaign` parser is made by whichever module asks first, so the order
in which modules register does not matter.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias, TypeVar

from bot.campaigns.campaign_file import CampaignFileError
from bot.campaigns.lifecycle import CampaignError, LoadResult, load_campaign
from bot.config import Settings
from bot.scripts import segments
from storage import campaigns as stored
from storage.db import Database
from storage.models import Campaign

# argparse gives the type of `add_subparsers()` no public name.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T")


def campaign_subparsers(sub: SubParsers) -> SubParsers:
    """The subcommands of `turnout campaign`, making the `campaign` parser on first use."""
    parser = sub.choices.get("campaign")
    if parser is None:
        parser = sub.add_parser("campaign", help="load, list and purge campaigns")
        parser.set_defaults(run=_usage(parser))
        return parser.add_subparsers(title="campaign commands", metavar="COMMAND")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("`turnout campaign` was registered without subcommands")


def register(sub: SubParsers) -> None:
    """Add `turnout campaign load FILE.yml` and `turnout campaign list`."""
    commands = campaign_subparsers(sub)
    load = commands.add_parser("load", help="create or update a campaign from its YAML file")
    load.add_argument("file", type=Path, metavar="FILE.yml", help="the campaign file")
    load.set_defaults(run=_load)
    listing = commands.add_parser("list", help="every campaign: slug, state and name")
    listing.set_defaults(run=_list)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace, Settings], int]:
    """`turnout campaign` alone: show its subcommands rather than the whole CLI."""

    def show(_args: argparse.Namespace, _settings: Settings) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def _load(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    now = datetime.now(UTC)
    try:
        result = _with_database(settings, lambda db: load_campaign(db, path, now))
    except CampaignFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    except CampaignError as exc:
        print(f"turnout: {exc}", file=sys.stderr)
        return 1
    print("\n".join(_load_report(result)))
    return 0


def _load_report(result: LoadResult) -> list[str]:
    if result.created:
        lines = [f"Created campaign {result.slug} ({result.state})"]
    else:
        lines = [f"Updated campaign {result.slug}"]
    cost = segments.figures(result.initial)
    lines.append(f"Initial script: {result.initial_length} characters with sample names:")
    lines.append(f"  {result.initial}")
    lines.append(f"  Cost per text: {segments.describe(cost, result.initial)}")
    fields = ", ".join(result.custom_fields) or "none"
    lines.append(f"Custom fields the scripts use (from the member import): {fields}")
    if result.state == "draft":
        lines.append(f"Start it with `/turnout campaign start {result.slug}` when it is ready.")
    return lines


def _list(_args: argparse.Namespace, settings: Settings) -> int:
    rows = _with_database(settings, _all_campaigns)
    if not rows:
        print("No campaigns yet: load one with `turnout campaign load FILE.yml`.")
        return 0
    table = [("SLUG", "STATE", "NAME"), *((c.slug, c.state, c.name) for c in rows)]
    slug_width = max(len(r[0]) for r in table)
    state_width = max(len(r[1]) for r in table)
    for slug, state, name in table:
        print(f"{slug:<{slug_width}}  {state:<{state_width}}  {name}")
    return 0


async def _all_campaigns(db: Database) -> list[Campaign]:
    async with db.transaction() as session:
        return list(await stored.all(session))


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against a migrated database, and close the engine after."""

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # Checking the schema revision is routine here, not news (unlike `migrate`).
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            await db.require_migrated()
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())
