"""The emulators together (Slack, Discord and an OpenAI-compatible model server), with the demo
workspace and world: for `threadline sandbox`, the shared test fixture and the benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import STAFF, DiscordEmulator, demo_world, staff_world
from integrations.sandbox.openai import OpenAIEmulator
from integrations.sandbox.slack import DEMO as SLACK
from integrations.sandbox.slack import SlackEmulator, Timing, demo_workspace

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Sandbox:
    slack: SlackEmulator
    discord: DiscordEmulator
    # Optional so that a sandbox assembled by hand from the two platforms still works.
    openai: OpenAIEmulator | None = None
    # Discord has the staff world (roles, a staff forum): agents work in Discord too.
    staff: bool = False

    def settings(self, *, socket_mode: bool = True) -> dict[str, str]:
        """The settings that point a Threadline bot at this sandbox, by variable name."""
        slack, discord = self.slack, self.discord
        found = {
            "SLACK_API_URL": slack.api_url,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_SUPPORT_CHANNEL": SLACK.support,
            "SLACK_AGENTS": f"{SLACK.agent1},{SLACK.agent2}",
            "SLACK_LEADS": SLACK.lead,
            "SLACK_LEADS_CHANNEL": SLACK.leads,
            "SLACK_ESCALATION_CHANNEL": SLACK.escalations,
            "DISCORD_BOT_TOKEN": discord.token,
            "DISCORD_API_URL": discord.api_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DISCORD_GUILD_ID": str(DISCORD.guild_id),
        }
        if socket_mode:
            found["SLACK_APP_TOKEN"] = slack.app_token
        if self.staff:
            found["DISCORD_STAFF_CHANNEL"] = str(STAFF.forum_channel_id)
            found["DISCORD_STAFF_ROLE"] = str(STAFF.staff_role_id)
            found["DISCORD_LEADS_ROLE"] = str(STAFF.lead_role_id)
            found["DISCORD_LEADS_CHANNEL"] = str(STAFF.staff_channel_id)
        if self.openai is not None:
            found["OPENAI_BASE_URL"] = self.openai.base_url
            found["OPENAI_API_KEY"] = self.openai.api_key
        return found

    def people(self) -> list[str]:
        """Who is in the sandbox, for people trying it by hand."""
        return [
            f"Slack agents: alice ({SLACK.agent1}), bob ({SLACK.agent2}); "
            f"lead: carol ({SLACK.lead}); not on the team: dana ({SLACK.member}); "
            f"channels #support ({SLACK.support}), "
            f"#support-leads ({SLACK.leads}), #escalations ({SLACK.escalations})",
            f"Discord customers: alice ({DISCORD.customer_id}), "
            f"bob ({DISCORD.second_customer_id}); server Support ({DISCORD.guild_id}) "
            f"with #support ({DISCORD.support_channel_id})",
        ]


@asynccontextmanager
async def sandbox(
    *,
    slack_port: int = 0,
    discord_port: int = 0,
    openai_port: int = 0,
    rate_limits: bool = False,
    fast: bool = False,
    staff: bool = False,
) -> AsyncIterator[Sandbox]:
    """Start the three emulators on 127.0.0.1; `rate_limits` applies the platforms' real limits,
    `fast` shortens Slack's ack timeouts and retry delays for tests; `staff` gives Discord the
    staff world (a staff forum, roles) and the settings that make agents work there too."""
    slack = SlackEmulator(
        demo_workspace(),
        host=HOST,
        port=slack_port,
        timing=Timing.fast() if fast else None,
        rate_limits=rate_limits,
    )
    world = staff_world() if staff else demo_world()
    discord = DiscordEmulator(world, host=HOST, port=discord_port)
    discord.limits.enabled = rate_limits
    model = OpenAIEmulator(host=HOST, port=openai_port)
    async with slack, discord, model:
        yield Sandbox(slack, discord, model, staff=staff)
