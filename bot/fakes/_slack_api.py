"""The Web API methods FakeSlack serves, each a function of the workspace and the call's params.

Each method keeps the error names Slack documents for the cases Turnout meets
(``thread_not_found``, ``cant_update_message``, ``already_reacted``...), so the app's handling
of them is tested against the same strings it will see in production.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable

from bot.fakes import _slack_files
from bot.fakes._slack_workspace import JSON, SlackError, Upload, Workspace, need

Method = Callable[[Workspace, JSON], JSON]
METHODS: dict[str, Method] = {}


def _method(*names: str) -> Callable[[Method], Method]:
    def register(method: Method) -> Method:
        for name in names:
            METHODS[name] = method
        return method

    return register


@_method("auth.test")
def auth_test(ws: Workspace, params: JSON) -> JSON:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": "Turnout",
        "user": "turnout",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


@_method("chat.postMessage")
def chat_post_message(ws: Workspace, params: JSON) -> JSON:
    if not (params.get("text") or params.get("blocks") or params.get("attachments")):
        raise SlackError("no_text")
    if len(str(params.get("text") or "")) > 40_000:
        raise SlackError("msg_too_long")
    channel = ws.resolve_channel(params.get("channel"))
    message = ws.store(
        channel,
        text=str(params.get("text") or ""),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        thread_ts=params.get("thread_ts") or None,
        blocks=params.get("blocks"),
        metadata=params.get("metadata"),
    )
    wire = ws.wire(message, include_metadata=True)
    return {"channel": channel, "ts": message["ts"], "message": wire}


def _own_message(ws: Workspace, params: JSON, ts_param: str, error: str) -> JSON:
    need(params, "channel", ts_param)
    message = ws.find_for_api(params["channel"], params[ts_param])
    if message["bot_id"] != ws.bot_id:
        raise SlackError(error)
    return message


@_method("chat.update")
def chat_update(ws: Workspace, params: JSON) -> JSON:
    message = _own_message(ws, params, "ts", "cant_update_message")
    for name in ("text", "blocks", "metadata"):
        if name in params:
            message[name] = params[name]
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    return {
        "channel": message["channel"],
        "ts": message["ts"],
        "text": message["text"],
        "message": ws.wire(message, include_metadata=True),
    }


@_method("chat.delete")
def chat_delete(ws: Workspace, params: JSON) -> JSON:
    message = _own_message(ws, params, "ts", "cant_delete_message")
    ws.remove(message)
    return {"channel": message["channel"], "ts": message["ts"]}


@_method("chat.postEphemeral")
def chat_post_ephemeral(ws: Workspace, params: JSON) -> JSON:
    need(params, "channel", "user")
    if not (params.get("text") or params.get("blocks")):
        raise SlackError("no_text")
    ts = ws.next_ts()
    ws.record_ephemeral(params, ts, "chat.postEphemeral")
    return {"message_ts": ts}


@_method("chat.getPermalink")
def chat_get_permalink(ws: Workspace, params: JSON) -> JSON:
    need(params, "channel", "message_ts")
    message = ws.find_for_api(params["channel"], params["message_ts"])
    channel, ts, root = message["channel"], message["ts"], message["thread_ts"]
    link = f"https://{ws.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if root and root != ts:
        link += f"?thread_ts={root}&cid={channel}"
    return {"channel": channel, "permalink": link}


def _reaction(ws: Workspace, params: JSON, *, create: bool) -> tuple[JSON, JSON]:
    need(params, "channel", "timestamp")
    name = str(params.get("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name")
    message = ws.find_for_api(params["channel"], params["timestamp"])
    for reaction in message["reactions"]:
        if reaction["name"] == name:
            return reaction, message
    if not create:
        raise SlackError("no_reaction")
    reaction = {"name": name, "users": [], "count": 0}
    message["reactions"].append(reaction)
    return reaction, message


@_method("reactions.add")
def reactions_add(ws: Workspace, params: JSON) -> JSON:
    reaction, _ = _reaction(ws, params, create=True)
    if ws.bot_user_id in reaction["users"]:
        raise SlackError("already_reacted")
    reaction["users"].append(ws.bot_user_id)
    reaction["count"] = len(reaction["users"])
    return {}


@_method("reactions.remove")
def reactions_remove(ws: Workspace, params: JSON) -> JSON:
    reaction, message = _reaction(ws, params, create=False)
    if ws.bot_user_id not in reaction["users"]:
        raise SlackError("no_reaction")
    reaction["users"].remove(ws.bot_user_id)
    reaction["count"] = len(reaction["users"])
    if not reaction["users"]:
        message["reactions"].remove(reaction)
    return {}


@_method("conversations.open")
def conversations_open(ws: Workspace, params: JSON) -> JSON:
    users = [u for u in str(params.get("users") or "").split(",") if u]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) == 1:
        return {"channel": {"id": ws.dm_channel(users[0])}}
    digest = hashlib.sha1(",".join(sorted(users)).encode(), usedforsecurity=False).hexdigest()
    return {"channel": {"id": "G" + digest[:10].upper()}}


@_method("conversations.history")
def conversations_history(ws: Workspace, params: JSON) -> JSON:
    """Top-level messages (thread parents included, replies not), newest first."""
    need(params, "channel")
    messages = ws.channels.get(params["channel"], [])
    top = [m for m in messages if m["thread_ts"] in (None, m["ts"])]
    return ws.page(list(reversed(ws.window(top, params))), params)


@_method("conversations.replies")
def conversations_replies(ws: Workspace, params: JSON) -> JSON:
    """The parent first, then its replies oldest first."""
    need(params, "channel", "ts")
    message = ws.get(params["channel"], params["ts"])
    if message is None:
        raise SlackError("thread_not_found")
    parent = ws.find(message["channel"], message["thread_ts"] or message["ts"])
    return ws.page([parent, *ws.window(ws.replies(parent), params)], params)


@_method("users.info")
def users_info(ws: Workspace, params: JSON) -> JSON:
    user = ws.users.get(str(params.get("user")))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": copy.deepcopy(user)}


@_method("views.publish")
def views_publish(ws: Workspace, params: JSON) -> JSON:
    need(params, "user_id")
    view = ws.view_object(params, ws.new_id("V"))
    ws.home[params["user_id"]] = view
    return {"view": copy.deepcopy(view)}


@_method("views.open", "views.push")
def views_open(ws: Workspace, params: JSON) -> JSON:
    if params.get("trigger_id") not in ws.triggers:
        raise SlackError("invalid_trigger_id")
    view = ws.view_object(params, ws.new_id("V"))
    ws.modals[view["id"]] = view
    return {"view": copy.deepcopy(view)}


@_method("views.update")
def views_update(ws: Workspace, params: JSON) -> JSON:
    view_id, external_id = params.get("view_id"), params.get("external_id")
    current = next(
        (
            v
            for v in ws.modals.values()
            if (view_id and v["id"] == view_id)
            or (external_id and v.get("external_id") == external_id)
        ),
        None,
    )
    if current is None:
        raise SlackError("not_found")
    if params.get("hash") and params["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    view = ws.view_object(params, current["id"])
    ws.modals[view["id"]] = view
    return {"view": copy.deepcopy(view)}


@_method("files.getUploadURLExternal")
def files_get_upload_url_external(ws: Workspace, params: JSON) -> JSON:
    need(params, "filename", "length")
    file_id = ws.new_id("F")
    ws.files[file_id] = Upload(str(params["filename"]), int(params["length"]))
    return {"upload_url": f"{ws.base_url}/upload/{file_id}", "file_id": file_id}


@_method("files.completeUploadExternal")
def files_complete_upload_external(ws: Workspace, params: JSON) -> JSON:
    files = params.get("files")
    if not isinstance(files, list) or not files:
        raise SlackError("invalid_arguments")
    found = [(item, ws.files.get(str(item.get("id")))) for item in files]
    ready = [(item, up) for item, up in found if up is not None and up.content is not None]
    if len(ready) != len(files):
        raise SlackError("file_not_found")
    done = []
    for item, upload in ready:
        title = item.get("title") or upload.filename
        ws.uploads.append(
            {
                "file_id": item["id"],
                "filename": upload.filename,
                "title": title,
                "channel_id": params.get("channel_id"),
                "initial_comment": params.get("initial_comment"),
                "thread_ts": params.get("thread_ts"),
                "content": upload.content,
            }
        )
        done.append(
            {"id": item["id"], "name": upload.filename, "title": title, "size": upload.length}
        )
    return {"files": done}


@_method("files.info")
def files_info(ws: Workspace, params: JSON) -> JSON:
    """A file someone shared (see ``FakeSlack.share_file_as_user``)."""
    need(params, "file")
    return _slack_files.info(ws, params["file"])
