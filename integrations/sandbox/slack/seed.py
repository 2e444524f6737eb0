"""The workspace an emulator starts with: team, bot identity, tokens, people, channels."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserSeed:
    """A human member of the workspace (an agent, a lead, a customer-facing admin)."""

    id: str
    name: str
    real_name: str = ""
    email: str = ""
    title: str = ""
    is_admin: bool = False
    tz: str = "UTC"


@dataclass(frozen=True)
class ChannelSeed:
    """A public or private channel; `bot_member` decides whether the app sees its events."""

    id: str
    name: str
    members: tuple[str, ...] = ()
    is_private: bool = False
    bot_member: bool = True
    topic: str = ""


@dataclass(frozen=True)
class UsergroupSeed:
    """A user group (`@leads`): its id is the `S…` subteam id."""

    id: str
    handle: str
    name: str
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class BotSeed:
    """The app's identity as `auth.test` reports it."""

    user_id: str = "UBOT"
    bot_id: str = "BBOT"
    app_id: str = "A0001"
    name: str = "supportbot"


@dataclass(frozen=True)
class WorkspaceSeed:
    """Everything needed to build a workspace. Immutable: the emulator copies it into state."""

    team_id: str = "T0001"
    team_name: str = "Emu"
    domain: str = "emu"
    bot: BotSeed = field(default_factory=BotSeed)
    bot_token: str = "xoxb-0001-emu-bot-token"  # noqa: S105 - a fake, loopback-only credential
    app_token: str = "xapp-1-A0001-emu-app-token"  # noqa: S105 - a fake, loopback-only credential
    signing_secret: str = "emu-signing-secret"  # noqa: S105 - a fake, loopback-only credential
    verification_token: str = "emu-verification-token"  # noqa: S105 - a fake, loopback-only credential
    bot_scopes: tuple[str, ...] = (
        "app_mentions:read",
        "channels:history",
        "chat:write",
        "chat:write.customize",
        "commands",
        "files:write",
        "groups:history",
        "im:history",
        "im:write",
        "reactions:write",
        "usergroups:read",
        "users:read",
    )
    users: tuple[UserSeed, ...] = ()
    channels: tuple[ChannelSeed, ...] = ()
    usergroups: tuple[UsergroupSeed, ...] = ()
    # The app's event subscriptions (its manifest's `bot_events`): Slack sends an app only the
    # events it subscribed to. None sends every event (a test's app that listens for anything).
    bot_events: frozenset[str] | None = None

    def channel_named(self, name: str) -> ChannelSeed:
        """The seeded channel called `name` (without `#`)."""
        for channel in self.channels:
            if channel.name == name.lstrip("#"):
                return channel
        raise KeyError(name)


@dataclass(frozen=True)
class DemoIds:
    """Ids of the demo workspace, for tests and the demo to refer to."""

    team: str = "T0DEMO"
    support: str = "CSUPPORT"
    leads: str = "CLEADS"
    escalations: str = "CESCALATE"
    agent1: str = "UAGENT1"
    agent2: str = "UAGENT2"
    lead: str = "ULEAD1"
    member: str = "UMEMBER1"  # in #support, but not on the support team
    leads_group: str = "SLEADS"


DEMO = DemoIds()

# What Threadline's app subscribes to (slack-manifest.yml's `bot_events`; a test keeps the two
# the same): no reactions, no mentions, no direct messages, as from Slack itself.
THREADLINE_BOT_EVENTS = frozenset({"app_home_opened", "message.channels", "message.groups"})


def demo_workspace() -> WorkspaceSeed:
    """The small demo workspace: support, leads and escalation channels, two agents, one lead,
    and a colleague from sales who reads #support but is not on the support team."""
    agents = (DEMO.agent1, DEMO.agent2)
    everyone = (*agents, DEMO.lead, DEMO.member)
    return WorkspaceSeed(
        team_id=DEMO.team,
        team_name="Threadline Demo",
        domain="threadline-demo",
        bot_token="xoxb-0001-demo-bot-token",  # noqa: S106 - fake, loopback-only
        app_token="xapp-1-A0001-demo-app-token",  # noqa: S106 - fake, loopback-only
        signing_secret="demo-signing-secret-0123456789abcdef",  # noqa: S106 - fake, loopback-only
        users=(
            UserSeed(DEMO.agent1, "alice", "Alice Agent", "alice@demo.test", "Support agent"),
            UserSeed(DEMO.agent2, "bob", "Bob Agent", "bob@demo.test", "Support agent"),
            UserSeed(DEMO.lead, "carol", "Carol Lead", "carol@demo.test", "Team lead", True),
            UserSeed(DEMO.member, "dana", "Dana Sales", "dana@demo.test", "Account manager"),
        ),
        channels=(
            ChannelSeed(DEMO.support, "support", everyone, topic="Customer tickets"),
            ChannelSeed(DEMO.leads, "support-leads", (DEMO.lead,), is_private=True),
            ChannelSeed(DEMO.escalations, "escalations", (*agents, DEMO.lead)),
        ),
        usergroups=(UsergroupSeed(DEMO.leads_group, "leads", "Team leads", (DEMO.lead,)),),
        bot_events=THREADLINE_BOT_EVENTS,
    )
