"""Slack outbox claims: a copy that outlived its lease cannot overwrite the worker
that took the delivery over, and an outcome that cannot be saved does not hold
up its conversation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge.slack_outbox import SlackOutbox
from bot.fakes.world import World
from storage import outbox
from storage.models import SlackDelivery
from tests.helpers import owned_conversation, rows


async def test_a_stale_claim_cannot_record_an_outcome(world: World) -> None:
    now = world.now()
    lease = timedelta(seconds=30)
    async with world.rt.db.transaction() as session:
        await outbox.enqueue(session, "dm", now=now, payload={"user": "U1", "text": "hi"})
    async with world.rt.db.transaction() as session:
        [first] = await outbox.claim(session, now, lease, 10)
    later = now + timedelta(seconds=31)  # the first worker went quiet; another takes it
    async with world.rt.db.transaction() as session:
        [second] = await outbox.claim(session, later, lease, 10)
    assert second.attempts == 2

    def outcome(claimed: object, status: str) -> dict[str, object]:
        return {
            "row_id": first.id,
            "claimed": claimed,
            "status": status,
            "last_error": None,
            "result_channel": None,
            "result_ts": None,
            "not_before": None,
            "done_at": later,
        }

    async with world.rt.db.transaction() as session:
        await outbox.finish(session, [outcome(first.claimed_at, "failed")])
    [row] = await rows(world, SlackDelivery)
    assert row.status == "sending"  # the stale copy changed nothing
    async with world.rt.db.transaction() as session:
        await outbox.finish(session, [outcome(second.claimed_at, "done")])
    [row] = await rows(world, SlackDelivery)
    assert row.status == "done"


async def test_an_outcome_that_cannot_be_saved_fails_and_frees_the_conversation(
    world: World,
) -> None:
    conversation_id = await owned_conversation(world)

    async def broken(out: SlackOutbox, delivery: SlackDelivery) -> None:
        async def effect(session: AsyncSession) -> None:
            raise RuntimeError("cannot save")

        out.when_done(delivery, effect)

    world.service.slack_outbox.deliveries.add("test_broken", broken)  # type: ignore[arg-type]
    async with world.rt.db.transaction() as session:
        await outbox.enqueue(
            session, "test_broken", now=world.now(), conversation_id=conversation_id
        )
        await outbox.enqueue(session, "card", now=world.now(), conversation_id=conversation_id)
    await world.drain()
    broken_row, card = sorted(await rows(world, SlackDelivery), key=lambda d: d.id)
    assert broken_row.status == "failed"
    assert "could not be saved" in (broken_row.last_error or "")
    assert card.status == "done"
