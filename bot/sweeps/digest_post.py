"""The daily digest as coordinators read it, and its Slack delivery (Kind.DIGEST).

The sweep (`bot.sweeps.digest`) counts everything once and stores the
numbers in the delivery's payload as a `Digest`; this module only renders
them. So a delivery retried after a crash or a 429 posts the same numbers,
and the chart drawn from them is the same chart.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.bridge.slack_outbox import GaveUp
from bot.intents import Kind
from bot.text import escape_for_slack
from storage import digest as stored
from storage.models import SlackDelivery

if TYPE_CHECKING:
    from bot.bridge.slack_outbox import Deliveries, SlackOutbox

Block = dict[str, Any]
SECTION_CHARS = 2900  # Slack refuses a section's text over 3,000 characters
HEADER_CHARS = 150


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.DIGEST, deliver)


@dataclass(frozen=True, slots=True)
class Counts:
    """The digest's figures for one branch, or the whole campaign."""

    members: int = 0
    voted: int = 0
    texted: int = 0
    texts_sent: int = 0
    delivered: int = 0
    failed: int = 0
    replies: int = 0
    replied: int = 0
    opted_out: int = 0

    @property
    def turnout(self) -> float:
        return self.voted / self.members if self.members else 0.0

    @property
    def response_rate(self) -> float:
        return self.replied / self.texted if self.texted else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Counts:
        return cls(**{f.name: int(raw.get(f.name, 0)) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Digest:
    campaign_id: int
    campaign: str
    slug: str
    day: date  # the campaign's local date the digest is for
    timezone: str
    threshold: float
    ballot_closes: datetime
    days_left: int  # local calendar days from `day` to the close date
    closed: bool
    replacements_open: int
    replacements_processed: int
    branches: tuple[tuple[str, Counts], ...]

    @property
    def total(self) -> Counts:
        return sum((counts for _, counts in self.branches), Counts())

    def ranked(self) -> list[tuple[str, Counts]]:
        """Lowest turnout first, so the branches below the threshold lead."""
        return sorted(self.branches, key=lambda item: (item[1].turnout, item[0]))

    def to_payload(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "campaign": self.campaign,
            "slug": self.slug,
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            "threshold": self.threshold,
            "ballot_closes": self.ballot_closes.isoformat(),
            "days_left": self.days_left,
            "closed": self.closed,
            "replacements": {
                "open": self.replacements_open,
                "processed": self.replacements_processed,
            },
            "branches": [{"branch": name, **asdict(counts)} for name, counts in self.branches],
        }

    @classmethod
    def from_payload(cls, raw: dict[str, Any]) -> Digest:
        replacements = raw.get("replacements") or {}
        return cls(
            campaign_id=int(raw["campaign_id"]),
            campaign=str(raw["campaign"]),
            slug=str(raw["slug"]),
            day=date.fromisoformat(str(raw["day"])),
            timezone=str(raw["timezone"]),
            threshold=float(raw["threshold"]),
            ballot_closes=datetime.fromisoformat(str(raw["ballot_closes"])),
            days_left=int(raw["days_left"]),
            closed=bool(raw["closed"]),
            replacements_open=int(replacements.get("open", 0)),
            replacements_processed=int(replacements.get("processed", 0)),
            branches=tuple(
                (str(b["branch"]), Counts.from_json(b)) for b in raw.get("branches") or []
            ),
        )


# -- rendering ---------------------------------------------------------------------


def render(digest: Digest) -> tuple[str, list[Block]]:
    """The fallback text and the blocks; both carry every figure and every branch."""
    title = f"Daily digest: {digest.campaign}, {_day(digest.day)}"
    summary = _summary(digest)
    ranked = digest.ranked()
    below = [item for item in ranked if item[1].turnout < digest.threshold]
    above = ranked[len(below) :]
    groups = [
        (f"*Below the {digest.threshold:.0%} threshold* ({_branches(len(below))})", below),
        (f"*At or above the threshold* ({_branches(len(above))})", above),
    ]
    body: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, HEADER_CHARS)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(summary)}},
    ]
    lines = [escape_for_slack(title), *summary]
    for heading, items in groups:
        if not items:
            continue
        group = [heading, *(_branch_line(name, counts) for name, counts in items)]
        body.append({"type": "divider"})
        body += [
            {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
            for chunk in _chunks(group, SECTION_CHARS)
        ]
        lines += ["", *group]
    if not digest.branches:
        note = "No members have been imported yet."
        body.append({"type": "section", "text": {"type": "mrkdwn", "text": note}})
        lines.append(note)
    return "\n".join(lines), body


def _summary(digest: Digest) -> list[str]:
    total = digest.total
    needed = max(0, math.ceil(digest.threshold * total.members - 1e-9) - total.voted)
    gap = f"{needed:,} more {'vote' if needed == 1 else 'votes'} needed" if needed else "reached"
    return [
        f"*Confirmed turnout:* {total.voted:,} of {total.members:,} members "
        f"({percent(total.turnout, 1)}) against the {digest.threshold:.0%} threshold: {gap}",
        _time_left(digest),
        f"*Texts:* {total.texts_sent:,} sent · {total.delivered:,} delivered · "
        f"{total.failed:,} failed",
        f"*Replies:* {total.replies:,} from {total.replied:,} members · "
        f"{total.response_rate:.0%} response rate ({total.texted:,} members texted)",
        f"*Opt-outs:* {total.opted_out:,}",
        f"*Replacement ballots:* {digest.replacements_open:,} open · "
        f"{digest.replacements_processed:,} processed",
    ]


def _time_left(digest: Digest) -> str:
    closes = digest.ballot_closes.astimezone(ZoneInfo(digest.timezone))
    when = f"{_day(closes.date())} at {closes:%H:%M}"
    if digest.closed:
        return f"*The ballot has closed* ({when})."
    if digest.days_left <= 0:
        return f"*The ballot closes today* at {closes:%H:%M}."
    days = "1 day" if digest.days_left == 1 else f"{digest.days_left} days"
    return f"*{days} left:* the ballot closes {when}."


def _branch_line(name: str, c: Counts) -> str:
    label = escape_for_slack(name) if name else "(no branch)"
    return (
        f"• *{label}*: {percent(c.turnout)} ({c.voted:,}/{c.members:,}) · "
        f"{c.texts_sent:,} texts · {c.response_rate:.0%} responded · {c.opted_out:,} opted out"
    )


def percent(rate: float, digits: int = 0) -> str:
    """`rate` as a percentage rounded down, so 49.7% never reads as the 50% it falls short of."""
    scale = 10**digits
    return f"{math.floor(rate * 100 * scale + 1e-9) / scale:.{digits}f}%"


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Lines joined into texts of at most `limit` characters (a longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in (_clip(line, limit) for line in lines):
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _branches(n: int) -> str:
    return "1 branch" if n == 1 else f"{n} branches"


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def chart_rows(digest: Digest) -> list[tuple[str, float]]:
    return [(name or "(no branch)", counts.turnout) for name, counts in digest.ranked()]


# -- the delivery ------------------------------------------------------------------


async def deliver(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """Kind.DIGEST: post the digest to the support channel, then upload its chart."""
    support = out.rt.settings.support_channel_id
    if not support:
        raise GaveUp("SUPPORT_CHANNEL_ID is not set, so the daily digest has nowhere to go")
    digest = Digest.from_payload(delivery.payload)
    text, body = render(digest)
    await out.post_once(delivery, f"digest:{delivery.id}", channel=support, text=text, blocks=body)
    if delivery.payload.get("chart_file") or not digest.branches:
        return  # uploaded on an earlier attempt, or nothing to draw
    # matplotlib takes a while to import; only the digest needs it.
    from bot.sweeps.digest_chart import render_chart

    title = f"{digest.campaign}: confirmed turnout per branch, {_day(digest.day)}"
    png = await asyncio.to_thread(render_chart, chart_rows(digest), digest.threshold, title)
    response = await out.call(
        "files.upload_v2",
        channel=support,
        content=png,
        filename=f"turnout-{digest.slug}-{digest.day.isoformat()}.png",
        title=title,
        alt_txt=f"Bar chart of confirmed turnout per branch against the "
        f"{digest.threshold:.0%} threshold, lowest first",
        initial_comment=f"Turnout per branch, {_day(digest.day)} "
        f"(dashed line: the {digest.threshold:.0%} threshold)",
    )
    uploaded = (response.get("files") or [{}])[0]
    async with out.rt.db.transaction() as session:
        await stored.mark_chart_uploaded(session, delivery.id, str(uploaded.get("id") or "?"))
