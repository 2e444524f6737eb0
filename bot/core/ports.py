"""The ports: what the core needs from the outside world, as typing Protocols.

Adapters in `storage/`, `integrations/` and `jobs/` implement these; the core only ever sees
the Protocols, so it can be tested with fakes and never imports a platform library.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Protocol

from bot.core.assist import (
    AutoReply,
    Conversation,
    Drafted,
    Summarised,
    Translated,
    Triaged,
)
from bot.core.delivery import DeliveryJob
from bot.core.digest import Digest
from bot.core.domain import Platform
from bot.core.outbound import (
    AutoAnswered,
    DeliveryFailed,
    DraftOffered,
    DraftSettled,
    FollowsUp,
    HandedOff,
    LegacyLine,
    ReplyTranslated,
    SlaBreached,
    SlaReminder,
    SummaryShown,
    SurveyAnswered,
    TicketAssigned,
    TicketClaimed,
    TicketEscalated,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TranslatedEdit,
    TranslatedReply,
    TranslationShown,
)
from bot.core.repositories import (
    AssistRepository,
    CustomerRepository,
    DeliveryRepository,
    InboundRepository,
    JobTicketRepository,
    MessageRepository,
    ModelUseRepository,
    SlaRepository,
    SurveyRepository,
    TicketRepository,
)


class Clock(Protocol):
    """Where the core learns the time; tests move it by hand."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class JobTransaction(SlaRepository, SurveyRepository, JobTicketRepository, Protocol):
    """What the scheduled jobs need, inside the same transaction as everything else."""


class Transaction(
    CustomerRepository,
    TicketRepository,
    MessageRepository,
    DeliveryRepository,
    SlaRepository,
    SurveyRepository,
    InboundRepository,
    ModelUseRepository,
    AssistRepository,
    Protocol,
):
    """The repository seen inside one database transaction.

    Everything done through one Transaction commits together or not at all.
    """

    # Leases: one holder at a time for what only one replica may do (the Discord gateway).
    async def take_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take `name` until `until` if it is free, ran out by `now`, or is `holder`'s
        already (then it is renewed), in one atomic step. True if `holder` holds it now."""
        ...

    async def renew_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Extend `holder`'s lease; False if it is not theirs or ran out by `now`."""
        ...

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up at once (a clean stop); False if it was not `holder`'s."""
        ...

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds `name` at `now`, if anyone."""
        ...

    async def count_leases(self, prefix: str, now: datetime, besides: str) -> int:
        """How many leases whose names start with `prefix` are held at `now`, but `besides`."""
        ...


class AgentWorkspace(Protocol):
    """Where agents work tickets: each ticket has a card and a thread there.

    One method per thing the agents are told. Each returns the platform id of what it
    created (a message copy, the card; several pieces joined by `dispatcher.joined`) or None.
    Raise PlatformError(retryable=True, retry_after=…) for what may succeed later and
    PlatformError(retryable=False) for what never will. A method that sends several parts
    records each with `job.step_done`, so a retry does not send them again.
    """

    # The platform whose ids the copies it makes have (a message's refs are by platform).
    platform: Platform

    async def show_card(self, job: DeliveryJob) -> str | None:
        """Open the ticket's card and thread, or redraw the card as the ticket is now."""
        ...

    async def show_customer_message(self, job: DeliveryJob) -> str | None:
        """The customer's message (`job.message`) in the ticket's thread."""
        ...

    async def show_follow_up(self, job: DeliveryJob, event: FollowsUp) -> str | None: ...

    async def show_agent_message(self, job: DeliveryJob) -> str | None:
        """An agent's reply or internal note (`job.message`, its `direction` says which),
        written in another agent workspace, in the ticket's thread here."""
        ...

    async def ticket_escalated(self, job: DeliveryJob, event: TicketEscalated) -> str | None:
        """In the thread, or (audience ESCALATIONS) to whoever takes escalations."""
        ...

    async def ticket_assigned(self, job: DeliveryJob, event: TicketAssigned) -> str | None: ...

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None: ...

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None: ...

    async def reply_delivered(self, job: DeliveryJob) -> str | None:
        """Mark the agents' reply (`job.message`) as delivered to the customer."""
        ...

    async def delivery_failed(self, job: DeliveryJob, event: DeliveryFailed) -> str | None:
        """Show that something did not reach the customer (mark `job.message` if any)."""
        ...

    async def sla_reminder(self, job: DeliveryJob, event: SlaReminder) -> str | None: ...

    async def sla_breached(self, job: DeliveryJob, event: SlaBreached) -> str | None:
        """In the thread, or (audience LEADS) to each lead."""
        ...

    async def survey_answered(self, job: DeliveryJob, event: SurveyAnswered) -> str | None:
        """In the thread, or (audience LEADS) to each lead."""
        ...

    async def legacy_line(self, job: DeliveryJob, event: LegacyLine) -> str | None: ...

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        """The customer (or an agent in another workspace) edited `job.message`: its copy in
        the thread follows."""
        ...

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        """The customer (or an agent in another workspace) deleted `job.message`: its copy in
        the thread shows it."""
        ...

    async def send_digest(self, digest: Digest) -> None:
        """The leads' daily digest."""
        ...

    # --- the AI features: all for agents only -----------------------------------------

    async def show_summary(self, job: DeliveryJob, event: SummaryShown) -> str | None:
        """A summary as an internal note in the thread."""
        ...

    async def offer_draft(self, job: DeliveryJob, event: DraftOffered) -> str | None:
        """A draft with Send, Edit and Discard (or "no article matches" and the articles that
        may help), in the thread, for agents only."""
        ...

    async def draft_settled(self, job: DeliveryJob, event: DraftSettled) -> str | None:
        """A draft was sent or discarded (maybe in another workspace): its post here
        (`event.post`) says by whom and offers its buttons no more."""
        ...

    async def show_translation(self, job: DeliveryJob, event: TranslationShown) -> str | None:
        """A translation line beneath the customer's message (`job.message`)."""
        ...

    async def reply_translated(self, job: DeliveryJob, event: ReplyTranslated) -> str | None:
        """What the agent's reply (`job.message`) was sent as, beneath it."""
        ...

    async def show_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        """The automated answer the customer was sent (`job.message`), in the thread."""
        ...

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        """The automated answers stopped: a person is wanted."""
        ...


class CustomerChannel(Protocol):
    """Where customers on one platform are answered.

    Return values and errors as for AgentWorkspace.
    """

    # Whether customers here can be sent a satisfaction survey and answer it.
    surveys: bool

    async def send_reply(self, job: DeliveryJob) -> str | None:
        """An agent's reply (`job.message`), every piece of it."""
        ...

    async def ticket_opened(self, job: DeliveryJob, event: TicketOpened) -> str | None: ...

    async def ticket_claimed(self, job: DeliveryJob, event: TicketClaimed) -> str | None: ...

    async def ticket_resolved(self, job: DeliveryJob, event: TicketResolved) -> str | None: ...

    async def ticket_reopened(self, job: DeliveryJob, event: TicketReopened) -> str | None: ...

    async def ticket_closed(self, job: DeliveryJob) -> str | None: ...

    async def awaiting_customer(self, job: DeliveryJob) -> str | None:
        """Nudge a customer the team is waiting on."""
        ...

    async def ask_for_rating(self, job: DeliveryJob) -> str | None:
        """The satisfaction survey."""
        ...

    async def copy_edited(self, job: DeliveryJob) -> str | None:
        """The agent edited `job.message`: what the customer was sent follows."""
        ...

    async def copy_deleted(self, job: DeliveryJob) -> str | None:
        """The agent deleted `job.message`: what the customer was sent goes."""
        ...

    async def send_translated_reply(self, job: DeliveryJob, event: TranslatedReply) -> str | None:
        """An agent's reply (`job.message`) in the customer's language (`event.text`)."""
        ...

    async def edit_translated(self, job: DeliveryJob, event: TranslatedEdit) -> str | None:
        """The agent edited a translated reply (`job.message`): what the customer was sent now
        reads `event.text`."""
        ...

    async def send_auto_answer(self, job: DeliveryJob, event: AutoAnswered) -> str | None:
        """An automated answer (`job.message`), marked as automated, with a way to ask for a
        person."""
        ...

    async def handed_off(self, job: DeliveryJob, event: HandedOff) -> str | None:
        """Tell the customer a person will answer."""
        ...


class Storage(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-write transaction; concurrent writers are serialised or version-checked."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction that only reads (it may not write); never waits for writers."""
        ...

    async def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        ...

    async def close(self) -> None: ...


class Assistant(Protocol):
    """The AI features (`bot/core/assist.py`): each method answers with a model when
    `use_model` is true and one answers, and otherwise with what needs none. None of them
    raises for a model that is down, slow or refuses: that is a `fallback`, not an error.
    Text handed in is the customer's and agents' own; the adapter redacts what leaves."""

    # Whether a model is configured at all (False: only the fallbacks ever answer).
    has_model: bool

    async def triage(self, text: str, *, use_model: bool) -> Triaged: ...

    async def detect_language(self, text: str) -> str | None:
        """The text's language (ISO 639-1), None when it cannot tell."""
        ...

    async def translate(self, text: str, target: str, *, use_model: bool) -> Translated: ...

    async def summarise(self, conversation: Conversation, *, use_model: bool) -> Summarised: ...

    async def draft(self, conversation: Conversation, *, use_model: bool) -> Drafted:
        """A reply for agents, grounded in the knowledge base (never sent by itself)."""
        ...

    async def auto_answer(self, conversation: Conversation, *, use_model: bool) -> AutoReply:
        """An answer for the customer from the knowledge base, or a hand-off; the
        conversation holds no internal notes."""
        ...
