"""The web playground of `threadline demo`: the emulated worlds side by side, live: the
customer's Discord, the agents' Slack and, when agents work in Discord, the staff channel.

`Playground(sandbox, clock)` serves the page and its API (see `server.py`); `BotClock` is what
it may do with the bot's clock.
"""

from __future__ import annotations

from .controls import BotClock
from .server import Playground, describe_move

__all__ = ["BotClock", "Playground", "describe_move"]
