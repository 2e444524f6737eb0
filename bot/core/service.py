"""TicketService: every use case, by concern (`bot/core/usecases/`), behind one object.

A use case loads the ticket, lets `domain.apply()` decide, saves with a version check and records
the event. When another writer got there first the whole use case is retried on fresh state, so
the loser of a race gets the domain's answer for the ticket as it now is (for a claim: who won).
The adapters and the jobs call these public methods only; none of them holds a transaction.
"""

from __future__ import annotations

from bot.core.usecases.assist import AssistUseCases
from bot.core.usecases.base import shown_due
from bot.core.usecases.inbound import InboundUseCases
from bot.core.usecases.intake import SUBJECT_LENGTH, IntakeUseCases, subject_of
from bot.core.usecases.jobs import JobUseCases
from bot.core.usecases.model_uses import ModelUseCases
from bot.core.usecases.moves import MoveUseCases
from bot.core.usecases.queries import QueryUseCases, Stats, TicketDetail
from bot.core.usecases.sla_sweep import SlaSweepUseCases
from bot.core.usecases.surveys import SurveyUseCases

__all__ = ["SUBJECT_LENGTH", "Stats", "TicketDetail", "TicketService", "shown_due", "subject_of"]


class TicketService(
    IntakeUseCases,
    AssistUseCases,  # and the moves and conversation it builds on
    MoveUseCases,
    QueryUseCases,
    InboundUseCases,
    JobUseCases,
    SlaSweepUseCases,
    SurveyUseCases,
    ModelUseCases,
):
    """The core's one entry point for adapters, the CLI and the scheduled jobs."""
