"""views.open, views.push, views.update, views.publish."""

from __future__ import annotations

from .api import ApiContext, Call, Handler
from .blocks import parse_view
from .errors import SlackError
from .model import JsonDict


def _trigger_user(ctx: ApiContext, call: Call) -> str:
    trigger_id = call.text("trigger_id") or call.text("interactivity_pointer")
    if not trigger_id:
        raise SlackError("invalid_arguments", response_metadata={"messages": ["trigger_id"]})
    return ctx.workspace.use_trigger(trigger_id, ctx.now(), ctx.timing.trigger_ttl)


def _modal(call: Call) -> JsonDict:
    view = parse_view(call.get("view"))
    if view.get("type") != "modal":
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["type must be modal"]}
        )
    return view


def open_view(ctx: ApiContext, call: Call) -> JsonDict:
    """views.open: needs a fresh `trigger_id` (`expired_trigger_id` after 3 s)."""
    view = _modal(call)
    user = _trigger_user(ctx, call)
    opened = ctx.workspace.views.open(user, view)
    ctx.workspace.changed()
    return {"ok": True, "view": opened.to_api()}


def push_view(ctx: ApiContext, call: Call) -> JsonDict:
    """views.push: stacks a modal on the one the user has open."""
    view = _modal(call)
    user = _trigger_user(ctx, call)
    pushed = ctx.workspace.views.push(user, view)
    ctx.workspace.changed()
    return {"ok": True, "view": pushed.to_api()}


def update_view(ctx: ApiContext, call: Call) -> JsonDict:
    """views.update by `view_id` or `external_id`, with an optional `hash` check."""
    spec = parse_view(call.get("view"))
    views = ctx.workspace.views
    view_id, external_id = call.text("view_id"), call.text("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", response_metadata={"messages": ["view_id"]})
    target = views.find(view_id or None, external_id or None)
    updated = views.update(target, spec, call.text("hash") or None)
    ctx.workspace.changed()
    return {"ok": True, "view": updated.to_api()}


def publish_view(ctx: ApiContext, call: Call) -> JsonDict:
    """views.publish: the Home tab of `user_id`."""
    spec = parse_view(call.get("view"))
    if spec.get("type") != "home":
        raise SlackError("invalid_arguments", response_metadata={"messages": ["type must be home"]})
    user = ctx.workspace.user(call.text("user_id", "user_not_found"))
    view = ctx.workspace.views.publish(user.id, spec, call.text("hash") or None)
    ctx.workspace.changed()
    return {"ok": True, "view": view.to_api()}


HANDLERS: dict[str, Handler] = {
    "views.open": open_view,
    "views.push": push_view,
    "views.update": update_view,
    "views.publish": publish_view,
}
