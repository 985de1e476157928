"""Files people share in FakeSlack, and the private download URLs Slack serves them from.

Slack hands an app a file's ``url_private_download`` in the ``file_share`` message event
(and in ``files.info``); fetching it needs the bot token as a Bearer header, and without
one Slack answers with its HTML login page rather than the file. The fake keeps that rule,
so the app's download code is tested against the same refusal it would meet with a missing
``files:read`` scope or a forgotten header.
"""

from __future__ import annotations

import copy
import hmac
import time
from typing import TYPE_CHECKING

from aiohttp import web

from bot.fakes._slack_workspace import JSON, SharedFile, SlackError, Workspace

# What Slack shows to a request without a valid token: a sign-in page, not the file.
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Slack</title></head>"
    "<body><h1>Sign in to Turnout</h1></body></html>"
)


def share(
    ws: Workspace,
    channel: str,
    user: str,
    filename: str,
    content: bytes,
    *,
    text: str,
    filetype: str,
) -> tuple[SharedFile, JSON]:
    """Store the file and the ``file_share`` message that carries it."""
    shared = SharedFile(
        id=ws.new_id("F"),
        name=filename,
        title=filename,
        filetype=filetype,
        user=user,
        channel=channel,
        content=content,
        created=int(time.time()),
    )
    ws.shared_files[shared.id] = shared
    try:
        message = ws.store(channel, text=text, user=user)
    except SlackError as exc:
        raise ValueError(f"cannot share a file in {channel}: {exc.error}") from None
    message["subtype"] = "file_share"
    message["files"] = [shared.wire(ws)]
    return shared, message


def info(ws: Workspace, file_id: object) -> JSON:
    shared = ws.shared_files.get(str(file_id))
    if shared is None:
        raise SlackError("file_not_found")
    return {"file": shared.wire(ws), "comments": [], "response_metadata": {"next_cursor": ""}}


class SlackFiles:
    """FakeSlack's side of shared files: humans sharing them, and private downloads."""

    workspace: Workspace
    bot_token: str

    if TYPE_CHECKING:

        def _event_base(self, channel: str, ts: str) -> JSON: ...

    @property
    def file_downloads(self) -> list[str]:
        """Ids of the files downloaded with the bot token, in order."""
        return list(self.workspace.file_downloads)

    def share_file_as_user(
        self,
        channel: str,
        user: str,
        filename: str,
        content: bytes,
        *,
        text: str = "",
        filetype: str = "csv",
    ) -> JSON:
        """Share a file as a human would (a message with the file attached) and return the
        ``message`` event Slack would deliver: subtype ``file_share`` with ``files``."""
        _, message = share(
            self.workspace, channel, user, filename, content, text=text, filetype=filetype
        )
        return {
            **self._event_base(channel, message["ts"]),
            "subtype": "file_share",
            "user": user,
            "text": text,
            "files": copy.deepcopy(message["files"]),
            "upload": True,
            "display_as_bot": False,
        }

    async def _handle_file_download(self, request: web.Request) -> web.Response:
        """GET /files-pri/{team}-{file id}/[download/]{name}, bot token required."""
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(token.encode(), self.bot_token.encode()):
            return web.Response(status=403, text=LOGIN_PAGE, content_type="text/html")
        team_file = request.match_info["team_file"]
        team, _, file_id = team_file.partition("-")
        shared = self.workspace.shared_files.get(file_id)
        if team != self.workspace.team_id or shared is None:
            return web.Response(status=404, text="file not found")
        self.workspace.file_downloads.append(file_id)
        return web.Response(
            body=shared.content,
            content_type=shared.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{shared.name}"'},
        )
