"""Campaigns in the database: load and reload, the state lifecycle, and `resolve`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.campaigns import lifecycle
from bot.campaigns.lifecycle import CampaignError, CampaignStateError
from storage import campaigns as stored
from storage import events
from storage.db import Database, migrate
from tests.helpers import FIXTURES

EXAMPLE = (FIXTURES / "campaign.yml").read_text(encoding="utf-8")
T0 = datetime(2021, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(migrate, database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


def campaign_file(tmp_path: Path, slug: str = "pay-ballot-2021", **replace: str) -> Path:
    text = EXAMPLE.replace("pay-ballot-2021", slug)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / f"{slug}.yml"
    path.write_text(text, encoding="utf-8")
    return path


async def load(db: Database, tmp_path: Path, slug: str, state: str | None = None) -> None:
    await lifecycle.load_campaign(db, campaign_file(tmp_path, slug), T0)
    path = ["active"] if state == "active" else ["active", state] if state else []
    for step in path:
        await lifecycle.set_state(db, slug, step, T0)


async def test_loading_creates_a_draft_then_updates_it_in_place(
    db: Database, tmp_path: Path
) -> None:
    first = await lifecycle.load_campaign(db, campaign_file(tmp_path), T0)
    assert first.created and first.state == "draft" and first.slug == "pay-ballot-2021"
    assert first.initial == (
        "Hi Samira, it's Alex, a rep at Leeds Central. "
        "Have you posted your ballot in the pay dispute yet?"
    )
    assert first.initial_length == len(first.initial)
    assert first.custom_fields == []

    await lifecycle.set_state(db, "pay-ballot-2021", "active", T0)
    later = T0 + timedelta(hours=1)
    edited = campaign_file(tmp_path, **{"theirs?": "theirs, {department}?"})
    second = await lifecycle.load_campaign(db, edited, later)
    assert not second.created and second.campaign_id == first.campaign_id
    assert second.state == "active"  # reloading a running campaign does not stop it
    assert second.custom_fields == ["department"]

    async with db.transaction() as session:
        [campaign] = await stored.all(session)
        log = await events.audit_since(session, None)
    assert campaign.state == "active"
    assert campaign.created_at == T0 and campaign.updated_at == later
    assert campaign.config["scripts"]["voted"].endswith("theirs, {department}?")
    assert [e.action for e in log] == ["campaign_created", "campaign_state", "campaign_updated"]


async def test_a_closed_campaign_is_not_rewritten(db: Database, tmp_path: Path) -> None:
    await load(db, tmp_path, "pay-ballot-2021", "closed")
    renamed = campaign_file(tmp_path, **{"name: Pay ballot": "name: Reopened"})
    with pytest.raises(CampaignStateError, match="closed, so its file can no longer be changed"):
        await lifecycle.load_campaign(db, renamed, T0)
    async with db.transaction() as session:
        campaign = await stored.get_by_slug(session, "pay-ballot-2021")
    assert campaign is not None and campaign.name.startswith("Pay ballot")


ALLOWED = [
    (["active"], "active"),
    (["active", "paused"], "paused"),
    (["active", "paused", "active"], "active"),
    (["active", "closed"], "closed"),
    (["active", "paused", "closed"], "closed"),
]

# (state the campaign is in, state asked for, the start of the refusal)
REFUSED = [
    (
        "draft",
        "paused",
        "campaign {slug} cannot be paused: it is a draft, and it can only be started",
    ),
    (
        "draft",
        "closed",
        "campaign {slug} cannot be closed: it is a draft, and it can only be started",
    ),
    ("draft", "draft", "campaign {slug} is already a draft"),
    ("active", "active", "campaign {slug} is already active"),
    (
        "active",
        "draft",
        "campaign {slug} cannot be a draft again: it is active, and it can only be",
    ),
    ("paused", "paused", "campaign {slug} is already paused"),
    ("closed", "active", "campaign {slug} cannot be started: it is closed, and a closed campaign"),
    ("closed", "paused", "campaign {slug} cannot be paused: it is closed"),
    ("closed", "closed", "campaign {slug} is already closed"),
    ("draft", "running", "unknown campaign state 'running' (states: draft, active, paused"),
]


async def test_allowed_state_changes(db: Database, tmp_path: Path) -> None:
    for n, (path, final) in enumerate(ALLOWED):
        slug = f"allowed-{n}"
        await lifecycle.load_campaign(db, campaign_file(tmp_path, slug), T0)
        for step in path:
            changed = await lifecycle.set_state(db, slug, step, T0)
        assert changed.state == final
        async with db.transaction() as session:
            campaign = await stored.get_by_slug(session, slug)
        assert campaign is not None and campaign.state == final, path


async def test_refused_state_changes_say_why_and_change_nothing(
    db: Database, tmp_path: Path
) -> None:
    for state in ("draft", "active", "paused", "closed"):
        await load(db, tmp_path, state, None if state == "draft" else state)
    for current, wanted, message in REFUSED:
        with pytest.raises(CampaignStateError) as raised:
            await lifecycle.set_state(db, current, wanted, T0 + timedelta(days=1))
        assert str(raised.value).startswith(message.format(slug=current)), str(raised.value)
    async with db.transaction() as session:
        rows = {c.slug: (c.state, c.updated_at) for c in await stored.all(session)}
    assert rows == {s: (s, T0) for s in ("active", "closed", "draft", "paused")}


async def test_changing_an_unknown_campaign_lists_the_known_ones(
    db: Database, tmp_path: Path
) -> None:
    await load(db, tmp_path, "beta")
    await load(db, tmp_path, "alpha")
    with pytest.raises(CampaignError, match=r"no campaign 'gamma' \(campaigns: alpha, beta\)"):
        await lifecycle.set_state(db, "gamma", "active", T0)


async def test_resolve_uses_the_only_active_campaign_or_asks(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as session:
        with pytest.raises(CampaignError) as none_loaded:
            await lifecycle.resolve(session, None)
        with pytest.raises(CampaignError, match=r"no campaign 'x' \(campaigns: none loaded yet\)"):
            await lifecycle.resolve(session, "x")
    assert str(none_loaded.value) == (
        "no campaign is active: start one with /turnout campaign start SLUG"
    )

    await load(db, tmp_path, "draft-one")
    await load(db, tmp_path, "paused-one", "paused")
    async with db.transaction() as session:
        with pytest.raises(CampaignError, match="no campaign is active"):
            await lifecycle.resolve(session, None)
        named = await lifecycle.resolve(session, "draft-one")  # naming works in any state
    assert named.slug == "draft-one"

    await load(db, tmp_path, "zeta", "active")
    async with db.transaction() as session:
        only = await lifecycle.resolve(session, None)
    assert only.slug == "zeta"

    await load(db, tmp_path, "alpha", "active")
    async with db.transaction() as session:
        with pytest.raises(CampaignError) as several:
            await lifecycle.resolve(session, None)
        chosen = await lifecycle.resolve(session, "zeta")
        with pytest.raises(CampaignError) as unknown:
            await lifecycle.resolve(session, "zet")
    assert str(several.value) == "several campaigns are active (alpha, zeta): add campaign:SLUG"
    assert chosen.slug == "zeta"
    assert str(unknown.value) == "no campaign 'zet' (campaigns: alpha, draft-one, paused-one, zeta)"


async def test_the_stored_spec_is_the_loaded_one(db: Database, tmp_path: Path) -> None:
    result = await lifecycle.load_campaign(db, campaign_file(tmp_path), T0)
    async with db.transaction() as session:
        campaign = await stored.get_by_slug(session, result.slug)
        assert campaign is not None
        assert await stored.get(session, campaign.id) is campaign
        assert [c.slug for c in await stored.active(session)] == []
    assert lifecycle.spec_of(campaign) == result.spec
