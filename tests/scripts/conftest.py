"""The scripts folder's world: Sam's campaign active, assigned to Alice, who has agreed
to the terms and sent Sam the initial text (so Sam's card is in her DM)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import ADMIN, World
from tests.helpers import ALICE, ALICE_USER, campaign_world, click, command, home_button
from tests.scripts.helpers import CAMPAIGN, ROSTER


@pytest.fixture
def campaign() -> str:
    """The campaign file's text; a test module may override it."""
    return CAMPAIGN


@pytest.fixture
async def world(database_url: str, tmp_path: Path, campaign: str) -> AsyncIterator[World]:
    async with campaign_world(
        database_url, tmp_path, campaign, roster=ROSTER, users=[ALICE_USER]
    ) as w:
        await command(w, ADMIN, "assign <@U0ALICE|alice> 1")
        await click(w, ALICE, AGREE_ACTION, str(home_button(w, ALICE, AGREE_ACTION)))
        await click(w, ALICE, SEND_NEXT_ACTION, str(home_button(w, ALICE, SEND_NEXT_ACTION)))
        yield w
