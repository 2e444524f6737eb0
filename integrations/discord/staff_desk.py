"""Agents writing in a ticket's thread in the Discord staff channel: a reply goes to the
customer, a note stays with the team (decided by `bot/core/replies.py`, as in Slack), and their
edits and deletions follow. Only members of the staff (or leads) role are taken; anyone else is
told, in the thread, that nothing was sent."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC

import discord

from bot.config import Policy
from bot.core.domain import Agent, AgentId, Attachment, Direction
from bot.core.errors import DomainError, NoTicketAt, StorageError
from bot.core.events import AgentMessage, CardAt
from bot.core.replies import Outgoing, classify
from bot.core.service import TicketService
from integrations.discord.set_aside import SetAside, agent_payload, delete_payload, edit_payload
from integrations.discord.staff import STAFF_WORKSPACE, StaffPlace, staff_ref
from integrations.discord.storable import storable
from integrations.ordering import KeyedLocks

log = logging.getLogger(__name__)

NOT_STAFF = (
    "Only members of the staff role can answer customers here; nothing was sent to the customer."
)
TOO_LONG = (
    "This reply is {size:,} characters long; replies to customers are limited to {limit:,} "
    "(max_reply_chars), so nothing of it was sent to the customer. Shorten it and post it again."
)
EDIT_NOT_SENT = (
    "Your edit now reads as an internal note, and this reply was already sent to the customer, "
    "so the edit was not sent: the customer still sees the earlier text. "
    "Delete the message to remove it from the customer's side."
)
QUIET = discord.AllowedMentions.none()
# How far back each ticket thread is read when the bot was away and could not resume its
# gateway session (a thread's messages since are far fewer on any real desk).
CATCH_UP_MESSAGES = 100
RELAYED_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


class StaffDesk:
    def __init__(
        self,
        service: TicketService,
        policy: Policy,
        place: StaffPlace,
        client: discord.Client,
        set_aside: SetAside,
    ) -> None:
        self._service = service
        self._policy = policy
        self._place = place
        self._client = client
        self._set_aside = set_aside  # what fails for an unexpected reason: kept and retried
        self._in_order = KeyedLocks()  # per thread, in arrival order
        self._caught_up = asyncio.Event()  # cleared while history is read: live ones wait
        self._caught_up.set()

    def owns(self, channel: object) -> bool:
        """A thread of the staff channel (as discord.py knows it)."""
        return isinstance(channel, discord.Thread) and channel.parent_id == self._place.channel_id

    async def is_ticket_thread(self, channel_id: int) -> bool:
        """For a replay, before discord.py knows the threads: the database knows the cards."""
        return await self._service.ticket_at(str(channel_id), STAFF_WORKSPACE) is not None

    def hold(self) -> None:
        """Live messages wait until `catch_up` has read what was missed: a reply typed while
        the bot was away must reach the customer before one typed after it."""
        self._caught_up.clear()

    async def catch_up(self) -> int:
        """Read the open tickets' threads (the staff channel's active threads) for messages
        agents wrote while Threadline was away and its gateway session could not be resumed;
        those not recorded yet are taken, oldest first. Returns how many were recorded."""
        try:
            return await self._catch_up()
        finally:
            self._caught_up.set()

    async def _catch_up(self) -> int:
        guild = self._client.get_guild(self._place.guild_id)
        if guild is None:
            guild = await self._client.fetch_guild(self._place.guild_id)
        recorded = 0
        roles: dict[int, list[int]] = {}  # history carries no roles: each author looked up once
        for thread in await guild.active_threads():
            if thread.parent_id != self._place.channel_id:
                continue
            ticket = await self._service.ticket_at(str(thread.id), STAFF_WORKSPACE)
            if ticket is None:
                continue
            missed = [m async for m in thread.history(limit=CATCH_UP_MESSAGES)]
            async with self._in_order.hold(str(thread.id)):
                for message in reversed(missed):
                    if message.author.bot or message.type not in RELAYED_TYPES:
                        continue
                    if await self._service.message_at(staff_ref(message.id)) is not None:
                        continue
                    author = message.author.id
                    if author not in roles:
                        roles[author] = await _member_roles(guild, author)
                    if self._place.may_act(roles[author]) and await self._record(message):
                        recorded += 1
        if recorded:
            log.info("Recorded %d agent message(s) written while Threadline was away", recorded)
        return recorded

    async def take(self, message: discord.Message, roles: list[int] | None = None) -> None:
        """An agent's message in a ticket's thread (raises StorageError to be replayed).
        `roles`: the author's, when the message does not carry them (a replayed one)."""
        await self._caught_up.wait()
        async with self._in_order.hold(str(message.channel.id)):
            author = message.author
            if roles is None:
                roles = [r.id for r in author.roles] if isinstance(author, discord.Member) else []
            if not self._place.may_act(roles):
                if await self.is_ticket_thread(message.channel.id):
                    await _tell(message, NOT_STAFF)
                return
            await self._record(message)

    async def _record(self, message: discord.Message) -> bool:
        """Record one agent's message on its thread's ticket; False when it was not (not a
        ticket's thread, refused, or recorded before)."""
        thread = str(message.channel.id)
        files = tuple(
            Attachment(a.filename, a.url, a.size, a.content_type) for a in message.attachments
        )
        outgoing = self._classify(message, files)
        limit = self._policy.replies.max_reply_chars
        if not outgoing.internal and len(outgoing.body) > limit:
            if await self._service.ticket_at(thread, STAFF_WORKSPACE) is not None:
                await _tell(message, TOO_LONG.format(size=len(outgoing.body), limit=limit))
            return False  # (in a thread that is no ticket's, not a reply at all)
        author = message.author
        said = AgentMessage(
            Agent(AgentId(str(author.id)), author.display_name),
            # A note of nothing but its prefix keeps the prefix: a note needs some words.
            outgoing.body if outgoing.body or files else storable(message.content),
            outgoing.internal,
            message.created_at.astimezone(UTC),
            staff_ref(message.id),
            attachments=files,
        )
        try:
            # The ticket is found by its thread in the transaction that records the message.
            recorded = await self._service.add_agent_message(CardAt(thread, STAFF_WORKSPACE), said)
        except NoTicketAt:
            return False  # a thread of the channel that is no ticket's
        except DomainError as refused:  # a reply on a closed ticket, say: told, not retried
            await _tell(message, str(refused))
            return False
        except StorageError:
            raise  # the gateway checkpoint waits for it: Discord replays it after a restart
        except Exception as failed:  # a bug: kept and retried, never stopping what follows
            ticket = await self._service.ticket_at(thread, STAFF_WORKSPACE)
            if ticket is None:  # its card moved meanwhile: nothing to keep it for
                log.exception("Agent message %s failed; its thread is no ticket's now", thread)
                return False
            await self._set_aside.failed(*agent_payload(ticket.number, said), failed)
            return False
        return recorded is not None

    async def edited(self, channel_id: int, message_id: int, content: str) -> None:
        """An agent edited their message: a reply's copy for the customer follows; an edit
        that would turn a sent reply into a note is refused (the customer has it already)."""
        await self._caught_up.wait()
        async with self._in_order.hold(str(channel_id)):
            ref = staff_ref(message_id)
            recorded = await self._service.message_at(ref)
            if recorded is None or recorded.deleted_at is not None or recorded.refs[0] != ref:
                return  # not an agent's message written here
            content = storable(content)
            outgoing = classify(content, self._policy.replies)
            if outgoing.internal and recorded.direction is not Direction.NOTE:
                log.info("Edit of delivered reply %s reads as a note; not relaying it", recorded.id)
                channel = self._client.get_partial_messageable(channel_id)
                await channel.send(EDIT_NOT_SENT, allowed_mentions=QUIET)
                return
            if not outgoing.internal and len(outgoing.body) > self._policy.replies.max_reply_chars:
                return
            body = outgoing.body or content
            try:
                await self._service.edit_message(ref, body)
            except StorageError:
                raise
            except Exception as failed:
                stored = edit_payload(str(message_id), body, STAFF_WORKSPACE)
                await self._set_aside.failed(*stored, failed)

    async def deleted(self, channel_id: int, message_id: int) -> None:
        """An agent deleted their message: what the customer was sent goes (a deleted copy of
        someone else's message changes nothing)."""
        await self._caught_up.wait()
        async with self._in_order.hold(str(channel_id)):
            ref = staff_ref(message_id)
            recorded = await self._service.message_at(ref)
            if recorded is None or not recorded.refs or recorded.refs[0] != ref:
                return
            if recorded.direction is Direction.FROM_CUSTOMER:
                return
            try:
                await self._service.delete_message(ref)
            except StorageError:
                raise
            except Exception as failed:
                stored = delete_payload(str(message_id), STAFF_WORKSPACE)
                await self._set_aside.failed(*stored, failed)

    def _classify(self, message: discord.Message, files: tuple[Attachment, ...]) -> Outgoing:
        mentions = bool(message.mentions or message.role_mentions or message.mention_everyone)
        return classify(
            storable(message.content),
            self._policy.replies,
            mentions_colleague=mentions,
            with_files=bool(files),
        )


async def _member_roles(guild: discord.Guild, user_id: int) -> list[int]:
    """A member's roles, asked of Discord; none for someone who left the server."""
    try:
        member = await guild.fetch_member(user_id)
    except discord.NotFound:
        return []
    return [role.id for role in member.roles]


async def _tell(message: discord.Message, text: str) -> None:
    """Answer in the thread (Discord has no private answer to a message); a failure is logged."""
    try:
        await message.reply(text, mention_author=True, allowed_mentions=QUIET)
    except discord.HTTPException as exc:
        log.warning("Could not answer in thread %s: %s", message.channel.id, exc)
