"""The service as an operator meets it: settings, migrations, health, the CLI."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.app import Service, make_runtime
from bot.config import ConfigError, Settings
from bot.fakes.world import World
from storage.db import NotMigrated
from tests.helpers import Turnout


async def test_healthz_answers_when_the_database_does(world: World) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(world.service.url + "/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"ok": True}


async def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",
        slack_bot_token="xoxb-1-test",
        slack_signing_secret="s3cret",
        sms_backend="sandbox",
    )
    service = Service(make_runtime(settings))
    with pytest.raises(NotMigrated, match="turnout migrate"):
        await service.start()
    await service.stop()


def test_missing_and_placeholder_settings_are_each_named() -> None:
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-your-token",
        twilio_account_sid="AC123",
        twilio_auth_token="changeme",
    )
    with pytest.raises(ConfigError) as caught:
        settings.check_for_serve()
    message = str(caught.value)
    for name in (
        "SLACK_SIGNING_SECRET is missing",
        "PUBLIC_BASE_URL is missing",
        "SUPPORT_CHANNEL_ID is missing",
    ):
        assert name in message
    assert "SLACK_BOT_TOKEN is a placeholder" in message
    assert "TWILIO_AUTH_TOKEN is a placeholder" in message
    assert "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER" in message


def test_complete_settings_pass() -> None:
    Settings(
        _env_file=None,
        slack_bot_token="xoxb-1-real",
        slack_signing_secret="a1b2c3",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="f00dfeed",
        twilio_messaging_service_sid="MG" + "2" * 32,
        public_base_url="https://turnout.union.example",
        support_channel_id="C123",
    ).check_for_serve()


def test_sandbox_backend_needs_no_twilio_credentials() -> None:
    Settings(
        _env_file=None,
        sms_backend="sandbox",
        slack_bot_token="xoxb-1-real",
        slack_signing_secret="a1b2c3",
        public_base_url="https://turnout.union.example",
        support_channel_id="C123",
    ).check_for_serve()


def test_cli_serve_names_what_is_missing_and_exits_2(turnout: Turnout) -> None:
    result = turnout("serve")
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_migrate_then_serve_checks_pass_the_schema(turnout: Turnout) -> None:
    migrated = turnout("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    again = turnout("migrate")
    assert again.returncode == 0


def test_cli_help_lists_the_commands(turnout: Turnout) -> None:
    result = turnout("--help")
    assert result.returncode == 0
    for command in ("serve", "migrate", "demo"):
        assert command in result.stdout
