"""A wire-level loopback emulator of Discord (REST API v10 + gateway) for discord.py.

async with DiscordEmulator(demo_world()) as emu:
    with pointed_at(emu.api_url, emu.gateway_url):
        ...  # run a real discord.Client with emu.token
    await emu.user(DEMO.customer_id).send_dm("help")
"""

from __future__ import annotations

from .actors import Person
from .config import EmulatorConfig
from .constants import (
    CallbackType,
    ChannelType,
    ComponentType,
    Intent,
    InteractionType,
    MessageFlag,
)
from .emulator import DiscordEmulator
from .faults import Faults
from .gateway import GatewayHub, GatewayRecord
from .interactions import InteractionError
from .limits import BucketSpec, RateLimits
from .model import (
    Attachment,
    CallRecord,
    Channel,
    Command,
    Interaction,
    Message,
    Modal,
    Role,
    User,
)
from .pointing import pointed_at
from .seed import (
    DEMO,
    STAFF,
    DemoIds,
    DiscordSeed,
    SeedChannel,
    SeedGuild,
    SeedRole,
    SeedUser,
    StaffIds,
    demo_world,
    staff_world,
)

__all__ = [
    "DEMO",
    "STAFF",
    "Attachment",
    "BucketSpec",
    "CallRecord",
    "CallbackType",
    "Channel",
    "ChannelType",
    "Command",
    "ComponentType",
    "DemoIds",
    "DiscordEmulator",
    "DiscordSeed",
    "EmulatorConfig",
    "Faults",
    "GatewayHub",
    "GatewayRecord",
    "Intent",
    "Interaction",
    "InteractionError",
    "InteractionType",
    "Message",
    "MessageFlag",
    "Modal",
    "Person",
    "RateLimits",
    "Role",
    "SeedChannel",
    "SeedGuild",
    "SeedRole",
    "SeedUser",
    "StaffIds",
    "User",
    "demo_world",
    "pointed_at",
    "staff_world",
]
