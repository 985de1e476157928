"""The Slack app manifest installs the whole app, with no more access than it uses."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = REPO_ROOT / "app-manifest.yml"

# Every bot scope Turnout uses, and nothing else. Adding one is a decision
# about members' data: make it here, on purpose.
ALLOWED_BOT_SCOPES = frozenset(
    {
        "chat:write",
        "im:write",
        "im:history",
        "channels:history",
        "groups:history",
        "commands",
        "users:read",
        "reactions:write",
        "files:read",
        "files:write",
    }
)

# The scope each subscribed bot event needs before Slack will deliver it.
EVENT_SCOPES: dict[str, str | None] = {
    "app_home_opened": None,
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
}


def _shared_dir() -> Path:
    configured = os.environ.get("TURNOUT_SHARED_DIR")
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    path = _shared_dir() / "schemas" / "slack-manifest" / "manifest.schema.1.0.0.json"
    if not path.is_file():
        pytest.skip(
            f"Slack manifest schema not found at {path}; "
            "set TURNOUT_SHARED_DIR to the shared folder that holds schemas/"
        )
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _bot_scopes(manifest: dict[str, Any]) -> list[str]:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert isinstance(scopes, list)
    return scopes


def _bot_events(manifest: dict[str, Any]) -> list[str]:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert isinstance(events, list)
    return events


def test_manifest_is_valid_against_slack_schema(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_manifest_is_major_version_1(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"] == {"major_version": 1, "minor_version": 1}


def test_turnout_slash_command_exists(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert "/turnout" in commands
    # Escaping turns @mentions into <@U123|name>, so commands name users by id.
    assert commands["/turnout"]["should_escape"] is True
    assert "commands" in _bot_scopes(manifest)


def test_every_bot_event_has_its_scope(manifest: dict[str, Any]) -> None:
    scopes = set(_bot_scopes(manifest))
    for event in _bot_events(manifest):
        assert event in EVENT_SCOPES, f"no known scope rule for event {event!r}"
        needed = EVENT_SCOPES[event]
        assert needed is None or needed in scopes, f"{event} needs {needed}"


def test_events_cover_dm_replies_and_support_channel(manifest: dict[str, Any]) -> None:
    assert set(_bot_events(manifest)) == set(EVENT_SCOPES)


def test_no_scope_beyond_what_turnout_uses(manifest: dict[str, Any]) -> None:
    scopes = _bot_scopes(manifest)
    assert len(scopes) == len(set(scopes)), "a scope is listed twice"
    assert set(scopes) <= ALLOWED_BOT_SCOPES, set(scopes) - ALLOWED_BOT_SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"], "Turnout needs no user token"


def test_every_request_url_is_the_bolt_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    for url in urls:
        assert url.startswith("https://"), url
        assert url.endswith("/slack/events"), url


def test_app_home_and_settings(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert manifest["features"]["bot_user"] == {"display_name": "turnout", "always_online": True}
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False
