"""The customer's answer to a satisfaction survey: a rating, then perhaps a comment; and CSAT."""

from __future__ import annotations

from datetime import datetime

from bot.core.domain import Customer, Platform, Ticket, TicketNumber
from bot.core.errors import DomainError, TicketNotFound
from bot.core.outbound import Audience, CardChanged, SurveyAnswered
from bot.core.ports import Transaction
from bot.core.sla import NotificationKey
from bot.core.survey import RATINGS, UNHAPPY, Survey, SurveyOutcome
from bot.core.survey import satisfaction as share_satisfied
from bot.core.usecases.base import UseCaseBase

COMMENT_LIMIT = 1000


class SurveyUseCases(UseCaseBase):
    async def rate(
        self, number: TicketNumber, platform: Platform, customer_id: str, rating: int
    ) -> Survey:
        """Record the customer's rating (a later click changes it until the survey expires).
        Agents see it in the thread and on the card; a low one is brought to the leads."""
        if rating not in RATINGS:
            raise DomainError(f"A rating is from {RATINGS[0]} to {RATINGS[-1]}.")
        now = self.now()
        async with self._once() as tx:
            ticket, customer, survey = await _open_survey(tx, number, platform, customer_id, now)
            await tx.answer_survey(survey.id, rating, None, now)
            await tx.set_ticket_rating(ticket.id, rating)
            answer = SurveyAnswered(customer.display_name, rating, None)
            await self._to_agents(tx, ticket, answer)
            await self._to_agents(tx, ticket, CardChanged())
            unhappy = NotificationKey(ticket.id, "csat", "unhappy")
            if rating <= UNHAPPY and await tx.claim_notification(unhappy, now):
                leads = SurveyAnswered(customer.display_name, rating, None, Audience.LEADS)
                await self._to_agents(tx, ticket, leads)
            found = await tx.get_survey(ticket.id)
        assert found is not None
        return found

    async def comment(
        self, number: TicketNumber, platform: Platform, customer_id: str, text: str
    ) -> Survey:
        """Add the customer's comment to the rating they gave."""
        text = text.strip()[:COMMENT_LIMIT]
        now = self.now()
        async with self._once() as tx:
            ticket, customer, survey = await _open_survey(tx, number, platform, customer_id, now)
            if not text:
                return survey
            await tx.answer_survey(survey.id, None, text, now)
            answer = SurveyAnswered(customer.display_name, survey.rating, text)
            await self._to_agents(tx, ticket, answer)
            if survey.rating is not None and survey.rating <= UNHAPPY:
                leads = SurveyAnswered(customer.display_name, survey.rating, text, Audience.LEADS)
                await self._to_agents(tx, ticket, leads)
            found = await tx.get_survey(ticket.id)
        assert found is not None
        return found

    async def satisfaction(self, since: datetime) -> float | None:
        """CSAT since `since`: the share of ratings that are 4 or 5."""
        return (await self.csat_since(since))[0]

    async def csat_since(self, since: datetime) -> tuple[float | None, int]:
        """CSAT since `since`, and how many ratings it is of."""
        async with self._storage.reading() as tx:
            ratings = await tx.ratings_since(since)
        return share_satisfied(ratings), len(ratings)


async def _open_survey(
    tx: Transaction, number: TicketNumber, platform: Platform, customer_id: str, now: datetime
) -> tuple[Ticket, Customer, Survey]:
    ticket = await tx.get_ticket(number)
    if ticket is None:
        raise TicketNotFound(number)
    customer = await tx.get_customer(ticket.customer_id)
    if customer is None or (customer.platform, customer.external_id) != (platform, customer_id):
        raise DomainError("This survey belongs to someone else's ticket.")
    survey = await tx.get_survey(ticket.id)
    if survey is None or survey.outcome is SurveyOutcome.SKIPPED:
        raise DomainError(f"Ticket #{number} has no survey to answer.")
    if now >= survey.expires_at:
        raise DomainError("This survey has expired; thank you all the same.")
    return ticket, customer, survey
