"""Who is on the support team in Slack, what they are called, and how to answer one of them."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core.domain import Actor, Agent, AgentId
from integrations.slack.errors import platform_error
from integrations.slack.posted import ticket_of_card

log = logging.getLogger(__name__)

NOT_AN_AGENT = (
    "Only support agents can act on tickets. Ask a lead to add you to SLACK_AGENTS; "
    "nothing was sent to the customer."
)


class Team:
    def __init__(self, settings: Settings, client: AsyncWebClient) -> None:
        assert settings.slack_support_channel is not None
        self.channel = settings.slack_support_channel
        self.channels = frozenset(settings.slack_support_channels)  # where tickets' threads are
        self.escalation_channel = settings.slack_escalation_channel
        self.leads = frozenset(settings.slack_leads)
        self.agents = frozenset(settings.slack_agents) | self.leads
        self._client = client
        self._names: dict[str, str] = {}

    async def ticket_of_card(self, channel: str, ts: str) -> int | None:
        """The ticket whose card (present or left behind by a move) starts this thread."""
        return await ticket_of_card(self._client, channel, ts)

    async def thread_before(
        self, channel: str, thread_ts: str, ts: str, oldest: str
    ) -> list[dict[str, Any]]:
        """The thread's messages after `oldest` and before `ts`, oldest first (its root left
        out)."""
        found = await self._client.conversations_replies(
            channel=channel, ts=thread_ts, oldest=oldest, latest=ts, inclusive=False, limit=200
        )
        messages = found.get("messages") or []
        return [dict(m) for m in messages if m.get("ts") not in (thread_ts, ts)]

    def may_act(self, user: str) -> bool:
        return user in self.agents

    async def agent(self, user: str) -> Agent:
        return Agent(AgentId(user), await self.name(user))

    async def actor(self, user: str) -> Actor:
        return Actor.of_agent(await self.agent(user))

    async def name(self, user: str) -> str:
        """The person's display name (looked up once, then remembered)."""
        if user not in self._names:
            try:
                info = await self._client.users_info(user=user)
            except Exception:
                log.warning("Could not look up Slack user %s", user, exc_info=True)
                return user
            profile = info["user"].get("profile", {})
            self._names[user] = (
                profile.get("display_name") or profile.get("real_name") or info["user"]["name"]
            )
        return self._names[user]

    async def tell(
        self,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        channel: str | None = None,
    ) -> None:
        """An ephemeral answer in `channel` (the support channel by default; a thread is in
        the channel of its ticket's card): only `user` sees it.

        Best effort: a lost answer is not a lost message, so a Slack error, a rate limit or a
        person Slack cannot address (not in the channel, deactivated) is logged, not raised.
        """
        args: dict[str, Any] = {"channel": channel or self.channel, "user": user, "text": text}
        if thread_ts:
            args["thread_ts"] = thread_ts
        if blocks:
            args["blocks"] = blocks
        try:
            await self._client.chat_postEphemeral(**args)
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("Could not answer Slack user %s: %s", user, platform_error(exc))

    async def announce(self, text: str) -> None:
        """A top-level post in the support channel, for everyone there; best effort too."""
        try:
            await self._client.chat_postMessage(channel=self.channel, text=text)
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("Could not post in the support channel: %s", platform_error(exc))
