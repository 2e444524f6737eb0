"""Which support channel an open ticket's thread belongs in (SLACK_CHANNEL_ROUTES).

Slack lets an app post about once a second in each channel, so a desk with one support channel
drains a burst at one post a second however fast Threadline is. Routes spread tickets over
several channels, each with a budget of its own, in a way agents can follow: by priority, or by
the category triage gave the ticket. The first route that matches wins; a ticket no route
matches is in SLACK_SUPPORT_CHANNEL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import Settings
from bot.core.ai_policy import AiPolicy
from bot.core.domain import Priority, Ticket
from bot.core.errors import ConfigError


@dataclass(frozen=True)
class ChannelRoutes:
    default: str
    routes: tuple[tuple[str, str], ...] = ()  # (a priority or a category, its channel), in order

    @property
    def channels(self) -> frozenset[str]:
        """Every support channel the routes name, the default's too."""
        return frozenset({self.default, *(channel for _, channel in self.routes)})

    def channel_for(self, ticket: Ticket) -> str:
        category = ticket.triage.category.casefold() if ticket.triage else None
        for key, channel in self.routes:
            if key in (ticket.priority.value, category):
                return channel
        return self.default

    def why(self, ticket: Ticket) -> str:
        """What put the ticket where it is, in words ("its priority is urgent")."""
        category = ticket.triage.category.casefold() if ticket.triage else None
        for key, _ in self.routes:
            if key == ticket.priority.value:
                return f"its priority is {key}"
            if key == category:
                return f"its category is {ticket.triage.category if ticket.triage else key}"
        return "no route matches it any longer"


def routes_of(settings: Settings, ai: AiPolicy | None) -> ChannelRoutes:
    """The routes the settings name, each key checked against the priorities and the team's
    categories (`ai`; None: the built-in ones): a misspelt key would never match, and its
    tickets would go unnoticed."""
    assert settings.slack_support_channel is not None
    routes = checked(settings.slack_channel_routes, ai or AiPolicy())
    return ChannelRoutes(settings.slack_support_channel, tuple(routes))


def checked(routes: Mapping[str, str], ai: AiPolicy) -> list[tuple[str, str]]:
    known = {p.value for p in Priority} | {name.casefold() for name in ai.category_names()}
    unknown = [key for key in routes if key not in known]
    if unknown:
        raise ConfigError(
            f"SLACK_CHANNEL_ROUTES: {', '.join(unknown)} is neither a priority "
            f"({', '.join(p.value for p in Priority)}) nor a category "
            f"({', '.join(ai.category_names())})"
        )
    return list(routes.items())
