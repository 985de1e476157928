"""A national campaign's worth of rows: `/turnout export` streams 100,000 of them."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import JSON, func, insert, literal, select

from bot.fakes.world import ADMIN, World
from storage.models import Campaign, Conversation, Member, ReplacementRequest
from storage.types import UTCDateTime
from tests.exports.helpers import audits, export_world
from tests.helpers import ALICE, T0, command

ROWS = 100_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_100000_row_export_streams_in_modest_memory(
    database_url: str, tmp_path: Path
) -> None:
    async with export_world(database_url, tmp_path) as w:
        _accept_large_uploads(w)
        await _bulk_requests(w, ROWS)
        tracemalloc.start()
        try:
            # Traced allocation is slow: give the outbox more than the usual 30 s to drain.
            reply = await command(w, ADMIN, "export replacements", drain_timeout=120)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert "Preparing" in reply
        assert len(w.slack.uploads) == 1
        content = w.slack.uploads[0]["content"]
        assert content.count(b"\r\n") == ROWS + 1  # csv ends each row with CRLF
        # The rows stream; the file itself is held whole by slack_sdk's files_upload_v2
        # and by the fake receiving it, which is most of this peak (~13 MB of CSV).
        assert peak < 50 * 1024 * 1024, f"traced peak {peak / 2**20:.0f} MB"
        [entry] = await audits(w, "export")
        assert entry.detail["rows"] == ROWS


def _accept_large_uploads(world: World) -> None:
    """Let the fake take a file of many megabytes, as Slack does (up to 1 GB).

    aiohttp refuses request bodies over 1 MB unless told otherwise, and the
    fake's application keeps that default.
    """
    runner = world.slack._runner
    assert runner is not None
    runner.app._client_max_size = 1024**3


async def _bulk_requests(world: World, count: int) -> None:
    """``count`` members, each with a conversation and a replacement request.

    Generated inside SQLite (INSERT ... SELECT over a counting CTE): row-by-row
    executemany of 300,000 rows would take most of the test's time budget.
    """
    numbers = select(literal(1).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < count))
    at = literal(T0, UTCDateTime())
    async with world.rt.db.engine.begin() as conn:
        campaign_id = (await conn.execute(select(Campaign.id))).scalar_one()
        await conn.execute(
            insert(Member).from_select(
                [
                    "campaign_id",
                    "phone",
                    "first_name",
                    "last_name",
                    "branch",
                    "membership_no",
                    "fields",
                    "created_at",
                    "updated_at",
                ],
                select(
                    literal(campaign_id),
                    func.printf("+4474%08d", numbers.c.n),
                    literal("Member"),
                    func.printf("Number %d", numbers.c.n),
                    literal("Bulk"),
                    func.printf("B%d", numbers.c.n),
                    literal({}, JSON()),
                    at,
                    at,
                ),
            )
        )
        await conn.execute(
            insert(Conversation).from_select(
                [
                    "phone",
                    "campaign_id",
                    "member_id",
                    "owner_id",
                    "state",
                    "created_at",
                    "updated_at",
                ],
                select(
                    Member.phone,
                    Member.campaign_id,
                    Member.id,
                    literal(ALICE),
                    literal("open"),
                    at,
                    at,
                ).where(Member.branch == "Bulk"),
            )
        )
        await conn.execute(
            insert(ReplacementRequest).from_select(
                [
                    "campaign_id",
                    "conversation_id",
                    "member_id",
                    "address_confirmed",
                    "new_address",
                    "notes",
                    "requested_by",
                    "created_at",
                ],
                select(
                    Conversation.campaign_id,
                    Conversation.id,
                    Conversation.member_id,
                    literal(False),
                    literal("1 Long Road, Leeds LS1 1AA"),
                    literal("Lost in the post"),
                    literal(ALICE),
                    at,
                ).order_by(Conversation.id),
            )
        )
