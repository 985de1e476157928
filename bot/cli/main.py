"""`turnout`: the command line for admins and organisers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from bot.cli import audit, campaign, members, purge, segments, suggest, sweep
from bot.config import ConfigError, Settings
from storage.db import NotMigrated, migrate

log = logging.getLogger("turnout")

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiohttp.access", "twilio.http_client", "twilio.async_http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"turnout: bad setting: {exc}", file=sys.stderr)
        return 2
    run: Command = args.run
    try:
        return run(args, settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except NotMigrated as exc:
        print(f"turnout: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turnout",
        description="Peer-to-peer SMS for get-out-the-vote campaigns, run from Slack.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the app (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument(
        "--sms-rate",
        type=float,
        default=10.0,
        metavar="N",
        help="texts a second sent to Twilio at most (default 10)",
    )
    serve.set_defaults(run=_serve)

    mig = sub.add_parser("migrate", help="bring the database schema up to date")
    mig.set_defaults(run=_migrate)

    demo = sub.add_parser(
        "demo",
        help="a short campaign offline on SQLite: simulated members (SMS_BACKEND=sandbox) "
        "and a local Slack",
    )
    demo.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    demo.set_defaults(run=_demo)
    members.register(sub)
    campaign.register(sub)
    segments.register(sub)
    sweep.register(sub)
    audit.register(sub)
    purge.register(sub)
    suggest.register(sub)
    return parser


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    print(f"Database is up to date ({_safe_url(settings.database_url)}).")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings.check_for_serve()
    asyncio.run(_serve_forever(settings, args.sms_rate))
    return 0


async def _serve_forever(settings: Settings, sms_rate: float) -> None:
    from bot.app import Service, WorkerOptions, make_runtime

    service = Service(make_runtime(settings), WorkerOptions(sms_rate_per_second=sms_rate))
    await service.start(settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Turnout is serving on {settings.host}:{service.port}. Ctrl-C stops it.")
    if settings.sms_backend == "sandbox":
        low, high = settings.reply_delay_range
        print(
            "SMS_BACKEND=sandbox: every text goes to a simulated member (they answer in "
            f"{low:g}-{high:g} s); no text reaches a phone."
        )
    try:
        await stop.wait()
    finally:
        await service.stop()


def _demo(args: argparse.Namespace, _settings: Settings) -> int:
    from bot.cli.demo import run_demo

    return asyncio.run(run_demo(database_url=args.database))


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


if __name__ == "__main__":
    raise SystemExit(main())
