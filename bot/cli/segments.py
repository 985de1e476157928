"""`turnout segments [TEXT] [--json]`: what a text costs as SMS.

With TEXT, prints a short report. With neither TEXT nor ``--json``, reports
on standard input (one trailing newline dropped, as ``echo`` adds one). With
``--json``, reads one JSON string a line from standard input (blank lines
skipped) and writes one JSON object a line: ``{"encoding", "segments",
"characters", "non_gsm"}``. A line that is not a JSON string is reported on
standard error by its line number and skipped; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from bot.config import Settings
from bot.scripts.segments import Figures, describe, figures, gsm_replacement

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `segments` command to the CLI's subparsers."""
    seg = sub.add_parser(
        "segments",
        help="show a text's SMS encoding and segment count",
        description=(
            "Show the SMS encoding (GSM-7 or UCS-2), segment count and character count "
            "of TEXT, or of standard input when TEXT is not given."
        ),
    )
    seg.add_argument("text", nargs="?", metavar="TEXT", help="the text (default: standard input)")
    seg.add_argument(
        "--json",
        action="store_true",
        help="read one JSON string a line from standard input; write one JSON object a line",
    )
    seg.set_defaults(run=_segments)


def _segments(args: argparse.Namespace, _settings: Settings) -> int:
    if args.json:
        if args.text is not None:
            print("turnout segments: give TEXT or --json, not both", file=sys.stderr)
            return 2
        return _json_lines(sys.stdin, sys.stdout, sys.stderr)
    text: str = args.text if args.text is not None else _drop_newline(sys.stdin.read())
    print(report(text))
    return 0


def report(text: str) -> str:
    """The human report on ``text``: figures, what forces UCS-2, the GSM-7 version."""
    f = figures(text)
    lines = [
        describe(f, text),
        f"Encoding:   {f.encoding}",
        f"Segments:   {f.segments}",
        f"Characters: {f.characters}",
    ]
    if f.non_gsm:
        lines.append(f"Forcing UCS-2: {' '.join(f.non_gsm)}")
    replacement = gsm_replacement(text)
    if replacement != text:
        better = figures(replacement)
        plural = "" if better.segments == 1 else "s"
        lines.append(
            f"With GSM-7 replacements ({better.encoding} · {better.segments} segment{plural}):"
        )
        lines.append(replacement)
    return "\n".join(lines)


def _json_lines(source: TextIO, out: TextIO, err: TextIO) -> int:
    status = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"turnout segments: line {number}: not JSON ({exc.msg})", file=err)
            status = 1
            continue
        if not isinstance(text, str):
            print(f"turnout segments: line {number}: not a JSON string", file=err)
            status = 1
            continue
        out.write(json.dumps(_as_json(figures(text))) + "\n")
    out.flush()
    return status


def _as_json(f: Figures) -> dict[str, object]:
    return {
        "encoding": f.encoding,
        "segments": f.segments,
        "characters": f.characters,
        "non_gsm": f.non_gsm,
    }


def _drop_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")
