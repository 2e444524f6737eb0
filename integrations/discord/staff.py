"""Where agents work in Discord: the staff channel of the company's server, the role that makes
someone an agent, and where leads are told. Read once from the settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.config import Settings
from bot.core.domain import MessageRef
from integrations.platforms import DISCORD

# The Discord agent workspace's name in the delivery queue (Slack's is "main").
STAFF_WORKSPACE = "discord"


@dataclass(frozen=True, slots=True)
class StaffPlace:
    guild_id: int
    channel_id: int  # a forum (a post per ticket) or a text channel (a thread per card)
    staff_role: int
    leads_role: int | None = None
    leads_channel: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffPlace | None:
        """None when agents do not work in Discord (or its settings are incomplete: the bot
        refuses to start then, naming what is missing)."""
        if not settings.discord_staff or settings.missing_for_discord_staff():
            return None
        assert settings.discord_staff_channel is not None
        assert settings.discord_guild_id is not None
        assert settings.discord_staff_role is not None
        leads_role, leads_channel = settings.discord_leads_role, settings.discord_leads_channel
        return cls(
            guild_id=int(settings.discord_guild_id),
            channel_id=int(settings.discord_staff_channel),
            staff_role=int(settings.discord_staff_role),
            leads_role=int(leads_role) if leads_role else None,
            leads_channel=int(leads_channel) if leads_channel else None,
        )

    def may_act(self, role_ids: Iterable[int]) -> bool:
        """Members of the staff role are agents; so are leads."""
        held = set(role_ids)
        return self.staff_role in held or (self.leads_role is not None and self.leads_role in held)


def staff_ref(message_id: int | str) -> MessageRef:
    """A message in a ticket's thread in the staff channel (snowflakes are unique everywhere)."""
    return MessageRef(DISCORD, str(message_id), STAFF_WORKSPACE)
