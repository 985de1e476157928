"""The state behind FakeSlack: channels, threads, users, views and files of one workspace.

Kept apart from the HTTP layer so the Web API methods (``_slack_api``), the simulated humans
and the inspection helpers all read and change the same records through one set of rules:
how ``ts`` values are minted, how a thread is formed, how a message looks on the wire.
"""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
APP_ID = "A0TURNOUT"


class SlackError(Exception):
    """Raised by a Web API method to answer ``{"ok": false, "error": error}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def flag(value: object) -> bool:
    """Slack booleans arrive as True, "true" or "1" depending on the encoding."""
    return value is True or str(value).lower() in ("1", "true")


def need(params: JSON, *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackError("invalid_arguments")


MIMETYPES = {
    "csv": "text/csv",
    "text": "text/plain",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "png": "image/png",
}


@dataclass
class SharedFile:
    """A file a human shared in a channel; ``content`` is what a download returns."""

    id: str
    name: str
    title: str
    filetype: str
    user: str
    channel: str
    content: bytes
    created: int

    @property
    def mimetype(self) -> str:
        return MIMETYPES.get(self.filetype, "application/octet-stream")

    def wire(self, ws: Workspace) -> JSON:
        """The file object as events and ``files.info`` carry it."""
        private = f"{ws.base_url}/files-pri/{ws.team_id}-{self.id}"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.filetype.upper(),
            "user": self.user,
            "user_team": ws.team_id,
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "size": len(self.content),
            "url_private": f"{private}/{self.name}",
            "url_private_download": f"{private}/download/{self.name}",
            "permalink": f"https://{ws.team_domain}.slack.com/files/{self.user}/{self.id}/{self.name}",
            "channels": [self.channel] if self.channel[:1] == "C" else [],
            "ims": [self.channel] if self.channel[:1] == "D" else [],
        }


@dataclass
class Upload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    filename: str
    length: int
    content: bytes | None = None


class Workspace:
    """One team with one bot. Messages are stored oldest first per channel."""

    def __init__(self, *, team_id: str, bot_user_id: str, bot_id: str) -> None:
        self.team_id = team_id
        self.team_domain = "turnout"
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.base_url = ""
        self.channels: dict[str, list[JSON]] = {}
        self.ephemerals: list[JSON] = []
        self.users: dict[str, JSON] = {}
        self.home: dict[str, JSON] = {}
        self.modals: dict[str, JSON] = {}
        self.files: dict[str, Upload] = {}
        self.uploads: list[JSON] = []
        self.shared_files: dict[str, SharedFile] = {}
        self.file_downloads: list[str] = []
        self.triggers: set[str] = set()
        self._last_micros = 0

    def next_ts(self) -> str:
        """Wall-clock based like Slack's, but strictly increasing even within a microsecond."""
        micros = max(int(time.time() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    @staticmethod
    def new_id(prefix: str) -> str:
        return prefix + secrets.token_hex(5).upper()

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """Stable per user, so conversations.open and tests agree without coordination."""
        return "D" + (user_id[1:] if user_id[:1] in ("U", "W") else user_id)

    def resolve_channel(self, channel: object) -> str:
        """Posting to a user id lands in the bot's DM with them, as in Slack."""
        if not isinstance(channel, str) or channel[:1] not in ("C", "D", "G", "U", "W"):
            raise SlackError("channel_not_found")
        return self.dm_channel(channel) if channel[0] in "UW" else channel

    def add_user(
        self,
        user_id: str,
        real_name: str,
        *,
        display_name: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
    ) -> None:
        profile = {"real_name": real_name, "display_name": display_name or "", "email": email}
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": (display_name or real_name).lower().replace(" ", "."),
            "real_name": real_name,
            "deleted": False,
            "is_bot": is_bot,
            "tz": "Europe/London",
            "profile": {k: v for k, v in profile.items() if v is not None},
        }

    def user_name(self, user_id: str) -> str:
        return str(self.users.get(user_id, {}).get("name") or user_id.lower())

    # -- messages ------------------------------------------------------------------------

    def store(
        self,
        channel: str,
        *,
        text: str,
        user: str,
        bot_id: str | None = None,
        thread_ts: str | None = None,
        blocks: object = None,
        metadata: object = None,
    ) -> JSON:
        """Add a message. A reply to a reply joins the parent's thread, as in Slack."""
        if thread_ts is not None:
            parent = self.get(channel, thread_ts)
            if parent is None:
                raise SlackError("thread_not_found")
            thread_ts = parent["thread_ts"] or parent["ts"]
            self.find(channel, thread_ts)["thread_ts"] = thread_ts
        message: JSON = {
            "type": "message",
            "channel": channel,
            "ts": self.next_ts(),
            "thread_ts": thread_ts,
            "text": text,
            "blocks": blocks,
            "metadata": metadata,
            "user": user,
            "bot_id": bot_id,
            "reactions": [],
            "edited": None,
        }
        self.channels.setdefault(channel, []).append(message)
        return message

    def get(self, channel: str, ts: str) -> JSON | None:
        return next((m for m in self.channels.get(channel, []) if m["ts"] == ts), None)

    def find(self, channel: str, ts: str) -> JSON:
        """For the fake's own callers: a missing message is a bug in the test, not an answer."""
        message = self.get(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return message

    def find_for_api(self, channel: str, ts: str) -> JSON:
        message = self.get(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def remove(self, message: JSON) -> None:
        self.channels[message["channel"]].remove(message)

    def replies(self, parent: JSON) -> list[JSON]:
        return [
            m
            for m in self.channels[parent["channel"]]
            if m["thread_ts"] == parent["ts"] and m is not parent
        ]

    def wire(self, message: JSON, *, include_metadata: bool = False) -> JSON:
        """A stored message as Slack's API returns it: no channel, empty fields omitted,
        thread summary on parents, and metadata only when the caller asked for it."""
        out = {k: message[k] for k in ("type", "ts", "user", "text")}
        out["team"] = self.team_id
        if message["bot_id"]:
            out.update(bot_id=message["bot_id"], app_id=APP_ID)
        for name in ("blocks", "edited", "reactions", "thread_ts"):
            if message[name]:
                out[name] = copy.deepcopy(message[name])
        for name in ("subtype", "files"):  # only shared files' messages have these
            if message.get(name):
                out[name] = copy.deepcopy(message[name])
        if include_metadata and message["metadata"]:
            out["metadata"] = copy.deepcopy(message["metadata"])
        if message["thread_ts"] == message["ts"]:
            replies = self.replies(message)
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({m["user"] for m in replies})
            if replies:
                out["latest_reply"] = replies[-1]["ts"]
        elif parent := self.get(message["channel"], message["thread_ts"] or ""):
            out["parent_user_id"] = parent["user"]
        return out

    @staticmethod
    def window(messages: list[JSON], params: JSON) -> list[JSON]:
        """Apply Slack's oldest/latest bounds (exclusive unless ``inclusive``)."""
        inclusive = flag(params.get("inclusive"))
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        if inclusive:
            return [m for m in messages if oldest <= float(m["ts"]) <= latest]
        return [m for m in messages if oldest < float(m["ts"]) < latest]

    def page(self, messages: list[JSON], params: JSON) -> JSON:
        """Cursor pagination; the cursor is an opaque offset into the result."""
        start = int(str(params.get("cursor") or "0").removeprefix("off_") or 0)
        limit = int(params.get("limit") or 100)
        with_meta = flag(params.get("include_all_metadata"))
        has_more = start + limit < len(messages)
        return {
            "messages": [
                self.wire(m, include_metadata=with_meta) for m in messages[start : start + limit]
            ],
            "has_more": has_more,
            "response_metadata": {"next_cursor": f"off_{start + limit}" if has_more else ""},
        }

    def record_ephemeral(self, params: JSON, ts: str, via: str) -> None:
        names = ("channel", "user", "text", "blocks", "thread_ts")
        self.ephemerals.append({**{n: params.get(n) for n in names}, "ts": ts, "via": via})

    # -- views ---------------------------------------------------------------------------

    def view_object(self, params: JSON, view_id: str) -> JSON:
        """The view as Slack echoes it back: the app's fields plus Slack's bookkeeping."""
        view = params.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise SlackError("invalid_arguments")
        return {
            **copy.deepcopy(view),
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": view_id,
            "app_id": APP_ID,
            "bot_id": self.bot_id,
        }

    def issue_trigger(self, trigger_id: str | None = None) -> str:
        """Only trigger ids handed to the app may open modals, as in Slack."""
        trigger = trigger_id or (
            f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        )
        self.triggers.add(trigger)
        return trigger
