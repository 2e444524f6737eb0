"""Slack message references: a `ts` is unique only within its channel, so refs carry both."""

from __future__ import annotations

from bot.core.delivery import MAIN_WORKSPACE
from bot.core.domain import Message, MessageRef
from integrations.platforms import SLACK


def ref_of(channel: str, ts: str, workspace: str = MAIN_WORKSPACE) -> MessageRef:
    return MessageRef(SLACK, f"{channel}:{ts}", workspace)


def split_ref(external_id: str) -> tuple[str, str]:
    """(channel, ts) of a Slack reference; ValueError if it is not one."""
    channel, sep, ts = external_id.partition(":")
    if not sep or not channel or not ts:
        raise ValueError(f"not a Slack message reference: {external_id!r}")
    return channel, ts


def slack_copy(message: Message, workspace: str = MAIN_WORKSPACE) -> tuple[str, str] | None:
    """Where a message has a copy (or its original) in this Slack workspace, if it has one."""
    found = message.copies(SLACK, workspace)
    return split_ref(found[0]) if found else None
