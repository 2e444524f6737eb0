"""auth.test, apps.connections.open and the three-step file upload."""

from __future__ import annotations

from .api import ApiContext, Call, Handler
from .api_chat import resolve_channel
from .blocks import parse_json_arg
from .errors import SlackError
from .model import JsonDict, UploadedFile


def auth_test(ctx: ApiContext, call: Call) -> JsonDict:
    """auth.test: the bot identity Bolt caches (user_id, bot_id, team_id)."""
    seed = ctx.workspace.seed
    return {
        "ok": True,
        "url": f"https://{seed.domain}.slack.com/",
        "team": seed.team_name,
        "user": seed.bot.name,
        "team_id": seed.team_id,
        "user_id": seed.bot.user_id,
        "bot_id": seed.bot.bot_id,
        "app_id": seed.bot.app_id,
        "is_enterprise_install": False,
    }


def connections_open(ctx: ApiContext, call: Call) -> JsonDict:
    """apps.connections.open: a one-time `ws://…/link/?ticket=…` URL."""
    return {"ok": True, "url": ctx.socket_url()}


def get_upload_url(ctx: ApiContext, call: Call) -> JsonDict:
    """files.getUploadURLExternal: reserve a file id and a loopback upload URL."""
    name = call.text("filename", "invalid_arguments")
    try:
        length = int(call.text("length", "invalid_arguments"))
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if length <= 0:
        raise SlackError("invalid_arguments")
    workspace = ctx.workspace
    file_id = workspace.new_id("F")
    workspace.files[file_id] = UploadedFile(file_id, name, length, workspace.bot.user_id)
    return {"ok": True, "upload_url": f"{ctx.base_url()}/upload/{file_id}", "file_id": file_id}


def complete_upload(ctx: ApiContext, call: Call) -> JsonDict:
    """files.completeUploadExternal: share uploaded files, in a channel or thread if asked."""
    entries = parse_json_arg(call.get("files"), "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments")
    workspace = ctx.workspace
    files: list[UploadedFile] = []
    for entry in entries:
        found = workspace.files.get(str(entry.get("id", ""))) if isinstance(entry, dict) else None
        if found is None or found.content is None:
            raise SlackError("file_not_found")
        found.title = str(entry.get("title") or found.name)
        files.append(found)
    channel_ids = [call.text("channel_id")] if call.text("channel_id") else []
    channel_ids += [c for c in call.text("channels").split(",") if c]
    for channel_id in channel_ids:
        channel = resolve_channel(ctx, channel_id)
        for found in files:
            found.channels.append(channel.id)
        workspace.post(
            channel.id,
            workspace.bot.user_id,
            call.text("initial_comment"),
            thread_ts=call.text("thread_ts") or None,
            files=[f.to_api(workspace.file_host) for f in files],
        )
    workspace.changed()
    return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in files]}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "apps.connections.open": connections_open,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
