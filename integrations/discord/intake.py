"""Customers' messages become ticket messages; their edits and deletions follow.

Customers write in DMs, or, when their DMs are closed, in their private support thread. The
thread's messages are taken in only from the customer it belongs to (per the database).

Nothing sent while the bot was away is lost (integrations/discord/recovery.py decides how it is
found: a resumed gateway session replays it, else history is read). Meanwhile live messages
wait: all of them while a resumed session is open (its replay, then what it alone received
before discord.py's own session began), and each customer's own while their history is read, so
that every ticket keeps its order. Each dispatch is reported to the gateway checkpoint once its
message is stored (or found to need no storing), so a crash replays only what is stored already.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC
from typing import Any

import discord

from bot.core.domain import Attachment, MessageRef
from bot.core.errors import CustomerRefused, StorageError
from bot.core.events import CustomerMessage
from bot.core.service import TicketService
from integrations.discord.checkpoint import GatewayCheckpoints
from integrations.discord.contact import Contacts
from integrations.discord.set_aside import (
    Deferred,
    Payload,
    SetAside,
    Waiting,
    delete_payload,
    edit_payload,
    message_payload,
)
from integrations.discord.staff_desk import StaffDesk
from integrations.discord.storable import storable
from integrations.ordering import KeyedLocks
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

RELAYED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
# A database that does not answer is tried again this many times, this far apart, before the
# message is left for the next start's replay.
STORE_TRIES = 4
STORE_PAUSE = 0.5


def customer_message(message: discord.Message) -> CustomerMessage:
    author = message.author
    return CustomerMessage(
        platform=DISCORD,
        message_id=str(message.id),
        customer_id=str(author.id),
        customer_name=storable(author.global_name or author.name),
        body=storable(message.content),
        sent_at=message.created_at.astimezone(UTC),
        attachments=tuple(
            Attachment(storable(a.filename), a.url, a.size, a.content_type)
            for a in message.attachments
        ),
        customer_avatar_url=author.display_avatar.url,
    )


def is_from_customer(message: discord.Message, bot_user: discord.ClientUser | None) -> bool:
    """A person's own message (not the bot's, not a system message), wherever it was sent."""
    return (
        not message.author.bot
        and (bot_user is None or message.author.id != bot_user.id)
        and message.type in RELAYED_TYPES
    )


class DiscordIntake:
    def __init__(
        self,
        service: TicketService,
        client: discord.Client,
        contacts: Contacts,
        checkpoints: GatewayCheckpoints,
        set_aside: SetAside,
    ) -> None:
        self._service = service
        self._client = client
        self._contacts = contacts
        self._checkpoints = checkpoints
        self._set_aside = set_aside
        self._order = KeyedLocks()  # per customer: their messages in arrival order
        self._live = asyncio.Event()  # cleared while a replay runs, or marks are taken
        self._live.set()
        self._resumed = asyncio.Event()  # cleared while a resumed old session is open
        self._resumed.set()
        self._held: dict[str, asyncio.Event] = {}  # customers whose history is being read
        self.staff: StaffDesk | None = None  # agents' threads, when agents work in Discord

    def register(self) -> None:
        self._client.event(self.on_message)
        self._client.event(self.on_raw_message_edit)
        self._client.event(self.on_raw_message_delete)
        self._client.event(self._checkpoints.on_socket_raw_receive)

    # --- holding live traffic while catching up -----------------------------------------

    def hold_all(self) -> None:
        self._live.clear()

    def release_all(self) -> None:
        self._live.set()

    def hold_for_resumed(self) -> None:
        """Live messages wait until the resumed old session has handed on all it received
        (`release_resumed`): a message sent before discord.py's session began reaches only that
        one, and one sent just after it, live, must not overtake it."""
        self._resumed.clear()

    def release_resumed(self) -> None:
        self._resumed.set()

    def hold(self, customer_ids: Iterable[str]) -> None:
        for customer_id in customer_ids:
            self._held.setdefault(customer_id, asyncio.Event())

    def release(self, customer_id: str) -> None:
        held = self._held.pop(customer_id, None)
        if held is not None:
            held.set()

    @contextlib.asynccontextmanager
    async def _in_turn(self, author_id: int, *, live: bool = True) -> AsyncIterator[None]:
        """A customer's turn: live messages wait for any catch-up that concerns them."""
        if live:
            await self._resumed.wait()
            await self._live.wait()
            held = self._held.get(str(author_id))
            if held is not None:
                await held.wait()
        async with self._order.hold(str(author_id)):
            yield

    async def _reporting(self, kind: str, message_id: int, work: Awaitable[None]) -> None:
        """Run one dispatch's handling and tell the checkpoint how it went."""
        try:
            await work
        except Deferred:
            self._checkpoints.failed(kind, message_id)  # until it is stored after all
            return
        except StorageError as exc:
            log.error("Discord message %s not stored (%s); a restart replays it", message_id, exc)
            self._checkpoints.failed(kind, message_id)
            return
        except BaseException:
            self._checkpoints.done(kind, message_id)  # a bug: logged by discord.py, not replayed
            raise
        self._checkpoints.done(kind, message_id)

    # --- live ---------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        await self._reporting("MESSAGE_CREATE", message.id, self._message(message))

    async def _message(
        self,
        message: discord.Message,
        *,
        live: bool = True,
        guild_id: int | None = None,
        roles: list[int] | None = None,
    ) -> None:
        """`guild_id` and `roles`: the dispatch's (a replayed message is fetched before
        discord.py knows the server, so the message itself says no guild, and its author is a
        bare user)."""
        if not is_from_customer(message, self._client.user):
            return
        in_guild = message.guild is not None or guild_id is not None
        if in_guild and await self._in_staff_thread(message.channel.id, live):
            assert self.staff is not None
            await self.staff.take(message, roles)
            return
        in_dm = not in_guild
        if isinstance(message.channel, discord.DMChannel):
            self._contacts.dms[message.author.id] = message.channel
        async with self._in_turn(message.author.id, live=live):
            if in_dm or await self._in_own_thread(message, known=live):
                await self.take(message)
            # else: the server's other channels are none of Threadline's business

    async def _in_staff_thread(self, channel_id: int, live: bool) -> bool:
        """A ticket's thread in the staff channel: by discord.py's cache when live, by the
        database in a replay (before the cache knows the threads)."""
        if self.staff is None:
            return False
        if live:
            return self.staff.owns(self._client.get_channel(channel_id))
        return await self.staff.is_ticket_thread(channel_id)

    async def _in_own_thread(self, message: discord.Message, *, known: bool = True) -> bool:
        """`known`: discord.py's cache knows the server's threads (not yet, in a replay before
        it connects): a cheap test that spares a database read for every server message."""
        if known and not self._contacts.is_support_thread(message.channel.id):
            return False
        customer = await self._service.find_customer(DISCORD, str(message.author.id))
        return customer is not None and customer.contact_channel == str(message.channel.id)

    async def take(self, message: discord.Message, answered: frozenset[str] = frozenset()) -> bool:
        """Record one message; a refusal is answered (unless `answered` holds that answer
        already). False when it was not recorded."""
        received = customer_message(message)
        if self._set_aside.holds(received.customer_id):
            # An earlier message of theirs is set aside: this one waits in line behind it.
            await self._keep(message_payload(received), Waiting(), "MESSAGE_CREATE", message.id)
            return False
        try:
            intake = await _patiently(lambda: self._service.receive_customer_message(received))
        except CustomerRefused as refused:
            log.info("Not recorded: %s", refused)
            if refused.reply and refused.reply not in answered:  # blocked: not answered at all
                await _answer(message, refused.reply)
            return False
        except Exception as exc:  # a bug, or the database away for longer than a moment
            await self._keep(message_payload(received), exc, "MESSAGE_CREATE", message.id)
            return False
        return not intake.duplicate

    async def _keep(
        self, stored: tuple[str, Payload], exc: Exception, kind: str, message_id: int
    ) -> None:
        """Set a failed event aside to be retried. Held in memory while the database is away:
        its dispatch then holds the gateway checkpoint back until it is stored."""
        kept = functools.partial(self._checkpoints.done, kind, message_id)
        if not await self._set_aside.failed(*stored, exc, kept):
            raise Deferred(stored[0]) from exc

    def _followed(self, channel_id: int | None, guild_id: int | None, live: bool) -> bool:
        """Edits and deletions that may concern a recorded message: DMs and support threads
        (in a replay, before discord.py knows the threads, any: the service follows only
        recorded messages)."""
        if guild_id is None or not live:
            return True
        return channel_id is not None and self._contacts.is_support_thread(channel_id)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        work = self._edited(payload.channel_id, payload.guild_id, payload.message_id, payload.data)
        await self._reporting("MESSAGE_UPDATE", payload.message_id, work)

    async def _edited(
        self,
        channel_id: int | None,
        guild_id: int | None,
        message_id: int,
        data: Any,
        *,
        live: bool = True,
    ) -> None:
        fields: dict[str, Any] = dict(data)  # a partial message: any field may be absent
        author = fields.get("author") or {}
        if author.get("bot") or "content" not in fields:
            return
        if (
            guild_id is not None
            and channel_id is not None
            and await self._in_staff_thread(channel_id, live)
        ):
            assert self.staff is not None
            await self.staff.edited(channel_id, message_id, str(fields["content"]))
            return
        if not self._followed(channel_id, guild_id, live):
            return
        ref = MessageRef(DISCORD, str(message_id))
        body = storable(str(fields.get("content", "")))
        author_id = int(author["id"]) if str(author.get("id", "")).isdigit() else 0
        async with self._in_turn(author_id, live=live):
            try:
                await _patiently(lambda: self._service.edit_message(ref, body))
            except Exception as exc:
                await self._keep(
                    edit_payload(str(message_id), body), exc, "MESSAGE_UPDATE", message_id
                )

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        work = self._deleted(payload.channel_id, payload.guild_id, payload.message_id)
        await self._reporting("MESSAGE_DELETE", payload.message_id, work)

    async def _deleted(
        self, channel_id: int | None, guild_id: int | None, message_id: int, *, live: bool = True
    ) -> None:
        if (
            guild_id is not None
            and channel_id is not None
            and await self._in_staff_thread(channel_id, live)
        ):
            assert self.staff is not None
            await self.staff.deleted(channel_id, message_id)
            return
        if not self._followed(channel_id, guild_id, live):
            return
        ref = MessageRef(DISCORD, str(message_id))
        if live:
            await self._resumed.wait()
            await self._live.wait()
        # Only the customer's own: the bot's deletions (of a reply's pieces) come back here too.
        try:
            await _patiently(lambda: self._service.delete_customer_message(ref))
        except Exception as exc:
            await self._keep(delete_payload(str(message_id)), exc, "MESSAGE_DELETE", message_id)

    # --- replayed by Discord on RESUME --------------------------------------------------

    async def replayed(self, kind: str, data: dict[str, Any]) -> None:
        """One dispatch replayed from a resumed session (raw gateway JSON), handled as it
        would have been live. The message is fetched (one REST call) for a discord.py object."""
        channel_id = _snowflake(data.get("channel_id"))
        guild_id = _snowflake(data.get("guild_id"))
        message_id = _snowflake(data.get("id"))
        if channel_id is None or message_id is None:
            return
        if kind == "MESSAGE_CREATE":
            author = data.get("author") or {}
            if author.get("bot") or data.get("type") not in (0, 19):
                return
            channel = self._client.get_partial_messageable(
                channel_id,
                guild_id=guild_id,
                type=discord.ChannelType.private if guild_id is None else None,
            )
            try:
                message = await channel.fetch_message(message_id)
            except discord.NotFound:
                return  # deleted since: the deletion is in the replay too
            member = data.get("member") or {}
            roles = [r for r in (_snowflake(x) for x in member.get("roles") or []) if r]
            await self._message(message, live=False, guild_id=guild_id, roles=roles)
        elif kind == "MESSAGE_UPDATE":
            await self._edited(channel_id, guild_id, message_id, data, live=False)
        elif kind == "MESSAGE_DELETE":
            await self._deleted(channel_id, guild_id, message_id, live=False)


async def _patiently(call: Callable[[], Awaitable[Any]]) -> Any:
    """`call`, tried again while the database does not answer (a few times, briefly)."""
    for attempt in range(1, STORE_TRIES + 1):
        try:
            return await call()
        except StorageError:
            if attempt == STORE_TRIES:
                raise
            await asyncio.sleep(STORE_PAUSE * attempt)
    raise AssertionError("unreachable")


def _snowflake(value: Any) -> int | None:
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else None


async def _answer(message: discord.Message, text: str) -> None:
    # An answer that cannot be sent (DMs closed since) must not stop what comes after it.
    try:
        await message.channel.send(text)
    except discord.HTTPException as exc:
        log.warning("Could not answer message %s: %s", message.id, exc)
