"""A local Slack: the Web API the app calls, and the signed requests Slack sends the app.

The real ``slack_sdk`` ``AsyncWebClient`` (and Bolt on top of it) talks to this server over
HTTP, so tests and the offline demo exercise the same request encoding, error handling and
retry logic as production. It keeps the Slack rules Turnout depends on: unique increasing
``ts`` values, threads, bot-only edits, reaction errors, metadata returned only on request,
429s with ``Retry-After``. Everything it receives is recorded so tests can assert on it.

The workspace state lives in ``_slack_workspace``, the Web API methods in ``_slack_api``,
Slack's requests to the app (events, commands, interactions) in ``_slack_requests``, the
same requests pushed over a Socket Mode WebSocket in ``_slack_socket``, files humans
share (with their token-guarded downloads) in ``_slack_files``, and what a user reads of a
message (mentions and links resolved) in ``_slack_text``.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp
from aiohttp import web

from bot.fakes._slack_api import METHODS
from bot.fakes._slack_files import SlackFiles
from bot.fakes._slack_limits import PostLimit
from bot.fakes._slack_requests import ResponseTarget
from bot.fakes._slack_socket import CONNECTIONS_OPEN, DEFAULT_APP_TOKEN, SlackSocket
from bot.fakes._slack_text import live_tokens, rendered_text
from bot.fakes._slack_workspace import JSON, SlackError, Workspace, flag

__all__ = ["DEFAULT_APP_TOKEN", "FakeSlack", "SlackCall", "live_tokens", "rendered_text"]

T = TypeVar("T")
_Fault = tuple[int, str, int | None]  # HTTP status, Slack error, Retry-After
# Fields Slack accepts as JSON text inside form-encoded bodies.
_JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files")


@dataclass
class SlackCall:
    """One Web API call as the fake received it; ``error`` is what it answered (None if ok)."""

    method: str
    params: JSON
    at: float
    error: str | None = None
    answered: bool = False


@dataclass
class _Pending(Generic[T]):
    """A fault armed for the next ``remaining`` calls of one method."""

    value: T
    remaining: int


def _take(queue: dict[str, list[_Pending[T]]], method: str) -> T | None:
    pending = queue.get(method)
    if not pending:
        return None
    head = pending[0]
    head.remaining -= 1
    if head.remaining <= 0:
        pending.pop(0)
    return head.value


async def _read_params(request: web.Request) -> JSON:
    """Merge query, form and JSON bodies the way Slack does, decoding embedded JSON fields."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in _JSON_FIELDS:
        if isinstance(params.get(name), str):
            try:
                params[name] = json.loads(params[name])
            except ValueError:
                pass
    return params


class FakeSlack(SlackSocket, SlackFiles):
    """An in-process Slack workspace with one bot, served on an ephemeral local port."""

    def __init__(
        self,
        *,
        signing_secret: str,
        bot_token: str = "xoxb-fake-token",  # noqa: S107 - a fake's well-known default
        app_token: str = DEFAULT_APP_TOKEN,
        team_id: str = "T0TURNOUT",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.verification_token = "fake-verification-token"
        self.workspace = Workspace(team_id=team_id, bot_user_id=bot_user_id, bot_id=bot_id)
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.calls: list[SlackCall] = []
        self.responses: list[JSON] = []
        self.response_targets: dict[str, ResponseTarget] = {}
        self._faults: dict[str, list[_Pending[_Fault]]] = {}
        self._post_limit: PostLimit | None = None
        self.posts_refused = 0
        self._delays: dict[str, list[_Pending[float]]] = {}
        self._answered = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._init_socket(app_token)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/{tail:.+}", self._handle_file_download)
        app.router.add_post("/response_url/{rid}", self._handle_response_url)
        app.router.add_get("/socket/{ticket}", self._handle_socket)
        # A short shutdown grace: stop() must not wait on requests held by delay().
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.workspace.base_url = f"http://{bound_host}:{bound_port}"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        await self._close_sockets()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """What ``AsyncWebClient(base_url=...)`` takes, trailing slash included."""
        if not self.workspace.base_url:
            raise RuntimeError("FakeSlack.start() has not been awaited")
        return f"{self.workspace.base_url}/api/"

    # -- fault injection -----------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and store nothing."""
        fault: _Fault = (429, "ratelimited", retry_after)
        self._faults.setdefault(method, []).append(_Pending(fault, times))

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``ok: false`` and store nothing."""
        self._faults.setdefault(method, []).append(_Pending((200, error, None), times))

    def limit_posts(self, per_second: float = 1.0, *, burst: int = 1) -> None:
        """Hold chat.postMessage to ``per_second`` posts in each channel, ``burst`` at once,
        as Slack does: a post over the limit gets HTTP 429 with Retry-After and is not
        stored (counted in ``posts_refused``)."""
        self._post_limit = PostLimit(per_second, burst)

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` slow (then handled normally)."""
        self._delays.setdefault(method, []).append(_Pending(seconds, times))

    # -- inspection (copies, so a test cannot change what the fake holds by accident) ---

    @property
    def uploads(self) -> list[JSON]:
        """Completed file uploads: file_id, filename, title, channel_id, initial_comment,
        thread_ts and the uploaded ``content`` bytes."""
        return self.workspace.uploads

    def calls_to(self, method: str) -> list[JSON]:
        return [call.params for call in self.calls if call.method == method]

    async def wait_for(self, method: str, *, count: int = 1, seconds: float = 5.0) -> list[JSON]:
        """Wait until ``count`` calls of ``method`` have succeeded, and return its calls.

        Bolt acknowledges a request before its listeners run, so a test that sent an event
        must wait for the app's reaction instead of asserting straight away.
        """

        def done() -> bool:
            ok = [c for c in self.calls if c.method == method and c.error is None and c.answered]
            return len(ok) >= count

        async with asyncio.timeout(seconds), self._answered:
            await self._answered.wait_for(done)
        return self.calls_to(method)

    def messages(self, channel: str, *, include_replies: bool = False) -> list[JSON]:
        """The channel as a member sees it, oldest first: top-level messages and thread
        parents; thread replies only with ``include_replies`` (see ``thread``)."""
        stored = self.workspace.channels.get(channel, [])
        if not include_replies:
            stored = [m for m in stored if m["thread_ts"] in (None, m["ts"])]
        return copy.deepcopy(stored)

    def thread(self, channel: str, thread_ts: str) -> list[JSON]:
        """A thread's parent, then its replies, oldest first."""
        stored = self.messages(channel, include_replies=True)
        return [m for m in stored if thread_ts in (m["ts"], m["thread_ts"])]

    def ephemerals(self, user: str | None = None) -> list[JSON]:
        found = [e for e in self.workspace.ephemerals if user is None or e["user"] == user]
        return copy.deepcopy(found)

    def home_view(self, user: str) -> JSON | None:
        return copy.deepcopy(self.workspace.home.get(user))

    def modal(self, view_id: str) -> JSON | None:
        return copy.deepcopy(self.workspace.modals.get(view_id))

    def add_user(
        self,
        user_id: str,
        real_name: str,
        *,
        display_name: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
    ) -> None:
        self.workspace.add_user(
            user_id, real_name, display_name=display_name, is_bot=is_bot, email=email
        )

    def dm_channel(self, user_id: str) -> str:
        return self.workspace.dm_channel(user_id)

    def rendered_text(self, message: JSON) -> str:
        """What a workspace member would read for ``message``, with known users' names."""
        return rendered_text(message, self.workspace.users)

    @staticmethod
    def live_tokens(text: str) -> list[str]:
        return live_tokens(text)

    # -- what humans do in Slack -----------------------------------------------------------

    def post_as_user(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> JSON:
        """Store a human's message and return the ``message`` event Slack would deliver."""
        ws = self.workspace
        try:
            message = ws.store(channel, text=text, user=user, thread_ts=thread_ts)
        except SlackError as exc:
            raise ValueError(f"cannot post in {channel}: {exc.error}") from None
        event = {**self._event_base(channel, message["ts"]), "user": user, "text": text}
        event["client_msg_id"] = ws.new_id("")
        if message["thread_ts"]:
            event["thread_ts"] = message["thread_ts"]
            event["parent_user_id"] = ws.find(channel, message["thread_ts"])["user"]
        return event

    def edit_as_user(self, channel: str, ts: str, new_text: str) -> JSON:
        """Edit a human's message; returns the ``message_changed`` event."""
        ws = self.workspace
        message = ws.find(channel, ts)
        if message["bot_id"]:
            raise ValueError("edit_as_user edits human messages; the bot edits via chat.update")
        previous = ws.wire(message)
        event_ts = ws.next_ts()
        message["text"] = new_text
        message["edited"] = {"user": message["user"], "ts": event_ts}
        return {
            **self._event_base(channel, event_ts),
            "subtype": "message_changed",
            "hidden": True,
            "message": ws.wire(message),
            "previous_message": previous,
        }

    def delete_as_user(self, channel: str, ts: str) -> JSON:
        """Delete a message as its author would; returns the ``message_deleted`` event."""
        ws = self.workspace
        message = ws.find(channel, ts)
        previous = ws.wire(message)
        ws.remove(message)
        return {
            **self._event_base(channel, ws.next_ts()),
            "subtype": "message_deleted",
            "hidden": True,
            "deleted_ts": ts,
            "previous_message": previous,
        }

    def _event_base(self, channel: str, ts: str) -> JSON:
        kind = {"D": "im", "C": "channel", "G": "group"}.get(channel[:1], "channel")
        return {
            "type": "message",
            "channel": channel,
            "channel_type": kind,
            "ts": ts,
            "event_ts": ts,
            "team": self.team_id,
        }

    # -- HTTP handlers -------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        token = token or params.pop("token", None)
        call = SlackCall(method, params, time.time())
        self.calls.append(call)
        try:
            return await self._answer(call, token)
        finally:
            call.answered = True
            async with self._answered:
                self._answered.notify_all()

    async def _answer(self, call: SlackCall, token: object) -> web.Response:
        method, params = call.method, call.params
        delay = _take(self._delays, method)
        if delay:
            await asyncio.sleep(delay)
        fault = _take(self._faults, method)
        if fault is not None:
            status, call.error, retry_after = fault
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            body = {"ok": False, "error": call.error}
            return web.json_response(body, status=status, headers=headers)
        if method == "chat.postMessage" and self._post_limit is not None:
            wait = self._post_limit.wait(str(params.get("channel") or ""))
            if wait > 0:
                self.posts_refused += 1
                call.error = "ratelimited"
                retry = {"Retry-After": str(max(1, round(wait)))}
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers=retry
                )
        try:
            if method not in METHODS and method != CONNECTIONS_OPEN:
                raise SlackError("unknown_method")
            if not token:
                raise SlackError("not_authed")
            if method == CONNECTIONS_OPEN:  # the one method that takes the app-level token
                result = self._open_connection(str(token))
            elif str(token).startswith("xapp-"):
                raise SlackError("not_allowed_token_type")
            elif not hmac.compare_digest(str(token).encode(), self.bot_token.encode()):
                raise SlackError("invalid_auth")
            else:
                result = METHODS[method](self.workspace, params)
            body = {"ok": True, **result}
        except SlackError as exc:
            call.error = exc.error
            body = {"ok": False, "error": exc.error}
        return web.json_response(body)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        upload = self.workspace.files.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file not found")
        upload.content = await request.read()
        return web.Response(text=f"OK - {len(upload.content)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """Act on a response_url post as Slack does: replace or delete the message the
        interaction came from, post in the channel, or show the caller an ephemeral."""
        target = self.response_targets.get(request.match_info["rid"])
        if target is None:
            return web.Response(status=404, text="no_such_response_url")
        payload = await request.json()
        self.responses.append(payload)
        ws = self.workspace
        origin = None
        if target.channel and target.message_ts:
            origin = ws.get(target.channel, target.message_ts)
        if origin is not None and flag(payload.get("delete_original")):
            ws.remove(origin)
        elif origin is not None and flag(payload.get("replace_original")):
            origin.update(text=payload.get("text", ""), blocks=payload.get("blocks"))
        elif payload.get("response_type") == "in_channel" and target.channel:
            text = str(payload.get("text") or "")
            blocks = payload.get("blocks")
            ws.store(
                target.channel, text=text, user=ws.bot_user_id, bot_id=ws.bot_id, blocks=blocks
            )
        else:
            shown = {**payload, "channel": target.channel, "user": target.user}
            ws.record_ephemeral(shown, ws.next_ts(), "response_url")
        return web.Response(text="ok")
