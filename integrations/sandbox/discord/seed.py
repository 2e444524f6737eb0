"""The world the emulator starts with: bot, application, guilds, channels, people."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .constants import EVERYONE_PERMISSIONS, LEAD_PERMISSIONS, ChannelType, Intent


@dataclass(frozen=True)
class SeedUser:
    """A Discord account: a customer, an agent, or the bot itself."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False


@dataclass(frozen=True)
class SeedRole:
    """A guild role (the @everyone role, whose id is the guild's, is always added)."""

    id: int
    name: str
    permissions: str = "0"
    position: int = 1
    color: int = 0
    hoist: bool = False
    mentionable: bool = False


@dataclass(frozen=True)
class SeedChannel:
    """A guild text channel, or a forum channel (type GUILD_FORUM).

    `private_to` lists the roles that may see a channel hidden from @everyone (its permission
    overwrites deny VIEW_CHANNEL to @everyone and allow it to those roles and to the bot).
    """

    id: int
    name: str
    position: int = 0
    topic: str | None = None
    type: ChannelType = ChannelType.GUILD_TEXT
    private_to: tuple[int, ...] = ()


@dataclass(frozen=True)
class SeedGuild:
    """A guild (server) with its text channels and the ids of its human members.

    The bot is always a member of every seeded guild.
    """

    id: int
    name: str
    owner_id: int
    channels: tuple[SeedChannel, ...] = ()
    member_ids: tuple[int, ...] = ()
    roles: tuple[SeedRole, ...] = ()
    member_roles: tuple[tuple[int, int], ...] = ()  # (user id, role id) pairs


@dataclass(frozen=True)
class DiscordSeed:
    """Everything needed to build the emulated Discord.

    `enabled_intents` lists the privileged intents switched on for the application in the
    developer portal; IDENTIFY asking for any other privileged intent is closed with 4014.
    """

    token: str
    bot: SeedUser
    application_id: int
    owner: SeedUser
    guilds: tuple[SeedGuild, ...] = ()
    users: tuple[SeedUser, ...] = ()
    enabled_intents: Intent = Intent.MESSAGE_CONTENT | Intent.GUILD_MEMBERS
    application_name: str = field(default="")

    def user_named(self, username: str) -> SeedUser:
        """The seeded user (or bot) with this username."""
        for user in (self.bot, self.owner, *self.users):
            if user.username == username:
                return user
        raise KeyError(username)

    def channel_named(self, name: str) -> SeedChannel:
        """The first seeded guild channel with this name."""
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.name == name:
                    return channel
        raise KeyError(name)


@dataclass(frozen=True)
class DemoIds:
    """The fixed ids of the demo world, so tests and the demo can name things."""

    bot_id: int = 1000000000000000001
    application_id: int = 1000000000000000002
    guild_id: int = 1000000000000000003
    support_channel_id: int = 1000000000000000004
    customer_id: int = 1000000000000000005
    second_customer_id: int = 1000000000000000007
    owner_id: int = 1000000000000000008
    token: str = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.sandbox.threadline-emulated-bot-token"  # noqa: S105


DEMO = DemoIds()


def demo_world() -> DiscordSeed:
    """The small demo world: guild "Support" with #support, customers alice and bob."""
    alice = SeedUser(DEMO.customer_id, "alice", "Alice")
    bob = SeedUser(DEMO.second_customer_id, "bob", "Bob")
    owner = SeedUser(DEMO.owner_id, "owner", "Owner")
    support = SeedChannel(DEMO.support_channel_id, "support", topic="Ask us anything")
    guild = SeedGuild(
        id=DEMO.guild_id,
        name="Support",
        owner_id=owner.id,
        channels=(support,),
        member_ids=(owner.id, alice.id, bob.id),
    )
    return DiscordSeed(
        token=DEMO.token,
        bot=SeedUser(DEMO.bot_id, "supportbot", "Support Bot", bot=True),
        application_id=DEMO.application_id,
        owner=owner,
        guilds=(guild,),
        users=(alice, bob),
        application_name="supportbot",
    )


@dataclass(frozen=True)
class StaffIds:
    """The extra ids of the staff world: roles, staff people, the forum and the staff channel."""

    staff_role_id: int = 1000000000000000010
    lead_role_id: int = 1000000000000000011
    staff_id: int = 1000000000000000012
    lead_id: int = 1000000000000000013
    forum_channel_id: int = 1000000000000000014
    staff_channel_id: int = 1000000000000000015


STAFF = StaffIds()


def staff_world() -> DiscordSeed:
    """The demo world plus a staff workspace: roles "Staff" and "Leads" (who also hold
    MANAGE_THREADS), Sam (Staff) and Lee (Staff and Leads), a "staff-tickets" forum and a
    "staff" text channel only the Staff role sees."""
    demo = demo_world()
    sam = SeedUser(STAFF.staff_id, "sam", "Sam Staff")
    lee = SeedUser(STAFF.lead_id, "lee", "Lee Lead")
    staff = SeedRole(STAFF.staff_role_id, "Staff", EVERYONE_PERMISSIONS, position=1, hoist=True)
    # Leads hold MANAGE_THREADS: they see private threads they were never added to.
    leads = SeedRole(STAFF.lead_role_id, "Leads", LEAD_PERMISSIONS, position=2, hoist=True)
    forum = SeedChannel(
        STAFF.forum_channel_id,
        "staff-tickets",
        position=1,
        topic="One post per ticket",
        type=ChannelType.GUILD_FORUM,
        private_to=(staff.id,),
    )
    room = SeedChannel(STAFF.staff_channel_id, "staff", position=2, private_to=(staff.id,))
    (guild,) = demo.guilds
    guild = replace(
        guild,
        channels=(*guild.channels, forum, room),
        member_ids=(*guild.member_ids, sam.id, lee.id),
        roles=(staff, leads),
        member_roles=((sam.id, staff.id), (lee.id, staff.id), (lee.id, leads.id)),
    )
    return replace(demo, guilds=(guild,), users=(*demo.users, sam, lee))
