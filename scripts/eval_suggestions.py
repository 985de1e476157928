"""Reply suggestions against the labelled replies: precision, coverage and speed.

    python scripts/eval_suggestions.py [--data tests/data/replies.jsonl] [--misses]

Precision is the share of suggestions that match the label (a suggestion
for a reply labelled null is wrong); coverage is the share of all replies
that get a suggestion. Targets: precision >= 0.95, coverage >= 0.70, and
under 5 ms a text. Prints the figures overall, for the hard replies and for
Welsh, and with --misses every wrong or missing suggestion.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.campaigns.campaign_file import CampaignSpec, load_campaign_file  # noqa: E402
from bot.scripts.suggestions import suggest  # noqa: E402

DATA = ROOT / "tests" / "data" / "replies.jsonl"
CAMPAIGN = ROOT / "tests" / "data" / "suggest_campaign.yml"


@dataclass(frozen=True)
class Reply:
    text: str
    outcome: str | None
    hard: bool
    lang: str


@dataclass(frozen=True)
class Score:
    total: int
    suggested: int
    correct: int
    missed: int  # labelled with an outcome, but no suggestion

    @property
    def precision(self) -> float:
        return self.correct / self.suggested if self.suggested else 1.0

    @property
    def coverage(self) -> float:
        return self.suggested / self.total if self.total else 0.0


def load(path: Path) -> list[Reply]:
    replies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            replies.append(Reply(row["text"], row["outcome"], bool(row["hard"]), row["lang"]))
    return replies


def score(replies: list[Reply], spec: CampaignSpec) -> tuple[Score, list[tuple[Reply, str | None]]]:
    suggested = correct = missed = 0
    wrong: list[tuple[Reply, str | None]] = []
    for reply in replies:
        found = suggest(reply.text, spec)
        key = found.outcome if found else None
        if found is not None:
            suggested += 1
            correct += key == reply.outcome
        elif reply.outcome is not None:
            missed += 1
        if key != reply.outcome:
            wrong.append((reply, key))
    return Score(len(replies), suggested, correct, missed), wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--misses", action="store_true", help="list wrong and missing ones")
    args = parser.parse_args()
    spec = load_campaign_file(CAMPAIGN)
    replies = load(args.data)
    print(f"Python {platform.python_version()} on {platform.machine()}, {len(replies)} replies")
    groups = {
        "all": replies,
        "hard": [r for r in replies if r.hard],
        "easy": [r for r in replies if not r.hard],
        "welsh": [r for r in replies if r.lang == "cy"],
    }
    print(f"{'set':<6} {'n':>5} {'precision':>10} {'coverage':>9} {'wrong':>6} {'missed':>7}")
    for name, group in groups.items():
        result, _ = score(group, spec)
        wrong = result.suggested - result.correct
        print(
            f"{name:<6} {result.total:>5} {result.precision:>10.3f} {result.coverage:>9.3f}"
            f" {wrong:>6} {result.missed:>7}"
        )
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for reply in replies:
            suggest(reply.text, spec)
    per_text = (time.perf_counter() - started) / (rounds * len(replies)) * 1000
    print(f"speed: {per_text:.3f} ms a text (target under 5 ms)")
    overall, wrong_ones = score(replies, spec)
    if args.misses:
        for reply, key in wrong_ones:
            print(f"  label={reply.outcome!s:<13} got={key!s:<13} {reply.text!r}")
    met = overall.precision >= 0.95 and overall.coverage >= 0.70 and per_text < 5
    print("targets met" if met else "targets NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
