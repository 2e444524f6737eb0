"""A wire-level loopback Slack for the real slack_sdk and slack_bolt clients.

`SlackEmulator` serves the Web API, Socket Mode and HTTP-mode deliveries on 127.0.0.1;
`SlackEmulator.user(id)` acts as a person; `demo_workspace()` seeds the demo.

    async with SlackEmulator(demo_workspace(), timing=Timing.fast()) as slack:
        app = AsyncApp(client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url))
        handler = AsyncSocketModeHandler(app, app_token=slack.app_token)  # inside the loop
        await handler.connect_async()
        ts = await slack.user(DEMO.agent1).post(DEMO.support, "help")
        replies = await slack.wait_for(lambda: slack.thread(DEMO.support, ts), timeout=5)

For HTTP mode set `slack.request_url` to the app's endpoint (signed with `slack.signing_secret`).
"""

from __future__ import annotations

from .actors import SlackUser
from .api import ApiCall
from .delivery import Ack, Delivery
from .emulator import SlackEmulator
from .errors import SlackError
from .faults import Faults
from .http_mode import sign
from .limits import Rate, RateLimits
from .model import Channel, Ephemeral, Message, User, View
from .seed import (
    DEMO,
    THREADLINE_BOT_EVENTS,
    BotSeed,
    ChannelSeed,
    DemoIds,
    UsergroupSeed,
    UserSeed,
    WorkspaceSeed,
    demo_workspace,
)
from .timing import Timing
from .typed import channel_mention, group_mention, link, mention, special

__all__ = [
    "DEMO",
    "THREADLINE_BOT_EVENTS",
    "Ack",
    "ApiCall",
    "BotSeed",
    "Channel",
    "ChannelSeed",
    "Delivery",
    "DemoIds",
    "Ephemeral",
    "Faults",
    "Message",
    "Rate",
    "RateLimits",
    "SlackEmulator",
    "SlackError",
    "SlackUser",
    "Timing",
    "User",
    "UserSeed",
    "UsergroupSeed",
    "View",
    "WorkspaceSeed",
    "channel_mention",
    "demo_workspace",
    "group_mention",
    "link",
    "mention",
    "sign",
    "special",
]
