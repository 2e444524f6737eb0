"""The AI features' use cases: what agents ask of the assistant (a summary, a draft), what they
decide (send or discard a draft, correct the triage, translate replies or not), a customer's
request for a person, and the assistant's own lane (`assist`), which the dispatcher runs like
any other: what it is asked is queued in the transaction that asks, so nothing is lost, and a
slow or absent model holds up neither the customer nor the agents.

The assistant's answers are data: the core decides what they may change. A triage changes the
card (and the priority only when the team said so); a draft waits for an agent; an automated
answer is sent only while no person has taken the ticket, and a hand-off only stops the
automated answers. Nothing a customer writes can make the assistant move a ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.core.ai_policy import AiPolicy, AutoAnswerMode, Feature
from bot.core.assist import (
    AutoReply,
    Conversation,
    Draft,
    Drafted,
    DraftStatus,
    Spend,
    encode_citations,
)
from bot.core.assist_conversation import ASSISTANT_ACTOR, conversation_of
from bot.core.delivery import DeliveryJob, DeliveryStatus, Lane, NewDelivery
from bot.core.domain import (
    Action,
    Agent,
    Direction,
    Message,
    MessageRef,
    NewMessage,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
    Triage,
)
from bot.core.errors import (
    AssistantOff,
    DomainError,
    DraftDecided,
    PlatformError,
    StorageError,
)
from bot.core.events import AgentMessage
from bot.core.model_use import ModelUse
from bot.core.outbound import (
    AgentReplied,
    AssistCustomerMessage,
    AssistDraft,
    AssistEdit,
    AssistReply,
    AssistSummary,
    AutoAnswered,
    CardChanged,
    CopyEdited,
    DraftOffered,
    DraftSettled,
    HandedOff,
    OutboundEvent,
    ReplyTranslated,
    SummaryShown,
    TranslatedEdit,
    TranslatedReply,
    TranslationShown,
)
from bot.core.ports import Assistant, Transaction
from bot.core.usecases.base import MoveArgs
from bot.core.usecases.model_uses import ModelUseCases
from bot.core.usecases.moves import MoveUseCases

log = logging.getLogger(__name__)


class AssistUseCases(MoveUseCases, ModelUseCases):
    # --- what agents ask and decide ------------------------------------------------------

    async def ask_for_summary(self, number: TicketNumber, agent: Agent) -> None:
        """Queue a summary of the ticket for its thread (the Summary button,
        `/threadline summary`). Raises AssistantOff when summaries are off."""
        self._feature(Feature.SUMMARY)

        async def attempt(tx: Transaction) -> None:
            ticket = await self._load(tx, number)
            await self._to_assistant(tx, ticket, AssistSummary("asked", agent.name))

        await self._retrying(attempt)

    async def ask_for_draft(self, number: TicketNumber, agent: Agent) -> None:
        """Queue a drafted reply for the ticket's thread. AssistantOff when drafts are off."""
        self._feature(Feature.DRAFT)

        async def attempt(tx: Transaction) -> None:
            ticket = await self._load(tx, number)
            if ticket.status is Status.CLOSED:
                raise DomainError(f"Ticket #{number} is closed: a reply cannot be sent.")
            await self._to_assistant(tx, ticket, AssistDraft(agent.name))

        await self._retrying(attempt)

    async def get_draft(self, draft_id: int) -> Draft | None:
        async with self._storage.reading() as tx:
            return await tx.get_draft(draft_id)

    async def send_draft(
        self,
        draft_id: int,
        agent: Agent,
        *,
        text: str | None = None,
        ref: MessageRef | None = None,
    ) -> Message:
        """Send an offered draft to the customer as `agent`'s reply (`text`: as the agent
        edited it). `ref` is where the reply shows in the agents' thread (the draft's own post),
        so that its delivery mark lands there. Raises DraftDecided when someone sent or
        discarded it first (it is sent once, however many press Send)."""
        if text is not None and not text.strip():
            raise DomainError("An empty reply cannot be sent.")

        async def attempt(tx: Transaction) -> Message:
            draft = await self._offered(tx, draft_id)
            ticket = await tx.get_ticket_by_id(TicketId(draft.ticket_id))
            if ticket is None:
                raise DomainError("That draft's ticket no longer exists.")
            body = text if text is not None else draft.text
            now = self._clock.now()
            reply = AgentMessage(agent, body, internal=False, sent_at=now, ref=ref)
            message = await self._agent_message(tx, ticket.number, reply)
            if message is None:  # the post was recorded as a message before: never twice
                # Most often by another press of Send, committed while this one waited on
                # the message's key: read again, it says who sent it.
                await self._offered(tx, draft_id)
                raise DraftDecided(DraftStatus.SENT, None)
            if not await tx.decide_draft(draft_id, DraftStatus.SENT, agent.name, now, message.id):
                raise DraftDecided(DraftStatus.SENT, None)  # rolled back with the reply
            origin = ref.workspace if ref is not None else ""
            await self._settled(tx, draft_id, DraftStatus.SENT, agent, origin)
            return message

        return await self._retrying(attempt)

    async def discard_draft(self, draft_id: int, agent: Agent, *, workspace: str = "") -> Draft:
        """Raises DraftDecided when it was sent or discarded first. `workspace`: where it was
        discarded (its post there is redrawn by whoever pressed; the others are told)."""

        async def attempt(tx: Transaction) -> Draft:
            draft = await self._offered(tx, draft_id)
            now = self._clock.now()
            if not await tx.decide_draft(draft_id, DraftStatus.DISCARDED, agent.name, now):
                raise DraftDecided(DraftStatus.DISCARDED, None)
            await self._settled(tx, draft_id, DraftStatus.DISCARDED, agent, workspace)
            return replace(draft, status=DraftStatus.DISCARDED, decided_by=agent.name)

        return await self._retrying(attempt)

    async def _settled(
        self, tx: Transaction, draft_id: int, status: DraftStatus, agent: Agent, origin: str
    ) -> None:
        """Tell each other workspace that shows the draft that it was decided."""
        draft = await tx.get_draft(draft_id)
        assert draft is not None
        now = self._clock.now()
        for workspace, post in (await tx.draft_posts(draft_id)).items():
            if workspace == origin or workspace not in self._workspaces:
                continue
            settled = DraftSettled(draft_id, status.value, agent.name, agent.id, post)
            await tx.add_delivery(
                NewDelivery(TicketId(draft.ticket_id), Lane.AGENTS, settled, now, None, workspace)
            )

    async def _offered(self, tx: Transaction, draft_id: int) -> Draft:
        draft = await tx.get_draft(draft_id)
        if draft is None:
            raise DomainError("That draft no longer exists.")
        if draft.status is not DraftStatus.OFFERED:
            raise DraftDecided(draft.status, draft.decided_by)
        return draft

    async def edit_triage(
        self,
        number: TicketNumber,
        agent: Agent,
        *,
        category: str | None = None,
        sentiment: str | None = None,
        language: str | None = None,
        title: str | None = None,
    ) -> Ticket:
        """An agent corrects the triage shown on the card (the priority is a move of its own:
        `set_priority`). Each field given is set with confidence 1; the card is redrawn."""
        policy = self._feature(Feature.TRIAGE)
        if category is not None and category not in policy.category_names():
            raise DomainError(f"{category!r} is not one of the team's categories.")
        if sentiment is not None and sentiment not in ("negative", "neutral", "positive"):
            raise DomainError("The sentiment is negative, neutral or positive.")

        async def attempt(tx: Transaction) -> Ticket:
            ticket = await self._load(tx, number)
            triage = ticket.triage or _blank_triage(ticket)
            if category is not None:
                triage = replace(triage, category=category, category_confidence=1.0)
            if sentiment is not None:
                triage = replace(triage, sentiment=sentiment, sentiment_confidence=1.0)
            if language is not None:
                triage = replace(triage, language=language or None)
            if title is not None and title.strip():
                triage = replace(triage, title=title.strip())
            triage = replace(triage, edited_by=agent.name)
            await tx.set_ticket_triage(ticket.id, triage)
            await self._to_agents(tx, ticket, CardChanged())
            return replace(ticket, triage=triage)

        return await self._retrying(attempt)

    async def set_translate_replies(self, number: TicketNumber, agent: Agent, on: bool) -> Ticket:
        """Turn translation of agents' replies on or off for one ticket; the card is redrawn."""
        self._feature(Feature.TRANSLATION)

        async def attempt(tx: Transaction) -> Ticket:
            ticket = await self._load(tx, number)
            if ticket.translate_replies != on:
                await tx.set_translate_replies(ticket.id, on)
                await self._to_agents(tx, ticket, CardChanged())
                log.info("Ticket #%s: %s turned translation %s", number, agent.id, on)
            return replace(ticket, translate_replies=on)

        return await self._retrying(attempt)

    async def hand_off(self, number: TicketNumber) -> bool:
        """The customer pressed "Talk to a person": the automated answers stop for this ticket
        and the agents are told. False when they had stopped already (nothing is told twice)."""

        async def attempt(tx: Transaction) -> bool:
            ticket = await self._load(tx, number)
            return await self._hand_off(tx, ticket, by_customer=True)

        return await self._retrying(attempt)

    def categories(self) -> list[str]:
        """The team's triage categories, for a picker."""
        return self._feature(Feature.TRIAGE).category_names()

    def _feature(self, feature: Feature) -> AiPolicy:
        if self.ai is None or self.assistant is None:
            raise AssistantOff("The AI features are not set up for this team.")
        if not self.ai.on(feature):
            raise AssistantOff(f"The {feature.value.replace('_', ' ')} feature is turned off.")
        return self.ai

    async def _hand_off(self, tx: Transaction, ticket: Ticket, *, by_customer: bool) -> bool:
        if ticket.auto_answer_stopped:
            return False
        await tx.set_auto_answer_stopped(ticket.id, True)
        await self._to_agents(tx, ticket, HandedOff(by_customer))
        await self._to_customer(tx, ticket, HandedOff(by_customer))
        return True

    # --- the assistant's lane ------------------------------------------------------------

    async def assist(self, job: DeliveryJob) -> str | None:
        """Carry one delivery on the assistant's lane (registered in `Routes` by the app).

        The answer and the delivery's end are written in one transaction: a crash before it
        asks again (a model call is cheap to repeat, a duplicate post is not), one after it
        finds the delivery done."""
        if self.ai is None or self.assistant is None:
            raise PlatformError("the AI features are not running", retryable=True)
        try:
            await self._carry(self.ai, self.assistant, job)
        except StorageError as error:
            raise PlatformError(f"storage: {error}", retryable=True) from error
        return None

    async def _carry(self, policy: AiPolicy, assistant: Assistant, job: DeliveryJob) -> None:
        use_model = assistant.has_model and await self.may_use_model(policy.daily_tokens)
        match job.event:
            case AssistCustomerMessage():
                await self._customer_message(policy, assistant, job, use_model)
            case AssistSummary() as event:
                await self._summary(assistant, job, event, use_model)
            case AssistDraft() as event:
                await self._draft(assistant, job, event.by, use_model)
            case AssistReply():
                await self._translate_reply(policy, assistant, job, use_model)
            case AssistEdit():
                await self._translate_reply(policy, assistant, job, use_model, edit=True)
            case _:
                raise PlatformError(f"the assistant cannot carry {job.event.type}", retryable=False)

    async def _summary(
        self, assistant: Assistant, job: DeliveryJob, event: AssistSummary, use_model: bool
    ) -> None:
        conversation = await self._read_conversation(job.ticket)
        done = await assistant.summarise(conversation, use_model=use_model)
        shown = SummaryShown(done.text, event.occasion, event.by, done.fallback)

        async def write(tx: Transaction) -> None:
            await self._spent(tx, job, Feature.SUMMARY, done.spent)
            await self._to_agents(tx, job.ticket, shown)

        await self._finish(job, write)

    async def _draft(
        self, assistant: Assistant, job: DeliveryJob, asked_by: str | None, use_model: bool
    ) -> None:
        conversation = await self._read_conversation(job.ticket)
        done = await assistant.draft(conversation, use_model=use_model)
        await self._finish(job, lambda tx: self._offer(tx, job, done, asked_by))

    async def _offer(
        self, tx: Transaction, job: DeliveryJob, done: Drafted, asked_by: str | None
    ) -> None:
        await self._spent(tx, job, Feature.DRAFT, done.spent)
        draft_id: int | None = None
        if done.text:
            now = self._clock.now()
            by_model = done.fallback is None
            draft = await tx.add_draft(job.ticket.id, done.text, done.citations, by_model, now)
            draft_id = draft.id
        citations = encode_citations(done.citations)
        offered = DraftOffered(draft_id, done.text or None, citations, done.fallback, asked_by)
        await self._to_agents(tx, job.ticket, offered)

    async def _customer_message(
        self, policy: AiPolicy, assistant: Assistant, job: DeliveryJob, use_model: bool
    ) -> None:
        """A customer's message: triage a new ticket, a translation line, an automated answer,
        a first draft; each as the policy has them. The model is asked first, for all of it;
        then one transaction writes every answer and ends the delivery."""
        message = job.message
        if message is None or message.deleted_at is not None or not message.body.strip():
            await self._finish(job, _nothing)
            return
        ticket = job.ticket
        first = ticket.triage is None
        triaged = None
        language: str | None = ticket.triage.language if ticket.triage else None
        if first and policy.triage:
            triaged = await assistant.triage(message.body, use_model=use_model)
            language = triaged.triage.language
        elif policy.translation:
            language = await assistant.detect_language(message.body)
        translated = None
        if policy.translation and language and language != policy.team_language:
            translated = await assistant.translate(
                message.body, policy.team_language, use_model=use_model
            )
        answering = self._auto_answers_now(policy, ticket)
        drafting = first and policy.draft
        # Read once, for both: the answer sees it without notes, the draft whole.
        conversation = (
            await self._read_conversation(ticket, language) if answering or drafting else None
        )
        reply = None
        if answering and conversation is not None:
            reply = await assistant.auto_answer(conversation.for_customer(), use_model=use_model)
        drafted = None
        if drafting and conversation is not None and (reply is None or reply.action != "answer"):
            drafted = await assistant.draft(conversation, use_model=use_model)

        async def write(tx: Transaction) -> None:
            if triaged is not None:
                await self._spent(tx, job, Feature.TRIAGE, triaged.spent)
                await self._triaged(tx, policy, job, triaged.triage)
            if translated is not None:
                await self._spent(tx, job, Feature.TRANSLATION, translated.spent)
                if translated.text:
                    source = translated.source or language or "?"
                    line = TranslationShown(source, translated.text)
                    await self._to_agents(tx, ticket, line, message)
            if reply is not None:
                await self._spent(tx, job, Feature.AUTO_ANSWER, reply.spent)
                await self._auto_answered(tx, ticket, reply)
            if drafted is not None:
                await self._offer(tx, job, drafted, None)

        await self._finish(job, write)

    async def _triaged(
        self, tx: Transaction, policy: AiPolicy, job: DeliveryJob, triage: Triage
    ) -> None:
        ticket = await tx.get_ticket_by_id(job.ticket.id)
        if ticket is None or ticket.triage is not None:
            return  # triaged meanwhile (an agent's correction wins)
        await tx.set_ticket_triage(ticket.id, triage)
        foreign = triage.language is not None and triage.language != policy.team_language
        if policy.translation and policy.translate_replies and foreign:
            await tx.set_translate_replies(ticket.id, True)
        if policy.auto_priority and triage.priority != ticket.priority and ticket.status.is_open:
            # The team asked for it; a move like any other, so the card and SLA follow.
            args = MoveArgs(reason="suggested by the triage", priority=triage.priority)
            await self._move(tx, ticket, Action.SET_PRIORITY, ASSISTANT_ACTOR, args)
        else:
            await self._to_agents(tx, ticket, CardChanged())

    def _auto_answers_now(self, policy: AiPolicy, ticket: Ticket) -> bool:
        if policy.auto_answer is AutoAnswerMode.OFF or not self._may_auto_answer(ticket):
            return False
        if policy.auto_answer is AutoAnswerMode.OUTSIDE_HOURS:
            return not self.sla.calendar(ticket.priority).is_open(self._clock.now())
        return True

    async def _auto_answered(self, tx: Transaction, ticket: Ticket, reply: AutoReply) -> None:
        """Send the automated answer, unless a person took the ticket while the model thought
        (they answer now); a hand-off only stops the automated answers."""
        now_ticket = await tx.get_ticket_by_id(ticket.id)
        if now_ticket is None or not self._may_auto_answer(now_ticket):
            return
        if reply.action == "handoff":
            await self._hand_off(tx, now_ticket, by_customer=False)
            return
        if reply.action != "answer" or not reply.text:
            return
        message = await tx.add_message(
            NewMessage(
                ticket_id=ticket.id,
                direction=Direction.TO_CUSTOMER,
                author=ASSISTANT_ACTOR,
                body=reply.text,
                created_at=self._clock.now(),
            )
        )
        if message is not None:
            shown = AutoAnswered(encode_citations(reply.citations))
            await self._to_customer(tx, now_ticket, shown, message)
            await self._to_agents(tx, now_ticket, shown, message)

    @staticmethod
    def _may_auto_answer(ticket: Ticket) -> bool:
        # A claim, an assignment or a person's reply set the flag; a reopen clears it.
        return not ticket.auto_answer_stopped and ticket.status.is_open

    async def _translate_reply(
        self,
        policy: AiPolicy,
        assistant: Assistant,
        job: DeliveryJob,
        use_model: bool,
        *,
        edit: bool = False,
    ) -> None:
        """An agent's reply (or, `edit`, its new text) for a ticket with translation on: sent
        in the customer's language, or as written when that cannot be done (never held back,
        never lost)."""
        message = job.message
        if message is None or message.deleted_at is not None:
            await self._finish(job, _nothing)  # deleted before it went out: nothing to send
            return
        triage = job.ticket.triage
        target = triage.language if triage and triage.language else None
        done = None
        if target and target != policy.team_language:
            done = await assistant.translate(message.body, target, use_model=use_model)

        async def write(tx: Transaction) -> None:
            if done is not None:
                await self._spent(tx, job, Feature.TRANSLATION, done.spent)
            if done is not None and done.text and target:
                sent: OutboundEvent = (
                    TranslatedEdit(done.text, target)
                    if edit
                    else TranslatedReply(done.text, target)
                )
                await self._to_customer(tx, job.ticket, sent, message)
                await self._to_agents(
                    tx, job.ticket, ReplyTranslated(target, done.text, None), message
                )
                return
            as_written = CopyEdited() if edit else AgentReplied()
            await self._to_customer(tx, job.ticket, as_written, message)
            if done is None:
                why = "the customer's language is not known"
            elif done.fallback is None:
                return  # written in the customer's language already
            else:
                why = done.fallback
            shown = ReplyTranslated(target or "?", None, why)
            await self._to_agents(tx, job.ticket, shown, message)

        await self._finish(job, write)

    # --- helpers -------------------------------------------------------------------------

    async def _read_conversation(self, ticket: Ticket, language: str | None = None) -> Conversation:
        async with self._storage.reading() as tx:
            customer = await tx.get_customer(ticket.customer_id)
            messages = await tx.list_messages(ticket.id)
        name = customer.display_name if customer else "Customer"
        known = language or (ticket.triage.language if ticket.triage else None)
        return conversation_of(ticket, name, messages, known)

    async def _spent(
        self, tx: Transaction, job: DeliveryJob, feature: Feature, spent: tuple[Spend, ...]
    ) -> None:
        now = self._clock.now()
        for spend in spent:
            await tx.record_model_use(
                ModelUse(
                    feature.value,
                    spend.model,
                    spend.prompt_tokens,
                    spend.completion_tokens,
                    now,
                    job.ticket.id,
                )
            )

    async def _finish(
        self, job: DeliveryJob, write: Callable[[Transaction], Awaitable[None]]
    ) -> None:
        """Write what the assistant answered and mark the delivery done, in one transaction:
        a crash before it asks the model again, never posts an answer twice."""

        async def attempt(tx: Transaction) -> None:
            await write(tx)
            await tx.finish_delivery(job.delivery.id, DeliveryStatus.DONE, self._clock.now())

        await self._retrying(attempt)


async def _nothing(tx: Transaction) -> None:
    return None


def _blank_triage(ticket: Ticket) -> Triage:
    return Triage(
        category="Other",
        category_confidence=0.0,
        priority=ticket.priority,
        priority_confidence=0.0,
        sentiment="neutral",
        sentiment_confidence=0.0,
        language=None,
        title=ticket.subject,
        by_model=False,
    )


__all__ = ["ASSISTANT_ACTOR", "AssistUseCases"]
