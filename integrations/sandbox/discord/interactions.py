"""Building INTERACTION_CREATE payloads: slash commands, component clicks, modal submits."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .constants import ATTACHMENT_SIZE_LIMIT, EVERYONE_PERMISSIONS, ComponentType, InteractionType
from .model import JSON, Channel, Command, Interaction, Modal, walk_components
from .payloads import channel_json, member_json, message_json, user_json
from .world import World

_SUBCOMMAND, _GROUP = 1, 2
_STRING, _INTEGER, _BOOLEAN, _USER, _CHANNEL, _NUMBER = 3, 4, 5, 6, 7, 10


class InteractionError(ValueError):
    """A person tried something the Discord client would not let them do."""


def new_interaction(
    world: World,
    kind: InteractionType,
    user_id: int,
    channel: Channel,
    data: JSON,
    *,
    created_at: float,
    message_id: int | None = None,
) -> Interaction:
    """Record a fresh interaction with its own id and token."""
    interaction = Interaction(
        id=world.mint.next(),
        token=f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(48)}",
        type=int(kind),
        user_id=user_id,
        channel_id=channel.id,
        guild_id=channel.guild_id,
        data=data,
        created_at=created_at,
        message_id=message_id,
    )
    world.interactions[interaction.id] = interaction
    return interaction


def interaction_json(world: World, interaction: Interaction) -> JSON:
    """The INTERACTION_CREATE payload (discord.py needs id, application_id, type, token,
    version, attachment_size_limit, channel, and member (guild) or user (DM))."""
    channel = world.channels[interaction.channel_id]
    user = world.users[interaction.user_id]
    guild = world.guild_of(channel)
    raw_channel = channel_json(channel, world)
    data: JSON = {
        "id": str(interaction.id),
        "application_id": str(world.application_id),
        "type": interaction.type,
        "token": interaction.token,
        "version": 1,
        "channel_id": str(channel.id),
        "channel": raw_channel,
        "data": interaction.data,
        "locale": "en-US",
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "entitlements": [],
        "app_permissions": EVERYONE_PERMISSIONS if guild else "0",
    }
    if guild is not None:
        raw_channel["permissions"] = EVERYONE_PERMISSIONS
        member = member_json(user, guild)  # with the roles they hold
        member["permissions"] = str(world.permissions(guild, user.id))
        data.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=member,
            authorizing_integration_owners={"0": str(guild.id)},
            context=0,
        )
    else:
        data.update(
            user=user_json(user), authorizing_integration_owners={"1": str(user.id)}, context=1
        )
    if interaction.message_id is not None and interaction.message_id in world.messages:
        data["message"] = message_json(world.messages[interaction.message_id], world)
    return data


# ----- slash commands ---------------------------------------------------------------------


def command_data(
    world: World, command: Command, path: Sequence[str], options: Mapping[str, Any]
) -> JSON:
    """`data` of a slash-command interaction: nested sub-command options and typed values."""
    specs = specs_for_path(command, path)
    resolved: JSON = {}
    nested = [_option_value(world, specs, name, value, resolved) for name, value in options.items()]
    _check_required(specs, options)
    for depth in range(len(path) - 1, -1, -1):
        spec = _find_option(specs_for_path(command, path[:depth]), path[depth])
        nested = [{"name": path[depth], "type": spec.get("type", _SUBCOMMAND), "options": nested}]
    data: JSON = {"id": str(command.id), "name": command.name, "type": 1, "options": nested}
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    if resolved:
        data["resolved"] = resolved
    return data


def specs_for_path(command: Command, path: Sequence[str]) -> list[JSON]:
    """The option specs at the end of a sub-command path."""
    specs: list[JSON] = list(command.body.get("options") or [])
    for name in path:
        specs = list(_find_option(specs, name).get("options") or [])
    return specs


def _find_option(specs: list[JSON], name: str) -> JSON:
    for spec in specs:
        if spec.get("name") == name:
            return spec
    raise InteractionError(f"no option or sub-command {name!r}")


def _option_value(world: World, specs: list[JSON], name: str, value: Any, resolved: JSON) -> JSON:
    spec = next((s for s in specs if s.get("name") == name), None)
    if spec is None and specs:
        raise InteractionError(f"the command has no option {name!r}")
    kind = int(spec.get("type", 0)) if spec else _infer_type(value)
    if kind in (_USER, _CHANNEL):
        _resolve(world, kind, int(value), resolved)
        value = str(value)
    return {"name": name, "type": kind, "value": value}


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return _BOOLEAN
    if isinstance(value, int):
        return _INTEGER
    if isinstance(value, float):
        return _NUMBER
    return _STRING


def _resolve(world: World, kind: int, target: int, resolved: JSON) -> None:
    if kind == _USER:
        user = world.users.get(target)
        if user is None:
            raise InteractionError(f"unknown user {target}")
        resolved.setdefault("users", {})[str(target)] = user_json(user)
        return
    channel = world.channels.get(target)
    if channel is None:
        raise InteractionError(f"unknown channel {target}")
    raw = channel_json(channel, world)
    raw["permissions"] = EVERYONE_PERMISSIONS
    resolved.setdefault("channels", {})[str(target)] = raw


def _check_required(specs: list[JSON], options: Mapping[str, Any]) -> None:
    for spec in specs:
        leaf = spec.get("type") not in (_SUBCOMMAND, _GROUP)
        if leaf and spec.get("required") and spec.get("name") not in options:
            raise InteractionError(f"required option {spec.get('name')!r} is missing")


# ----- components and modals -------------------------------------------------------------


def find_component(
    components: list[JSON], *, label: str | None, custom_id: str | None, kinds: frozenset[int]
) -> JSON:
    """The component with this label or custom_id among `kinds`; InteractionError otherwise."""
    for component in walk_components(components):
        if component.get("type") not in kinds:
            continue
        if custom_id is not None and component.get("custom_id") == custom_id:
            return component
        if label is not None and label in (component.get("label"), component.get("placeholder")):
            return component
    raise InteractionError(f"no component with label={label!r} custom_id={custom_id!r}")


def modal_submit_data(modal: Modal, values: Mapping[str, Any]) -> JSON:
    """`data` of a modal submit: the modal's layout mirrored with the person's values."""
    unknown = set(values) - {str(c.get("custom_id")) for c in _inputs(modal.components)}
    if unknown:
        raise InteractionError(f"the modal has no inputs {sorted(unknown)}")
    return {
        "custom_id": modal.custom_id,
        "components": [_mirror(c, values) for c in modal.components],
    }


def _inputs(components: list[JSON]) -> list[JSON]:
    return [c for c in walk_components(components) if c.get("custom_id") is not None]


def _mirror(component: JSON, values: Mapping[str, Any]) -> JSON:
    kind = component.get("type")
    if kind == ComponentType.ACTION_ROW:
        return {
            "type": kind,
            "components": [_mirror(c, values) for c in component.get("components", [])],
        }
    if kind == ComponentType.LABEL:
        return {"type": kind, "component": _mirror(component["component"], values)}
    custom_id = component.get("custom_id")
    if custom_id is None:
        return {"type": kind}
    if kind == ComponentType.TEXT_INPUT:
        value = str(values.get(custom_id, component.get("value") or ""))
        if component.get("required", True) and not value:
            raise InteractionError(f"text input {custom_id!r} is required")
        return {"type": kind, "custom_id": custom_id, "value": value}
    chosen = values.get(custom_id, [])
    return {
        "type": kind,
        "custom_id": custom_id,
        "values": list(chosen) if not isinstance(chosen, str) else [chosen],
    }


def component_data(component: JSON, values: Sequence[str] | None = None) -> JSON:
    """`data` of a component click or select."""
    data: JSON = {"custom_id": component["custom_id"], "component_type": component["type"]}
    if values is not None:
        data["values"] = list(values)
    return data
