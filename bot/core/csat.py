"""The customer's answer to a satisfaction survey: a rating, then perhaps a comment."""

from __future__ import annotations

from datetime import datetime

from bot.core.delivery import DeliveryKind
from bot.core.domain import Customer, Platform, Ticket, TicketNumber
from bot.core.errors import DomainError, TicketNotFound
from bot.core.ports import Transaction
from bot.core.service import TicketService
from bot.core.sla import NotificationKey
from bot.core.survey import RATINGS, UNHAPPY, Survey, SurveyOutcome
from bot.core.survey import satisfaction as share_satisfied

COMMENT_LIMIT = 1000


async def rate(
    service: TicketService, number: TicketNumber, customer_id: str, rating: int
) -> Survey:
    """Record the customer's rating (a later click changes it until the survey expires).
    Agents see it in the thread and on the card; a low one is brought to the leads."""
    if rating not in RATINGS:
        raise DomainError(f"A rating is from {RATINGS[0]} to {RATINGS[-1]}.")
    now = service.now()
    async with service.working() as tx:
        ticket, customer, survey = await _open_survey(tx, number, customer_id, now)
        await tx.answer_survey(survey.id, rating, None, now)
        await tx.set_ticket_rating(ticket.id, rating)
        answer = {"rating": rating, "customer": customer.display_name}
        await service.enqueue_in(tx, ticket, DeliveryKind.NOTICE, {"csat": answer})
        await service.enqueue_in(tx, ticket, DeliveryKind.TICKET_CARD, {})
        unhappy = NotificationKey(ticket.id, "csat", "unhappy")
        if rating <= UNHAPPY and await tx.claim_notification(unhappy, now):
            await service.enqueue_in(
                tx, ticket, DeliveryKind.NOTICE, {"to": "leads", "csat": answer}
            )
        found = await tx.get_survey(ticket.id)
    assert found is not None
    return found


async def comment(
    service: TicketService, number: TicketNumber, customer_id: str, text: str
) -> Survey:
    """Add the customer's comment to the rating they gave."""
    text = text.strip()[:COMMENT_LIMIT]
    now = service.now()
    async with service.working() as tx:
        ticket, customer, survey = await _open_survey(tx, number, customer_id, now)
        if not text:
            return survey
        await tx.answer_survey(survey.id, None, text, now)
        answer = {"rating": survey.rating, "customer": customer.display_name, "comment": text}
        await service.enqueue_in(tx, ticket, DeliveryKind.NOTICE, {"csat": answer})
        if survey.rating is not None and survey.rating <= UNHAPPY:
            await service.enqueue_in(
                tx, ticket, DeliveryKind.NOTICE, {"to": "leads", "csat": answer}
            )
        found = await tx.get_survey(ticket.id)
    assert found is not None
    return found


async def satisfaction(service: TicketService, since: datetime) -> float | None:
    """CSAT since `since`: the share of ratings that are 4 or 5."""
    return (await csat_since(service, since))[0]


async def csat_since(service: TicketService, since: datetime) -> tuple[float | None, int]:
    """CSAT since `since`, and how many ratings it is of."""
    async with service.reading() as tx:
        ratings = await tx.ratings_since(since)
    return share_satisfied(ratings), len(ratings)


async def _open_survey(
    tx: Transaction, number: TicketNumber, customer_id: str, now: datetime
) -> tuple[Ticket, Customer, Survey]:
    ticket = await tx.get_ticket(number)
    if ticket is None:
        raise TicketNotFound(number)
    customer = await tx.get_customer(ticket.customer_id)
    if customer is None or (customer.platform, customer.external_id) != (
        Platform.DISCORD,
        customer_id,
    ):
        raise DomainError("This survey belongs to someone else's ticket.")
    survey = await tx.get_survey(ticket.id)
    if survey is None or survey.outcome is SurveyOutcome.SKIPPED:
        raise DomainError(f"Ticket #{number} has no survey to answer.")
    if now >= survey.expires_at:
        raise DomainError("This survey has expired; thank you all the same.")
    return ticket, customer, survey
