"""`turnout suggest --campaign SLUG [--json] [TEXT...]`: what members' replies look like.

Each TEXT (or each line of standard input, when no TEXT is given) gets the
outcome Turnout would suggest to the activist, with its confidence and the
script that goes with it, or "none" when it is unsure. With ``--json``, one
object a line: ``{"text", "outcome", "confidence", "script"}`` (``outcome``
is null when there is no suggestion). Nothing is recorded or sent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable

from bot.campaigns.campaign_file import CampaignFileError, CampaignSpec
from bot.campaigns.lifecycle import CampaignError, resolve, spec_of
from bot.cli.campaign import SubParsers, _with_database
from bot.config import Settings
from bot.scripts.suggestions import suggest
from storage.db import Database

__all__ = ["register"]


def register(sub: SubParsers) -> None:
    """Add `turnout suggest` to the CLI's subparsers."""
    parser = sub.add_parser(
        "suggest",
        help="the outcome Turnout would suggest for each member reply",
        description="Classify member replies against a campaign's outcomes, offline: each "
        "TEXT, or each line of standard input. Nothing is recorded or sent.",
    )
    parser.add_argument("--campaign", required=True, metavar="SLUG", help="the campaign's slug")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="replies (default: stdin)")
    parser.set_defaults(run=_suggest)


async def _spec(db: Database, slug: str) -> CampaignSpec:
    async with db.sessions() as session:
        return spec_of(await resolve(session, slug, practice_ok=True))


def _suggest(args: argparse.Namespace, settings: Settings) -> int:
    try:
        spec = _with_database(settings, lambda db: _spec(db, args.campaign))
    except (CampaignError, CampaignFileError) as problem:
        print(f"turnout suggest: {problem}", file=sys.stderr)
        return 2
    texts: Iterable[str] = args.texts or (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        if not text.strip():
            continue
        found = suggest(text, spec)
        if args.json:
            row = {
                "text": text,
                "outcome": found.outcome if found else None,
                "confidence": found.confidence if found else 0.0,
                "script": found.script if found else None,
            }
            print(json.dumps(row, ensure_ascii=False))
        elif found is None:
            print(f"none\t-\t-\t{text}")
        else:
            print(f"{found.outcome}\t{found.confidence:.2f}\t{found.script or '-'}\t{text}")
    return 0
