"""The web playground of `threadline demo`: both emulated worlds side by side, live.

`Playground(sandbox, clock)` serves the page and its API (see `server.py`); `BotClock` is what
it may do with the bot's clock.
"""

from __future__ import annotations

from .controls import BotClock
from .server import Playground, describe_move

__all__ = ["BotClock", "Playground", "describe_move"]
