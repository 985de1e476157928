"""Socket Mode: the WebSocket an app opens to Slack instead of exposing a Request URL.

Slack's protocol, which the real ``slack_sdk`` SocketModeClient (under Bolt's
``AsyncSocketModeHandler``) runs against the fake unmodified:

1. ``apps.connections.open`` with the app-level token (``xapp-...``) as the bearer token
   answers a one-time WebSocket URL (a bot token is ``not_allowed_token_type``).
2. The client connects there and Slack sends ``hello``.
3. Slack pushes envelopes, ``events_api``, ``slash_commands`` or ``interactive``, each with an
   ``envelope_id``; the app acknowledges one by sending ``{"envelope_id": ..., "payload": ...}``
   back (``payload`` only when it answers with content, e.g. a command's reply).
4. ``disconnect`` asks the client to fetch a new URL and reconnect, as Slack does every few
   hours. Pings are answered by aiohttp's autoping; the client sends one on connect.

A mixin of FakeSlack, so tests call ``fake.push_event(...)`` next to ``fake.send_event(...)``;
payloads come from the same builders as the signed HTTP requests.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import secrets

from aiohttp import WSCloseCode, WSMsgType, web

from bot.fakes._slack_requests import SlackRequests
from bot.fakes._slack_workspace import APP_ID, JSON, SlackError

CONNECTIONS_OPEN = "apps.connections.open"
DEFAULT_APP_TOKEN = "xapp-fake-app-token"
# How long a socket's close handshake may take before stop() drops it.
_CLOSE_TIMEOUT = 1.0


class SlackSocket(SlackRequests):
    """The Slack side of Socket Mode connections; state set up by ``_init_socket``."""

    app_token: str
    bot_token: str
    socket_acks: list[JSON]
    socket_connections: int

    def _init_socket(self, app_token: str) -> None:
        self.app_token = app_token
        self.socket_acks = []  # every ack received, in order
        self.socket_connections = 0  # connections ever greeted with hello
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._pending: dict[str, tuple[web.WebSocketResponse, asyncio.Future[JSON]]] = {}
        self._socket_change = asyncio.Condition()

    # -- connection state ----------------------------------------------------------------

    @property
    def socket_connected(self) -> bool:
        """Whether a Socket Mode client is connected now."""
        return any(not ws.closed for ws in self._sockets)

    async def wait_for_socket(self, timeout: float = 5.0, *, connections: int = 1) -> None:
        """Wait until a client is connected and ``connections`` have been opened in all
        (pass ``socket_connections + 1`` to wait for a reconnection)."""

        def ready() -> bool:
            return self.socket_connected and self.socket_connections >= connections

        async with asyncio.timeout(timeout), self._socket_change:
            await self._socket_change.wait_for(ready)

    # -- what Slack pushes ---------------------------------------------------------------

    async def push_event(
        self,
        event: JSON,
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> JSON:
        """Push ``event`` in an ``events_api`` envelope (the ``event_callback`` that
        ``send_event`` posts) and return the client's ack. A Slack retry is a new envelope
        with the same ``event_id`` and ``retry_attempt`` >= 1."""
        return await self._push(
            "events_api",
            self._event_callback(event, event_id),
            accepts_response_payload=False,
            timeout=timeout,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    async def push_command(
        self,
        *,
        user_id: str,
        text: str = "",
        command: str = "/turnout",
        channel_id: str | None = None,
        trigger_id: str | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Invoke a slash command over the socket; the ack's ``payload`` is the reply."""
        form = self._command_form(user_id, text, command, channel_id, trigger_id)
        return await self._push(
            "slash_commands", dict(form), accepts_response_payload=True, timeout=timeout
        )

    async def push_block_action(
        self,
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
        timeout: float = 5.0,
    ) -> JSON:
        """Click an element as ``send_block_action`` does, in an ``interactive`` envelope."""
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
        return await self._push(
            "interactive", payload, accepts_response_payload=False, timeout=timeout
        )

    async def disconnect_socket(self, reason: str = "refresh_requested") -> None:
        """Tell the connected client to reconnect, as Slack does before retiring a socket."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
        await self._live_socket().send_json(message)

    # -- internals -----------------------------------------------------------------------

    def _live_socket(self) -> web.WebSocketResponse:
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            raise RuntimeError("no Socket Mode client is connected (see wait_for_socket)")
        return live[-1]

    async def _push(
        self,
        kind: str,
        payload: JSON,
        *,
        accepts_response_payload: bool,
        timeout: float,
        **extra: object,
    ) -> JSON:
        ws = self._live_socket()
        envelope_id = secrets.token_hex(16)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            **extra,
        }
        ack: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = (ws, ack)
        try:
            await ws.send_json(envelope)
            async with asyncio.timeout(timeout):
                return await ack
        except TimeoutError:
            raise TimeoutError(f"no ack for {kind} envelope in {timeout}s") from None
        finally:
            self._pending.pop(envelope_id, None)

    def _open_connection(self, token: str) -> JSON:
        """``apps.connections.open``: a one-time URL for a client with the app token."""
        if token == self.bot_token or token.startswith(("xoxb-", "xoxp-")):
            raise SlackError("not_allowed_token_type")
        if not hmac.compare_digest(token.encode(), self.app_token.encode()):
            raise SlackError("invalid_auth")
        ticket = secrets.token_hex(12)
        self._tickets.add(ticket)
        base = self.workspace.base_url.replace("http://", "ws://", 1)
        return {"url": f"{base}/socket/{ticket}"}

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.match_info["ticket"]
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(timeout=_CLOSE_TIMEOUT)
        await ws.prepare(request)
        self._sockets.append(ws)
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": sum(not s.closed for s in self._sockets),
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
            self.socket_connections += 1
            await self._notify_socket_change()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(message.data)
        finally:
            self._sockets.remove(ws)
            for envelope_id, (sent_on, ack) in list(self._pending.items()):
                if sent_on is ws and not ack.done():
                    ack.set_exception(ConnectionResetError(f"socket closed before {envelope_id}"))
            await self._notify_socket_change()
        return ws

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            return
        self.socket_acks.append(copy.deepcopy(message))
        pending = self._pending.get(message["envelope_id"])
        if pending is not None and not pending[1].done():
            pending[1].set_result(message)

    async def _notify_socket_change(self) -> None:
        async with self._socket_change:
            self._socket_change.notify_all()

    async def _close_sockets(self) -> None:
        """Close every connection with "going away"; bounded by the close timeout."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
