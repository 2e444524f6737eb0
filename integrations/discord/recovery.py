"""Finding what customers sent while Threadline was away.

Discord holds a session's dispatches for a while after its connection drops, and replays them
to a client that RESUMEs it. So at start the session stored by the last process is resumed
first (integrations/discord/resume.py): that finds everything, from new customers too. Only
when Discord refuses (the session is over: it timed out, or the last stop was a clean one, which
ends it) is history read instead, for every customer active recently; a bot cannot list its DM
channels, so a person who had never written before and wrote while the bot was away cannot be
found that way, and the log says so.

Catching up from history holds each affected customer's live messages until their history is
read, and takes as its mark the last message stored before the bot connected, so live traffic
can neither move the mark nor overtake older messages.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import discord

from bot.core.domain import Customer
from bot.core.errors import ThreadlineError
from bot.core.inbound import GatewayCheckpoint
from bot.core.service import TicketService
from integrations.discord.checkpoint import HISTORY_OWED, NAME, GatewayCheckpoints
from integrations.discord.contact import Contacts, Conversation
from integrations.discord.intake import DiscordIntake, is_from_customer
from integrations.discord.resume import ResumeRefused, SessionResumer
from integrations.platforms import DISCORD

log = logging.getLogger(__name__)

# Whose history is read when the session cannot be resumed: customers with a ticket open, or
# changed within this long, the most recently active first, at most this many (each costs two
# rate-limited Discord calls, about 25 customers a second at Discord's global limit).
ACTIVE_WITHIN = timedelta(days=7)
MOST_CUSTOMERS = 2000

Mark = tuple[Customer, str | None]


class Recovery:
    """What a start (or a fresh session within a process) does to find what was missed.

    1. `before_connecting`: resume the stored session, its replay handled before discord.py
       connects; or, when there is none or Discord refuses it, take the history marks and hold
       those customers' live messages.
    2. `session_started` (discord.py's READY, before any of its messages is handled): a second
       session in one process means discord.py identified afresh, so marks are taken then.
       With marks, history is read now and the new session's checkpoint may be stored at once,
       since a HISTORY_OWED row keeps the unfinished catch-up owed across a crash.
    3. `after_ready` (on_ready): a resumed session is ended and the new one's checkpoint
       replaces it; a crash before that resumes the old one again, which still holds it all.
       Until then the old session goes on handing on what it receives, and live messages of
       the new one wait: what was sent between its RESUMED and discord.py's IDENTIFY reached
       only the old one, and is stored first (should that not finish, history is read).
    """

    def __init__(
        self,
        service: TicketService,
        client: discord.Client,
        contacts: Contacts,
        intake: DiscordIntake,
        checkpoints: GatewayCheckpoints,
    ) -> None:
        self._service = service
        self._client = client
        self._contacts = contacts
        self._intake = intake
        self._checkpoints = checkpoints
        self._resumer: SessionResumer | None = None
        self._marks: list[Mark] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.recorded = 0  # messages recorded from history since start
        self.replayed = 0  # dispatches Discord replayed on resuming a session, since start
        checkpoints.on_session = self._session_started

    async def before_connecting(self, token: str) -> None:
        stored = await self._service.gateway_checkpoint(NAME)
        owed = await self._service.gateway_checkpoint(HISTORY_OWED) is not None
        if stored is not None:
            self._intake.hold_all()
            resumer = SessionResumer(stored, token, self._intake.replayed)
            try:
                replayed = await resumer.start()
            except ResumeRefused as refused:
                log.warning(
                    "Discord did not resume the last session (%s); reading history instead",
                    refused,
                )
            else:
                self._resumer = resumer
                self._intake.hold_for_resumed()  # until after_ready has closed it
                self.replayed += replayed
                log.info(
                    "Discord resumed session %s after event %d: %d event(s) replayed",
                    stored.session_id,
                    stored.seq,
                    replayed,
                )
                if not owed:
                    return
                log.info("A catch-up from history was left unfinished; reading history too")
            finally:
                self._intake.release_all()
        else:
            log.info("No Discord session to resume (a first start, or a clean stop before)")
        await self.take_marks()

    async def take_marks(self) -> None:
        """Where each recently active customer's history is read from: their last stored
        message, taken now, before any live message of theirs can be stored."""
        self._intake.hold_all()
        if self._intake.staff is not None:
            self._intake.staff.hold()  # agents' threads are read after the customers' history
        try:
            await self._service.save_gateway_checkpoint(HISTORY_OWED, GatewayCheckpoint("", "", 0))
            self._marks = await self._service.recent_conversations(
                DISCORD, ACTIVE_WITHIN, MOST_CUSTOMERS
            )
            self._intake.hold(c.external_id for c, _ in self._marks)
        finally:
            self._intake.release_all()
        if not self._marks:
            log.info("No recently active Discord customers: no history to read")
            return
        log.warning(
            "Catching up from Discord history for %d customer(s) active in the last %d days. "
            "Messages from anyone who had never written before, sent while Threadline was "
            "away, cannot be found this way (Discord does not let a bot list its DMs).",
            len(self._marks),
            ACTIVE_WITHIN.days,
        )

    def _session_started(self, count: int) -> None:
        if count > 1:
            self._intake.hold_all()  # nothing of the new session is stored before the marks
        self._spawn_history(fresh=count > 1)

    def _spawn_history(self, *, fresh: bool) -> None:
        task = asyncio.create_task(self._read_history(fresh=fresh), name="discord-history")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Catching up from Discord history failed", exc_info=task.exception())

    async def _read_history(self, *, fresh: bool) -> None:
        if fresh:
            await self.take_marks()
        if self._marks is None:
            return  # resumed: the new session's checkpoint waits for on_ready
        marks, self._marks = self._marks, None
        self._checkpoints.enable()
        self.recorded += await self._from_history(marks)
        await self._service.clear_gateway_checkpoint(HISTORY_OWED)

    async def after_ready(self) -> None:
        """discord.py's session is ready: a resumed session is ended, and the new one's
        checkpoint replaces it. What the old session received is handed on first (live
        messages wait for it); if that cannot finish, history is read from the last message
        stored."""
        resumer, self._resumer = self._resumer, None
        if resumer is not None:
            try:
                if not await resumer.close():
                    log.warning("Reading history for what the resumed session did not hand on")
                    await self.take_marks()
                    self._spawn_history(fresh=False)
            finally:
                self._intake.release_resumed()
        self._checkpoints.enable()

    async def catch_up(self) -> int:
        """Read history now for every recently active customer, as a start that cannot resume
        does; the number of messages recorded."""
        await self.take_marks()
        marks, self._marks = self._marks or [], None
        recorded = await self._from_history(marks)
        await self._service.clear_gateway_checkpoint(HISTORY_OWED)
        return recorded

    async def _from_history(self, marks: list[Mark]) -> int:
        recorded = 0
        for customer, last in marks:
            try:
                recorded += await self._catch_up_with(customer, last)
            except (discord.HTTPException, ThreadlineError) as exc:
                log.warning("Could not catch up with %s: %s", customer.display_name, exc)
            finally:
                self._intake.release(customer.external_id)
        staff = self._intake.staff
        if staff is not None:  # after the customers: their messages come first in a thread
            try:
                recorded += await staff.catch_up()
            except (discord.HTTPException, ThreadlineError) as exc:
                log.warning("Could not read the agents' ticket threads: %s", exc)
        if recorded:
            log.info("Recorded %d message(s) sent while Threadline was away", recorded)
        return recorded

    async def _catch_up_with(self, customer: Customer, last: str | None) -> int:
        missed = await self._missed(customer, last)
        recorded = 0
        for i, message in enumerate(missed):
            if message.author.id != int(customer.external_id):
                continue  # the bot's own, or a moderator's in the customer's thread
            if not is_from_customer(message, self._client.user):
                continue
            # A refusal the bot already sent after it (live, or at an earlier start) is not
            # sent again.
            answered = frozenset(m.content for m in missed[i + 1 :] if m.author.bot)
            recorded += await self._intake.take(message, answered)
        return recorded

    async def _missed(self, customer: Customer, last: str | None) -> list[discord.Message]:
        """Everything after `last` where the customer writes to us, oldest first."""
        # A /support request is recorded under its interaction's id: a snowflake too.
        mark = (last or "").removeprefix("interaction:")
        after = discord.Object(int(mark)) if mark.isdigit() else None
        places: list[Conversation] = [await self._contacts.dm(int(customer.external_id))]
        if customer.contact_channel is not None:
            places.append(await self._contacts.conversation(customer))
        found: list[discord.Message] = []
        for place in places:
            found += [m async for m in place.history(after=after, oldest_first=True, limit=None)]
        return sorted(found, key=lambda m: m.id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        resumer, self._resumer = self._resumer, None
        if resumer is not None:
            await resumer.close()
        self._intake.release_resumed()
