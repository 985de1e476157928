"""Two `turnout serve` processes on one PostgreSQL database, webhooks spread across
both, one killed with SIGKILL midway: the other finishes, and every member's text
is in its thread once and every activist's reply reached Twilio once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.fakes.world import ADMIN, PUBLIC_BASE_URL, SIGNING_SECRET, SUPPORT_CHANNEL, World
from storage import conversations
from tests.conftest import POSTGRES_URL, SKIP_POSTGRES, _fresh_postgres_database
from tests.helpers import ROOT, add_member, thread_for

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason=SKIP_POSTGRES)

ACTIVISTS = tuple(f"U0ACT{n:02d}" for n in range(8))
PHONES = tuple(f"+447400{300000 + n:06d}" for n in range(24))
ROUNDS = 3
LEASE_SECONDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Instance:
    """One `turnout serve` process of the pair."""

    def __init__(self, world: World, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = world.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TWILIO_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=settings.database_url,
            SLACK_BOT_TOKEN=world.slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=world.slack.api_url,
            TWILIO_ACCOUNT_SID=world.twilio.account_sid,
            TWILIO_AUTH_TOKEN=world.twilio.auth_token,
            TWILIO_FROM_NUMBER=world.twilio.phone_number,
            TWILIO_API_URL=world.twilio.api_url,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            SUPPORT_CHANNEL_ID=SUPPORT_CHANNEL,
            ADMIN_USER_IDS=ADMIN,
            HOST="127.0.0.1",
            PORT=str(self.port),
            OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--sms-rate", "50"],
            cwd=log.parent,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.answered = 0
        self.busy = asyncio.Event()  # set once it has answered a few requests

    async def wait_up(self, http: aiohttp.ClientSession) -> None:
        for _ in range(200):
            assert self.proc.poll() is None, "turnout serve exited at start"
            try:
                async with http.get(self.url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError("turnout serve did not come up")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _tag(kind: str, round_: int, n: int) -> str:
    return f"[{kind}{round_}-{n:02d}]"


async def _seed(world: World) -> list[tuple[str, str]]:
    """24 members, 3 to each of 8 activists, each with a thread that has begun."""
    ids = []
    for n, phone in enumerate(PHONES):
        member = await add_member(world, phone, first=f"M{n:02d}", agreed=ACTIVISTS)
        async with world.rt.db.transaction() as session:
            conversation = await conversations.create(
                session,
                phone=phone,
                now=datetime.now(UTC),
                member=member,
                owner_id=ACTIVISTS[n % len(ACTIVISTS)],
            )
            ids.append(conversation.id)
        status, _ = await world.member_texts(phone, "Hello?")
        assert status == 200
    await world.drain()
    return [await thread_for(world, conversation_id) for conversation_id in ids]


async def test_two_instances_one_killed_midway_deliver_everything_once(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    async with _fresh_postgres_database(POSTGRES_URL) as url:
        world = await World.start(url)
        threads = await _seed(world)
        await world.service.stop()  # from here on, only the two processes work
        first = Instance(world, tmp_path / "first.log")
        second = Instance(world, tmp_path / "second.log")
        world.twilio.app_url = second.url
        try:
            async with aiohttp.ClientSession() as http:
                await first.wait_up(http)
                await second.wait_up(http)
                await _load(world, threads, first, second)
                await _all_delivered(world, threads)
        finally:
            first.stop()
            second.stop()
            await world.twilio.stop()
            await world.slack.stop()
        logs = (tmp_path / "second.log").read_text(errors="replace")
        assert "Traceback" not in logs, logs[-3000:]


async def _load(
    world: World, threads: list[tuple[str, str]], first: Instance, second: Instance
) -> None:
    """Each round: every member texts and every activist answers in the thread, the
    requests alternating between the instances; `first` dies during round 1."""

    async def send(n: int, round_: int, kind: str, target: Instance) -> None:
        phone, (channel, thread_ts) = PHONES[n], threads[n]
        event = world.slack.post_as_user(
            channel, ACTIVISTS[n % len(ACTIVISTS)], _tag("a", round_, n), thread_ts=thread_ts
        )
        event_id = f"Ev{round_}{n:02d}"
        sid = f"SM{round_:02d}{n:030d}"
        # What Twilio and Slack do when a server is gone: try again (here, on the
        # other instance, as a load balancer would), the same MessageSid or event id.
        for attempt, instance in enumerate((target, second, second, second)):
            try:
                if kind == "member":
                    status, _ = await world.twilio.send_inbound(
                        instance.url + "/twilio/inbound",
                        from_=phone,
                        body=f"{_tag('m', round_, n)} member text",
                        message_sid=sid,
                        signed_url=PUBLIC_BASE_URL + "/twilio/inbound",
                    )
                else:
                    status, _ = await world.slack.send_event(
                        instance.url + "/slack/events",
                        event,
                        event_id=event_id,
                        retry_num=attempt or None,
                    )
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
                continue
            if status == 200:
                instance.answered += 1
                if instance.answered >= 8:
                    instance.busy.set()
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{kind} {round_}/{n} was never acknowledged")

    for round_ in range(ROUNDS):
        work = [
            send(n, round_, kind, (first, second)[(n + k) % 2])
            for n in range(len(PHONES))
            for k, kind in enumerate(("member", "activist"))
        ]
        if round_ == 1:
            kill = asyncio.create_task(_kill_when_busy(first))
            await asyncio.gather(*work)
            await kill
        else:
            await asyncio.gather(*work)
        await asyncio.sleep(0.5)
    assert first.proc.returncode == -signal.SIGKILL
    assert first.answered > 0 and second.answered > 0


async def _kill_when_busy(instance: Instance) -> None:
    await instance.busy.wait()
    instance.kill()


async def _all_delivered(world: World, threads: list[tuple[str, str]], timeout: float = 90) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        problems = _problems(world, threads)
        if not problems:
            return
        if loop.time() > deadline:
            raise AssertionError("\n".join(problems[:20]))
        await asyncio.sleep(0.5)


def _problems(world: World, threads: list[tuple[str, str]]) -> list[str]:
    problems = []
    for n, (phone, (channel, thread_ts)) in enumerate(zip(PHONES, threads, strict=True)):
        shown = [world.slack.rendered_text(m) for m in world.slack.thread(channel, thread_ts)]
        seen = [r for text in shown for r in range(ROUNDS) if _tag("m", r, n) in text]
        if seen != list(range(ROUNDS)):
            problems.append(f"{phone}: member texts shown as rounds {seen}")
        sent = [m["body"] for m in world.twilio.sent_to(phone)]
        expected = [_tag("a", r, n) for r in range(ROUNDS)]
        if sent != expected:
            problems.append(f"{phone}: Twilio got {sent}, not {expected}")
    return problems
