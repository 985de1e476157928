"""Simulated phones: an SMS gateway that texts nobody, and members who answer.

`SimulatedPhones` stands where Twilio stands: the SMS outbox hands it a
text, it answers with a message SID, and it queues what the phone will do,
as rows: delivery reports a moment later, and the persona's reply after a
human-like delay. `Simulator` is the worker that plays those rows when
they fall due, through the same doors Twilio knocks on: a reply is
`bridge.inbound.receive_sms`, a report is `bridge.inbound.record_status`.
So threads, suggestions, opt-out, nudges and the digest see a simulated
member exactly as they see a real one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bot.bridge.inbound import receive_sms, record_status
from bot.bridge.sms_gateway import SIMULATED_SID_PREFIX, SendResult, SmsRejected
from bot.bridge.twilio_errors import describe
from bot.phones import is_simulated
from bot.practice.personas import persona_for, reply_delay
from bot.runtime import Clock, Runtime
from bot.workers import Worker
from storage import practice as stored
from storage.db import Database
from storage.messages import STATUS_RANK
from storage.models import SimulatedEvent

log = logging.getLogger(__name__)

# When the delivery reports of a simulated text arrive, after it is taken.
SENT_AFTER = timedelta(seconds=0.5)
DELIVERED_AFTER = timedelta(seconds=1.5)
UNREACHABLE = 30003  # Twilio: unreachable destination handset
_ids = itertools.count(1)


def new_sid(kind: str) -> str:
    """A SID shaped like Twilio's (34 characters) and marked as simulated."""
    return f"{SIMULATED_SID_PREFIX}{kind}{secrets.token_hex(12)}{next(_ids) % 10000:04d}"[:34]


class SimulatedPhones:
    """The SMS gateway of simulated members (`SMS_BACKEND=sandbox`, and practice)."""

    def __init__(self, db: Database, clock: Clock, delays: tuple[float, float]) -> None:
        self.db = db
        self.clock = clock
        self.delays = delays

    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        now = self.clock()
        persona = persona_for(to)
        async with self.db.transaction() as session:
            if await stored.has_texted_stop(session, to):
                # As Twilio does once a number has texted STOP to the sender.
                raise SmsRejected(21610, 400, describe(21610))
            turn = await stored.texts_received(session, to)
            sid = new_sid("M")
            message_id = _message_id(status_callback)
            final, code = ("delivered", None)
            if persona.undeliverable:
                final, code = "undelivered", UNREACHABLE
            rows = [
                SimulatedEvent(kind=stored.TEXT, sid=sid, status="queued", body=body, due_at=now),
                SimulatedEvent(kind=stored.STATUS, sid=sid, status="sent", due_at=now + SENT_AFTER),
                SimulatedEvent(
                    kind=stored.STATUS,
                    sid=sid,
                    status=final,
                    error_code=code,
                    due_at=now + DELIVERED_AFTER,
                ),
            ]
            reply = None if persona.undeliverable else persona.reply(turn, to)
            if reply is not None:
                wait = reply_delay(to, turn, *self.delays)
                rows.append(
                    SimulatedEvent(
                        kind=stored.REPLY,
                        sid=new_sid("S"),
                        body=reply,
                        due_at=now + DELIVERED_AFTER + timedelta(seconds=wait),
                    )
                )
            for row in rows:
                row.phone, row.message_id, row.created_at = to, message_id, now
                row.done_at = now if row.kind == stored.TEXT else None
                await stored.add_event(session, row)
        log.info("simulated phone %s got text %s (%s)", to[-3:], sid, persona.key)
        return SendResult(sid=sid, status="queued")

    async def find_sent(self, *, to: str, body: str, since: datetime) -> list[SendResult]:
        async with self.db.sessions() as session:
            found = await stored.texts_to(session, to, body, since)
        return [SendResult(e.sid, e.status, e.error_code) for e in found]

    async def fetch(self, sid: str) -> SendResult | None:
        async with self.db.sessions() as session:
            found = await stored.text_by_sid(session, sid)
        return None if found is None else SendResult(found.sid, found.status, found.error_code)

    async def close(self) -> None:
        return None


class Simulator(Worker):
    """Plays simulated phones' reports and replies as they fall due."""

    name = "simulated-members"

    def __init__(
        self,
        rt: Runtime,
        *,
        poll_interval: float = 1.0,
        batch: int = 50,
        lease: timedelta = timedelta(minutes=1),
    ) -> None:
        super().__init__(asyncio.Event(), poll_interval=poll_interval)
        self.rt = rt
        self.batch = batch
        self.lease = lease

    async def run_once(self) -> int:
        async with self.rt.db.sessions() as session:
            ids = await stored.due_event_ids(session, self.rt.now(), self.batch)
        played = 0
        for event_id in ids:
            played += await self._play(event_id)
        return played

    async def run_due(self) -> int:
        """Play everything due now (tests and the demo move the clock themselves)."""
        total = 0
        while played := await self.run_once():
            total += played
        return total

    async def seconds_to_next(self) -> float | None:
        async with self.rt.db.sessions() as session:
            due = await stored.next_due(session)
        return None if due is None else max(0.0, (due - self.rt.now()).total_seconds())

    async def _play(self, event_id: int) -> int:
        async with self.rt.db.transaction() as session:
            event = await stored.take_event(session, event_id, self.rt.now(), self.lease)
            if event is None:
                return 0
            kind, phone, sid = event.kind, event.phone, event.sid
            status, code, body, message_id = (
                event.status,
                event.error_code,
                event.body,
                event.message_id,
            )
        # Both calls are idempotent (a SID is stored once, a state only moves on),
        # so playing an event again after a crash here does no harm.
        if kind == stored.STATUS:
            await record_status(
                self.rt, sid=sid, status=status, error_code=code, message_id=message_id
            )
        elif kind == stored.REPLY:
            # A simulated number with no conversation left is a batch that was
            # ended: its member has gone quiet, and must not open a new one.
            await receive_sms(
                self.rt, sid=sid, from_=phone, body=body, known_only=is_simulated(phone)
            )
        async with self.rt.db.transaction() as session:
            row = await session.get(SimulatedEvent, event_id)
            if row is not None:
                row.done_at = self.rt.now()
                if kind == stored.STATUS:
                    text = await stored.text_by_sid(session, sid)
                    if text is not None and STATUS_RANK.get(status, 0) > STATUS_RANK.get(
                        text.status, 0
                    ):
                        text.status, text.error_code = status, code
        return 1


def _message_id(status_callback: str | None) -> int | None:
    """The `m` of our own status callback URL (Twilio would post it back to us)."""
    if not status_callback:
        return None
    values = parse_qs(urlsplit(status_callback).query).get("m") or []
    return int(values[0]) if values and values[0].isdigit() else None
