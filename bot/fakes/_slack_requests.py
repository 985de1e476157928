"""Requests Slack makes to the app: events, slash commands and interactions, signed with v0.

A mixin of FakeSlack so that tests call ``fake.send_event(...)`` directly; the payloads are
shaped like what Slack posts so that Bolt's routing (event type, command, action_id,
callback_id, retry headers, signature check) runs unmodified against them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from bot.fakes._slack_workspace import APP_ID, JSON, Workspace

FORM = "application/x-www-form-urlencoded"


@dataclass
class ResponseTarget:
    """What a response_url was issued for, so posts to it act like Slack's."""

    user: str
    channel: str | None
    message_ts: str | None = None


class SlackRequests:
    """Builds, signs and sends Slack's requests to the app under test."""

    signing_secret: str
    verification_token: str
    workspace: Workspace
    response_targets: dict[str, ResponseTarget]
    _session: aiohttp.ClientSession | None

    async def send_event(
        self,
        url: str,
        event: JSON,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        signing_secret: str | None = None,
    ) -> tuple[int, str]:
        """Deliver ``event`` in an ``event_callback`` envelope; set ``retry_num`` to replay it
        as Slack does when the app was slow (same ``event_id``, retry headers added)."""
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(self._event_callback(event, event_id))
        return await self._post_signed(url, body, "application/json", signing_secret, headers)

    async def send_command(
        self,
        url: str,
        *,
        user_id: str,
        text: str = "",
        command: str = "/turnout",
        channel_id: str | None = None,
        trigger_id: str | None = None,
        signing_secret: str | None = None,
    ) -> tuple[int, str]:
        """Invoke a slash command as ``user_id``; ``respond()`` posts land in ``responses``."""
        form = self._command_form(user_id, text, command, channel_id, trigger_id)
        return await self._post_signed(url, urlencode(form), FORM, signing_secret, {})

    async def send_block_action(
        self,
        url: str,
        *,
        user_id: str,
        action_id: str,
        value: str = "",
        block_id: str = "b",
        channel_id: str | None = None,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        trigger_id: str | None = None,
        view: JSON | None = None,
        action_type: str = "button",
        signing_secret: str | None = None,
    ) -> tuple[int, str]:
        """Click an element on a stored message (``channel_id`` + ``message_ts``) or in a
        ``view``. Select-type actions carry ``value`` as their ``selected_option``."""
        payload = self._block_actions(
            user_id=user_id,
            action_id=action_id,
            value=value,
            block_id=block_id,
            channel_id=channel_id,
            message_ts=message_ts,
            thread_ts=thread_ts,
            trigger_id=trigger_id,
            view=view,
            action_type=action_type,
        )
        return await self._post_interactive(url, payload, signing_secret)

    async def send_view_submission(
        self,
        url: str,
        *,
        user_id: str,
        callback_id: str,
        values: JSON,
        private_metadata: str = "",
        view_id: str | None = None,
        signing_secret: str | None = None,
    ) -> tuple[int, str]:
        """Submit a modal. ``values`` is Slack's ``state.values``; a bare string in place of
        an element's state is wrapped as a plain_text_input value for convenience."""
        ws = self.workspace
        state = {
            block: {
                action: v if isinstance(v, dict) else {"type": "plain_text_input", "value": v}
                for action, v in actions.items()
            }
            for block, actions in values.items()
        }
        view = copy.deepcopy(ws.modals.get(view_id or "")) or {"id": view_id or ws.new_id("V")}
        view.update(
            type="modal",
            callback_id=callback_id,
            private_metadata=private_metadata,
            state={"values": state},
            team_id=ws.team_id,
        )
        payload = {
            "type": "view_submission",
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "user": self._user_ref(user_id),
            "api_app_id": APP_ID,
            "token": self.verification_token,
            "trigger_id": ws.issue_trigger(),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return await self._post_interactive(url, payload, signing_secret)

    # -- payloads, shared by HTTP delivery and Socket Mode -------------------------------

    def _event_callback(self, event: JSON, event_id: str | None) -> JSON:
        ws = self.workspace
        return {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "context_team_id": ws.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def _command_form(
        self,
        user_id: str,
        text: str,
        command: str,
        channel_id: str | None,
        trigger_id: str | None,
    ) -> dict[str, str]:
        ws = self.workspace
        channel = channel_id or ws.dm_channel(user_id)
        return {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else channel.lower(),
            "user_id": user_id,
            "user_name": ws.user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._issue_response_url(ResponseTarget(user_id, channel)),
            "trigger_id": ws.issue_trigger(trigger_id),
        }

    def _block_actions(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str,
        block_id: str,
        channel_id: str | None,
        message_ts: str | None,
        thread_ts: str | None,
        trigger_id: str | None,
        view: JSON | None,
        action_type: str,
    ) -> JSON:
        ws = self.workspace
        action: JSON = {"action_id": action_id, "block_id": block_id, "type": action_type}
        action["action_ts"] = ws.next_ts()
        if action_type in ("static_select", "overflow", "radio_buttons"):
            text = {"type": "plain_text", "text": value}
            action["selected_option"] = {"text": text, "value": value}
        else:
            action["value"] = value
        payload: JSON = {
            "type": "block_actions",
            "user": self._user_ref(user_id),
            "api_app_id": APP_ID,
            "token": self.verification_token,
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "trigger_id": ws.issue_trigger(trigger_id),
            "is_enterprise_install": False,
            "actions": [action],
            "state": {"values": {}},
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
            target = ResponseTarget(user_id, channel_id, message_ts)
            payload["response_url"] = self._issue_response_url(target)
        if channel_id is not None and message_ts is not None:
            payload["message"] = ws.wire(ws.find(channel_id, message_ts), include_metadata=True)
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
                **({"thread_ts": thread_ts} if thread_ts else {}),
            }
        return payload

    # -- internals -----------------------------------------------------------------------

    def _user_ref(self, user_id: str) -> JSON:
        name = self.workspace.user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.workspace.team_id}

    def _issue_response_url(self, target: ResponseTarget) -> str:
        rid = secrets.token_hex(8)
        self.response_targets[rid] = target
        return f"{self.workspace.base_url}/response_url/{rid}"

    async def _post_interactive(
        self, url: str, payload: JSON, signing_secret: str | None
    ) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self._post_signed(url, body, FORM, signing_secret, {})

    async def _post_signed(
        self,
        url: str,
        body: str,
        content_type: str,
        signing_secret: str | None,
        extra_headers: dict[str, str],
    ) -> tuple[int, str]:
        """Sign with Slack's v0 scheme: HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
        if self._session is None:
            raise RuntimeError("FakeSlack.start() has not been awaited")
        timestamp = str(int(time.time()))
        secret = (signing_secret or self.signing_secret).encode()
        digest = hmac.new(secret, f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest}",
            **extra_headers,
        }
        async with self._session.post(url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()
