"""Thread rules shared by the REST routes and the people: names, the active-thread cap,
and the unarchiving that writing in an archived thread causes."""

from __future__ import annotations

from .broadcast import Broadcaster
from .errors import ApiError, field_error, invalid_form
from .model import JSON, Channel, Guild
from .world import World

MAX_THREAD_NAME = 100


def thread_name(body: JSON) -> str:
    """The body's thread name, 1..100 characters (else 400 Invalid Form Body on `name`)."""
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= MAX_THREAD_NAME:
        raise invalid_form(
            {
                "name": field_error(
                    "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_THREAD_NAME} in length."
                )
            }
        )
    return name


def check_room(world: World, guild: Guild | None, max_active: int) -> None:
    """Refuse one more active thread in a guild at its cap (Discord: 1000), with 160006."""
    if guild is not None and len(world.active_threads(guild)) >= max_active:
        raise ApiError(400, 160006, "Maximum number of active threads reached")


def reopen_thread(world: World, events: Broadcaster, max_active: int, thread: Channel) -> None:
    """Unarchive an archived thread that is not locked (someone wrote in it): THREAD_UPDATE."""
    if not thread.archived or thread.locked:
        return
    check_room(world, world.guild_of(thread), max_active)
    world.set_archived(thread, False)
    events.thread_updated(thread)
