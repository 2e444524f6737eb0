"""Which port method carries each event: the agents' lane to the workspace, the customer's lane
to the channel of the customer's platform. An event a side has no method for is refused for
good (a bug, not a platform hiccup): the dispatcher fails it where people see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from bot.core.delivery import MAIN_WORKSPACE, DeliveryJob, Lane
from bot.core.domain import Platform
from bot.core.errors import PlatformError
from bot.core.outbound import (
    AgentReplied,
    AgentWrote,
    AutoAnswered,
    AwaitingCustomer,
    CardChanged,
    CopyDeleted,
    CopyEdited,
    CustomerWrote,
    DeliveryFailed,
    DraftOffered,
    DraftSettled,
    FollowsUp,
    HandedOff,
    LegacyLine,
    ReplyDelivered,
    ReplyTranslated,
    SlaBreached,
    SlaReminder,
    SummaryShown,
    SurveyAnswered,
    SurveyRequested,
    TicketAssigned,
    TicketClaimed,
    TicketClosed,
    TicketEscalated,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TranslatedEdit,
    TranslatedReply,
    TranslationShown,
)
from bot.core.ports import AgentWorkspace, CustomerChannel

# Where a delivery goes: its lane and, on the agents' lane, which workspace ("" on the customer's).
Outlet = tuple[Lane, str]
# What carries the assistant's lane: the core's own use case (`TicketService.assist`).
AssistantDesk = Callable[[DeliveryJob], Awaitable[str | None]]


@runtime_checkable
class Coalescing(Protocol):
    """An agent workspace that can show several waiting messages of one customer as one post
    (each still its own copy: its own ref, edited and deleted on its own). Optional: a
    workspace without it is given each message on its own."""

    @property
    def coalesces(self) -> bool:
        """Whether it wants messages that wait behind its pacing posted together."""
        ...

    def group_size(self, jobs: Sequence[DeliveryJob]) -> int:
        """How many of these consecutive `CustomerWrote` deliveries of one ticket's lane, from
        the first, it would show in one post (1: the first alone)."""
        ...

    async def show_customer_messages(self, jobs: Sequence[DeliveryJob]) -> list[str]:
        """Show these messages together; the ref of each one's copy, in order."""
        ...


class Routes:
    """The registered adapters: agent workspaces by name, a channel per customers' platform.

    Each workspace is an outlet of its own (its deliveries in order, its own send slots), so
    one that is slow or down never holds up another, nor the customers.
    """

    def __init__(
        self,
        workspaces: Mapping[str, AgentWorkspace] | AgentWorkspace | None,
        customers: Mapping[Platform, CustomerChannel],
        assistant: AssistantDesk | None = None,
    ) -> None:
        if workspaces is None:
            workspaces = {}
        elif not isinstance(workspaces, Mapping):
            workspaces = {MAIN_WORKSPACE: workspaces}  # the usual deployment: one workspace
        self.workspaces = dict(workspaces)
        # Looked up once: a Protocol's isinstance reads every member, and claims ask often.
        self._coalescing = {
            name: workspace
            for name, workspace in self.workspaces.items()
            if isinstance(workspace, Coalescing)
        }
        self.customers = dict(customers)
        self.assistant = assistant

    @property
    def outlets(self) -> list[Outlet]:
        """Where something is registered to carry deliveries."""
        agents = [(Lane.AGENTS, name) for name in self.workspaces]
        customers = [(Lane.CUSTOMER, "")] if self.customers else []
        return agents + customers + ([(Lane.ASSISTANT, "")] if self.assistant else [])

    def platform_of(self, job: DeliveryJob) -> Platform | None:
        """The platform whose ids a delivery's copies have."""
        if job.delivery.lane is Lane.CUSTOMER:
            return job.customer.platform
        if job.delivery.lane is Lane.ASSISTANT:
            return None
        workspace = self.workspaces.get(job.delivery.workspace)
        return workspace.platform if workspace is not None else None

    def coalescing(self, outlet: Outlet) -> Coalescing | None:
        """The workspace of `outlet` if it shows waiting customers' messages together."""
        lane, name = outlet
        workspace = self._coalescing.get(name) if lane is Lane.AGENTS else None
        return workspace if workspace is not None and workspace.coalesces else None

    async def carry_group(self, job: DeliveryJob) -> list[str]:
        """`job`'s message and those of the deliveries riding with it, in one post: the ref
        of each one's copy, in order."""
        workspace = self.coalescing(_outlet_of(job))
        if workspace is None:
            # Not sent: taken again, each alone, as the workspace now wants them.
            raise PlatformError("no agent workspace shows messages together", retryable=True)
        return await workspace.show_customer_messages(job.group)

    async def carry(self, job: DeliveryJob) -> str | None:
        if job.delivery.lane is Lane.ASSISTANT:
            if self.assistant is None:
                raise PlatformError("the AI features are not running", retryable=True)
            return await self.assistant(job)
        if job.delivery.lane is Lane.AGENTS:
            workspace = self.workspaces.get(job.delivery.workspace)
            if workspace is None:
                name = job.delivery.workspace
                raise PlatformError(f"no agent workspace {name!r} is connected", retryable=False)
            return await to_agents(workspace, job)
        channel = self.customers.get(job.customer.platform)
        if channel is None:
            where = job.customer.platform
            raise PlatformError(f"no channel reaches customers on {where}", retryable=False)
        return await to_customer(channel, job)


# One case per event type, checked by mypy against each method's signature: a lookup table
# would be shorter but would lose the event's type on the way to the method.
async def to_agents(  # noqa: PLR0911, PLR0912
    workspace: AgentWorkspace, job: DeliveryJob
) -> str | None:
    match job.event:
        case CardChanged():
            return await workspace.show_card(job)
        case CustomerWrote():
            return await workspace.show_customer_message(job)
        case AgentWrote():
            return await workspace.show_agent_message(job)
        case FollowsUp() as event:
            return await workspace.show_follow_up(job, event)
        case TicketEscalated() as event:
            return await workspace.ticket_escalated(job, event)
        case TicketAssigned() as event:
            return await workspace.ticket_assigned(job, event)
        case TicketResolved() as event:
            return await workspace.ticket_resolved(job, event)
        case TicketReopened() as event:
            return await workspace.ticket_reopened(job, event)
        case ReplyDelivered():
            return await workspace.reply_delivered(job)
        case DeliveryFailed() as event:
            return await workspace.delivery_failed(job, event)
        case SlaReminder() as event:
            return await workspace.sla_reminder(job, event)
        case SlaBreached() as event:
            return await workspace.sla_breached(job, event)
        case SurveyAnswered() as event:
            return await workspace.survey_answered(job, event)
        case LegacyLine() as event:
            return await workspace.legacy_line(job, event)
        case CopyEdited():
            return await workspace.copy_edited(job)
        case CopyDeleted():
            return await workspace.copy_deleted(job)
        case SummaryShown() as event:
            return await workspace.show_summary(job, event)
        case DraftOffered() as event:
            return await workspace.offer_draft(job, event)
        case DraftSettled() as event:
            return await workspace.draft_settled(job, event)
        case TranslationShown() as event:
            return await workspace.show_translation(job, event)
        case ReplyTranslated() as event:
            return await workspace.reply_translated(job, event)
        case AutoAnswered() as event:
            return await workspace.show_auto_answer(job, event)
        case HandedOff() as event:
            return await workspace.handed_off(job, event)
    raise PlatformError(f"the agents' side cannot carry {job.event.type}", retryable=False)


async def to_customer(  # noqa: PLR0911, PLR0912
    channel: CustomerChannel, job: DeliveryJob
) -> str | None:
    match job.event:
        case AgentReplied():
            return await channel.send_reply(job)
        case TicketOpened() as event:
            return await channel.ticket_opened(job, event)
        case TicketClaimed() as event:
            return await channel.ticket_claimed(job, event)
        case TicketResolved() as event:
            return await channel.ticket_resolved(job, event)
        case TicketReopened() as event:
            return await channel.ticket_reopened(job, event)
        case TicketClosed():
            return await channel.ticket_closed(job)
        case AwaitingCustomer():
            return await channel.awaiting_customer(job)
        case SurveyRequested():
            return await channel.ask_for_rating(job)
        case CopyEdited():
            return await channel.copy_edited(job)
        case CopyDeleted():
            return await channel.copy_deleted(job)
        case TranslatedReply() as event:
            return await channel.send_translated_reply(job, event)
        case TranslatedEdit() as event:
            return await channel.edit_translated(job, event)
        case AutoAnswered() as event:
            return await channel.send_auto_answer(job, event)
        case HandedOff() as event:
            return await channel.handed_off(job, event)
    raise PlatformError(f"the customer's side cannot carry {job.event.type}", retryable=False)


def _outlet_of(job: DeliveryJob) -> Outlet:
    return job.delivery.lane, job.delivery.workspace
