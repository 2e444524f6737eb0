"""The transition table walked pair by pair: every (status, action) legal or refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.domain import (
    MAX_TIER,
    Action,
    Actor,
    Agent,
    AgentId,
    CustomerId,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
    apply,
    legal_actions,
)
from bot.core.errors import AlreadyClaimed, DomainError, IllegalTransition

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
ANN = Agent(AgentId("UANN"), "Ann")
BOB = Agent(AgentId("UBOB"), "Bob")
AS_BOB = Actor.of_agent(BOB)

S, A = Status, Action
ILLEGAL = IllegalTransition
CLAIMED_BY_ANN = AlreadyClaimed

# (status, held by someone?) -> {action: resulting status, or the error it raises}.
# Every action not listed for a state is refused with IllegalTransition.
EXPECTED: dict[tuple[Status, bool], dict[Action, Status | type[Exception]]] = {
    (S.NEW, False): {
        A.CLAIM: S.CLAIMED,
        A.ASSIGN: S.CLAIMED,
        A.ESCALATE: S.ESCALATED,
        A.RESOLVE: S.RESOLVED,
        A.CLOSE: S.CLOSED,
        A.SET_PRIORITY: S.NEW,
    },
    (S.CLAIMED, True): {
        A.CLAIM: CLAIMED_BY_ANN,
        A.ASSIGN: S.CLAIMED,
        A.UNCLAIM: S.NEW,
        A.ESCALATE: S.ESCALATED,
        A.PEND: S.PENDING,
        A.RESOLVE: S.RESOLVED,
        A.CLOSE: S.CLOSED,
        A.SET_PRIORITY: S.CLAIMED,
    },
    (S.ESCALATED, False): {
        A.CLAIM: S.CLAIMED,
        A.ASSIGN: S.CLAIMED,
        A.ESCALATE: S.ESCALATED,
        A.PEND: S.PENDING,
        A.RESOLVE: S.RESOLVED,
        A.CLOSE: S.CLOSED,
        A.SET_PRIORITY: S.ESCALATED,
    },
    (S.PENDING, True): {
        A.CLAIM: CLAIMED_BY_ANN,
        A.ASSIGN: S.PENDING,
        A.UNCLAIM: S.PENDING,
        A.ESCALATE: S.ESCALATED,
        A.CUSTOMER_REPLY: S.CLAIMED,
        A.RESOLVE: S.RESOLVED,
        A.CLOSE: S.CLOSED,
        A.SET_PRIORITY: S.PENDING,
    },
    (S.PENDING, False): {
        A.CLAIM: S.PENDING,
        A.ASSIGN: S.PENDING,
        A.ESCALATE: S.ESCALATED,
        A.CUSTOMER_REPLY: S.NEW,
        A.RESOLVE: S.RESOLVED,
        A.CLOSE: S.CLOSED,
        A.SET_PRIORITY: S.PENDING,
    },
    (S.RESOLVED, True): {A.REOPEN: S.CLAIMED, A.CLOSE: S.CLOSED},
    (S.RESOLVED, False): {A.REOPEN: S.NEW, A.CLOSE: S.CLOSED},
    (S.CLOSED, True): {},
    (S.CLOSED, False): {},
}


def ticket(status: Status, held: bool, tier: int = 1) -> Ticket:
    return Ticket(
        id=TicketId(7),
        number=TicketNumber(1042),
        customer_id=CustomerId(3),
        subject="Printer on fire",
        status=status,
        priority=Priority.NORMAL,
        tier=tier,
        created_at=T0,
        updated_at=T0,
        assignee=ANN if held else None,
    )


CASES = [
    pytest.param(status, held, action, id=f"{status}-{'held' if held else 'free'}-{action}")
    for (status, held) in EXPECTED
    for action in Action
]


@pytest.mark.parametrize(("status", "held", "action"), CASES)
def test_every_pair(status: Status, held: bool, action: Action) -> None:
    before = ticket(status, held)
    expected = EXPECTED[(status, held)].get(action, ILLEGAL)
    if isinstance(expected, type):
        with pytest.raises(expected) as refused:
            apply(before, action, AS_BOB, T1, priority=Priority.URGENT, assignee=BOB)
        assert "#1042" in str(refused.value)
        assert action not in legal_actions(before)
        return
    moved = apply(
        before, action, AS_BOB, T1, reason="because", priority=Priority.URGENT, assignee=BOB
    )
    assert moved.ticket.status is expected
    assert moved.ticket.updated_at == T1
    assert moved.event.action is action
    assert (moved.event.from_status, moved.event.to_status) == (status, expected)
    assert moved.event.actor == AS_BOB
    assert moved.event.reason == "because"
    assert moved.event.at == T1
    assert action in legal_actions(before)


def test_the_table_covers_every_status() -> None:
    assert {status for status, _ in EXPECTED} == set(Status)


def test_claim_takes_the_ticket_for_the_claimer() -> None:
    moved = apply(ticket(S.NEW, held=False), A.CLAIM, AS_BOB, T1)
    assert moved.ticket.assignee == BOB


def test_losing_claim_names_the_holder() -> None:
    with pytest.raises(AlreadyClaimed) as lost:
        apply(ticket(S.CLAIMED, held=True), A.CLAIM, AS_BOB, T1)
    assert lost.value.holder_name == "Ann"
    assert lost.value.holder_id == "UANN"
    assert "Ann already holds it" in str(lost.value)


def test_only_agents_claim() -> None:
    with pytest.raises(DomainError, match="Only an agent"):
        apply(ticket(S.NEW, held=False), A.CLAIM, Actor.system(), T1)


def test_escalate_raises_the_tier_and_releases_the_ticket() -> None:
    moved = apply(ticket(S.CLAIMED, held=True), A.ESCALATE, AS_BOB, T1)
    assert (moved.ticket.tier, moved.ticket.assignee) == (2, None)
    assert moved.event.detail == "tier 1 → 2"


def test_escalation_stops_at_the_top_tier() -> None:
    with pytest.raises(IllegalTransition, match=f"already at tier {MAX_TIER}"):
        apply(ticket(S.CLAIMED, held=True, tier=MAX_TIER), A.ESCALATE, AS_BOB, T1)


def test_priority_needs_a_new_value() -> None:
    with pytest.raises(IllegalTransition, match="already normal"):
        apply(ticket(S.NEW, held=False), A.SET_PRIORITY, AS_BOB, T1, priority=Priority.NORMAL)
    with pytest.raises(DomainError, match="priority is required"):
        apply(ticket(S.NEW, held=False), A.SET_PRIORITY, AS_BOB, T1)
    moved = apply(ticket(S.NEW, held=False), A.SET_PRIORITY, AS_BOB, T1, priority=Priority.LOW)
    assert moved.ticket.priority is Priority.LOW
    assert moved.event.detail == "priority normal → low"


def test_resolve_reopen_and_close_stamp_their_times() -> None:
    resolved = apply(ticket(S.CLAIMED, held=True), A.RESOLVE, AS_BOB, T1).ticket
    assert resolved.resolved_at == T1
    assert apply(resolved, A.REOPEN, AS_BOB, T1).ticket.resolved_at is None
    assert apply(resolved, A.CLOSE, AS_BOB, T1).ticket.closed_at == T1


def test_a_refused_move_leaves_the_ticket_as_it_was() -> None:
    before = ticket(S.CLOSED, held=True)
    snapshot = repr(before)
    with pytest.raises(IllegalTransition):
        apply(before, A.REOPEN, AS_BOB, T1)
    assert repr(before) == snapshot


@given(st.lists(st.sampled_from(list(Action)), max_size=40), st.booleans())
def test_no_sequence_of_moves_breaks_the_invariants(actions: list[Action], bob: bool) -> None:
    current = ticket(S.NEW, held=False)
    actor = AS_BOB if bob else Actor.of_agent(ANN)
    for action in actions:
        try:
            current = apply(current, action, actor, T1, priority=Priority.HIGH, assignee=ANN).ticket
        except DomainError:
            continue
        assert 1 <= current.tier <= MAX_TIER
        if current.status is S.CLAIMED:
            assert current.assignee is not None
        if current.status in (S.NEW, S.ESCALATED):
            assert current.assignee is None
        assert (current.status is S.RESOLVED) == (current.resolved_at is not None) or (
            current.status is S.CLOSED
        )


def test_assign_gives_the_ticket_to_the_named_agent() -> None:
    moved = apply(ticket(S.CLAIMED, held=True), A.ASSIGN, AS_BOB, T1, assignee=BOB)
    assert moved.ticket.assignee == BOB
    assert moved.event.detail == "Ann → Bob"
    with pytest.raises(IllegalTransition, match="Ann already holds it"):
        apply(ticket(S.CLAIMED, held=True), A.ASSIGN, AS_BOB, T1, assignee=ANN)
    with pytest.raises(DomainError, match="agent to assign"):
        apply(ticket(S.NEW, held=False), A.ASSIGN, AS_BOB, T1)


def test_escalate_to_a_chosen_tier() -> None:
    moved = apply(ticket(S.CLAIMED, held=True), A.ESCALATE, AS_BOB, T1, tier=3)
    assert moved.ticket.tier == 3
    assert moved.event.detail == "tier 1 → 3"
    with pytest.raises(DomainError, match="from 2 to 3"):
        apply(ticket(S.CLAIMED, held=True), A.ESCALATE, AS_BOB, T1, tier=1)
    with pytest.raises(DomainError, match="from 2 to 3"):
        apply(ticket(S.CLAIMED, held=True), A.ESCALATE, AS_BOB, T1, tier=4)
