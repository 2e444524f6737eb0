"""What every `threadline` subcommand starts with: the settings (and logging set up from them),
and one event loop to run its work in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bot.config import Settings, load_settings
from bot.logs import configure

T = TypeVar("T")


def settings() -> Settings:
    found = load_settings()
    configure(found.log_level, found.log_format)
    # Alembic narrates every step at INFO, and APScheduler every run of every job (thousands of
    # lines a day); our own log lines say what matters.
    quiet = max(logging.WARNING, logging.getLevelName(found.log_level))
    logging.getLogger("alembic").setLevel(quiet)
    logging.getLogger("apscheduler").setLevel(quiet)
    return found


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())
