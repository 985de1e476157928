"""What the reply-burst and Send next benchmarks stand on.

A campaign seeded straight into a fresh database (members, activists who
have agreed to the terms, conversations, and with `threads` each member's card
already in its owner's DM), and the real `turnout serve` behind fake Slack and
Twilio in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench
from bench import PUBLIC, SENDER, TOKEN, cpu_of, free_port, wait_up
from sqlalchemy import insert, select, update

SIGNING_SECRET = "bench-signing-secret"
# Slack holds chat.postMessage to about one a second per channel, short bursts
# allowed; the fake holds it to this, and Turnout paces itself to 1/s, 3 at once.
SLACK_RATE, SLACK_BURST = 1.0, 4
CAMPAIGN = """\
slug: bench
name: Benchmark ballot
timezone: Europe/London
texting_hours: {start: "00:00", end: "23:59"}
ballot_closes: 2099-12-31T12:00:00+00:00
turnout_threshold: 0.5
data_protection: Keep members' data safe.
initial: Hi {first_name}, have you posted your ballot yet?
outcomes:
  - {key: voted, label: Voted}
"""


@dataclass
class Seeded:
    activists: list[str]
    channels: dict[str, str]  # activist -> DM channel
    phones: list[str]
    owner_of: dict[str, str]  # phone -> activist
    thread_of: dict[str, str]  # phone -> thread ts


async def _prepare(url: str, env: dict[str, str], tmp: Path) -> None:
    turnout_bin = str(Path(sys.executable).with_name("turnout"))
    campaign = tmp / "bench-campaign.yml"
    campaign.write_text(CAMPAIGN)
    for args in (["migrate"], ["campaign", "load", str(campaign)]):
        subprocess.run(
            [turnout_bin, *args], env=env, cwd=bench.ROOT, check=True, capture_output=True
        )


async def seed(
    url: str, slack: Any, members: int, activists: int, *, threads: bool, assigned: bool = True
) -> Seeded:
    """`members` members shared among `activists` (round robin), each activist agreed;
    with `threads`, every conversation's card already posted in its owner's DM."""
    from storage.db import Database
    from storage.models import (
        Agreement,
        Campaign,
        Conversation,
        ConversationThread,
        Member,
        SlackUser,
    )

    now = datetime.now(UTC)
    users = [f"U0B{n:05d}" for n in range(activists)]
    ws = slack.workspace
    channels = {user: ws.dm_channel(user) for user in users}
    phones = [f"+44740{n:07d}" for n in range(members)]
    owner_of = {phone: users[n % activists] for n, phone in enumerate(phones)}
    thread_of: dict[str, str] = {}
    if threads:
        for phone in phones:
            card = ws.store(
                channels[owner_of[phone]],
                text=f"card for {phone}",
                user=ws.bot_user_id,
                bot_id=ws.bot_id,
                thread_ts=None,
                blocks=None,
                metadata=None,
            )
            thread_of[phone] = card["ts"]
    db = Database(url)
    try:
        async with db.transaction() as session:
            campaign_id = (await session.execute(select(Campaign.id))).scalar_one()
            # As `/turnout campaign start bench` leaves it.
            await session.execute(update(Campaign).values(state="active"))
            await session.execute(
                insert(SlackUser),
                [
                    {"user_id": u, "dm_channel_id": channels[u], "first_name": u, "updated_at": now}
                    for u in users
                ],
            )
            await session.execute(
                insert(Agreement),
                [{"user_id": u, "campaign_id": campaign_id, "agreed_at": now} for u in users],
            )
            for start in range(0, members, 2000):
                chunk = phones[start : start + 2000]
                ids = await session.execute(
                    insert(Member).returning(Member.id, Member.phone),
                    [
                        {
                            "campaign_id": campaign_id,
                            "phone": phone,
                            "first_name": f"M{start + i}",
                            "branch": "Leeds",
                            "fields": {},
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i, phone in enumerate(chunk)
                    ],
                )
                member_ids = dict((phone, mid) for mid, phone in ids.all())
                rows = []
                for phone in chunk:
                    owner = owner_of[phone] if assigned else None
                    row: dict[str, Any] = {
                        "phone": phone,
                        "campaign_id": campaign_id,
                        "member_id": member_ids[phone],
                        "owner_id": owner,
                        "state": "open",
                        "assigned_at": now if owner else None,
                        "created_at": now,
                        "updated_at": now,
                    }
                    if threads:
                        row.update(
                            dm_channel=channels[owner_of[phone]],
                            thread_ts=thread_of[phone],
                            thread_owner_id=owner_of[phone],
                            initial_sent_at=now,
                        )
                    rows.append(row)
                made = await session.execute(
                    insert(Conversation).returning(Conversation.id, Conversation.phone), rows
                )
                if threads:
                    await session.execute(
                        insert(ConversationThread),
                        [
                            {
                                "conversation_id": cid,
                                "channel": channels[owner_of[phone]],
                                "thread_ts": thread_of[phone],
                                "user_id": owner_of[phone],
                                "kind": "dm",
                                "created_at": now,
                            }
                            for cid, phone in made.all()
                        ],
                    )
    finally:
        await db.dispose()
    return Seeded(users, channels, phones, owner_of, thread_of)


class Stack:
    """Fake Slack and Twilio in this process, `turnout serve` processes on `url`."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []

    async def __aenter__(self) -> Stack:
        from bot.fakes.slack import FakeSlack
        from bot.fakes.twilio import FakeTwilio

        self.slack = FakeSlack(signing_secret=SIGNING_SECRET)
        self.twilio = FakeTwilio(auth_token=TOKEN)
        await self.slack.start()
        await self.twilio.start()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": SENDER,
            "TWILIO_API_URL": self.twilio.api_url,
            "PUBLIC_BASE_URL": PUBLIC,
            "SUPPORT_CHANNEL_ID": "C0SUPPORT",
            "HOST": "127.0.0.1",
        }
        await _prepare(self.url, self.env, self.tmp)
        return self

    async def serve(self, count: int = 1, *, sms_rate: float = 10.0) -> None:
        turnout_bin = str(Path(sys.executable).with_name("turnout"))
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen(
                [*self.profiled(), turnout_bin, "serve", "--sms-rate", str(sms_rate)],
                env={**self.env, "PORT": str(port)},
                cwd=bench.ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.procs.append(proc)
            self.ports.append(port)
        for proc, port in zip(self.procs, self.ports, strict=True):
            await wait_up(f"http://127.0.0.1:{port}/healthz", proc)

    def profiled(self) -> list[str]:
        """With BENCH_PROFILE=FILE, run the (first) server under cProfile, writing FILE."""
        target = os.environ.get("BENCH_PROFILE")
        if not target or self.procs:
            return []
        return [sys.executable, "-m", "cProfile", "-o", target]

    def cpu(self) -> float:
        return sum(cpu_of(proc.pid) for proc in self.procs)

    async def __aexit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)  # as Ctrl-C: a profile is written on the way out
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        await self.slack.stop()
        await self.twilio.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
