"""Agents at work in Slack, end to end: Bolt (Socket Mode and HTTP mode) against the emulator."""

from __future__ import annotations

import copy

from bot.core.domain import Direction, Priority, Status, TicketNumber
from integrations.sandbox.slack import DEMO, group_mention, mention
from storage.repository import SqlStorage
from tests.slack.conftest import Desk
from tests.support import eventually


async def reached_customer(desk: Desk, count: int) -> list[str]:
    async def bodies() -> list[str] | None:
        found = desk.inbox.bodies()
        return found if len(found) >= count else None

    return await eventually(bodies, what=f"{count} message(s) to reach the customer")


async def status_is(desk: Desk, number: TicketNumber, wanted: Status) -> None:
    async def check() -> bool:
        return (await desk.service.get_ticket(number)).status is wanted

    await eventually(check, what=f"#{number} to become {wanted}")


async def test_an_agent_reply_in_the_thread_reaches_the_customer(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "My printer is on fire")
    channel, root = desk.thread_of(ticket)
    ts = await desk.slack.user(DEMO.agent1).post(channel, "Unplug it, please.", thread_ts=root)

    assert await reached_customer(desk, 1) == ["Unplug it, please."]
    detail = await desk.detail(ticket.number)
    reply = detail.messages[-1]
    assert (reply.direction, reply.author.id, reply.author.name) == (
        Direction.TO_CUSTOMER,
        DEMO.agent1,
        "alice",
    )
    assert detail.ticket.first_response_at is not None
    await desk.slack.wait_for(
        lambda: desk.slack.message(channel, ts).reactions.get("white_check_mark"), timeout=5
    )


async def test_notes_and_mentions_stay_in_slack(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, ";; third time this week", thread_ts=root)
    await agent.post(channel, f"{mention(DEMO.agent2)} can you take this?", thread_ts=root)
    await agent.post(channel, "note: check billing", thread_ts=root)

    async def three_notes() -> bool:
        messages = (await desk.detail(ticket.number)).messages
        return sum(m.direction is Direction.NOTE for m in messages) == 3

    await eventually(three_notes, what="three notes")
    assert desk.inbox.changes == []
    bodies = [m.body for m in (await desk.detail(ticket.number)).messages[1:]]
    assert bodies == [
        "third time this week",
        f"<@{DEMO.agent2}> can you take this?",
        "check billing",
    ]


async def test_leads_may_reply(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.lead).post(channel, "Leads can answer too", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Leads can answer too"]


async def test_buttons_on_the_card_work_the_ticket(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)

    await desk.slack.user(DEMO.agent1).click(channel, root, "Claim")
    await status_is(desk, ticket.number, Status.CLAIMED)
    await desk.slack.wait_for(
        lambda: "Unclaim" in str(desk.slack.message(channel, root).blocks), timeout=5
    )
    await desk.slack.user(DEMO.lead).click(channel, root, "Unclaim")
    await status_is(desk, ticket.number, Status.NEW)
    await desk.slack.user(DEMO.lead).select(channel, root, "Urgent")

    async def urgent() -> bool:
        return (await desk.service.get_ticket(ticket.number)).priority is Priority.URGENT

    await eventually(urgent, what="the priority change")
    events = [e.action.value for e in (await desk.detail(ticket.number)).events]
    assert events == ["open", "claim", "unclaim", "set_priority"]


async def ephemeral_to(desk: Desk, user: str, count: int = 1) -> list[str]:
    await desk.slack.wait_for(lambda: len(desk.slack.ephemerals(user)) >= count, timeout=5)
    return [e.text for e in desk.slack.ephemerals(user)]


async def test_a_non_agent_is_told_and_nothing_reaches_the_customer(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.agent2).post(channel, "I can help!", thread_ts=root)
    (told,) = await ephemeral_to(desk, DEMO.agent2)
    assert told.startswith("Only support agents can act on tickets")
    await desk.slack.user(DEMO.agent2).click(channel, root, "Claim")
    await ephemeral_to(desk, DEMO.agent2, 2)
    detail = await desk.detail(ticket.number)
    assert [m.body for m in detail.messages] == ["Help"]
    assert detail.ticket.status is Status.NEW
    assert desk.inbox.changes == []


async def test_a_claim_race_loser_is_told_who_won(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    old_card = copy.deepcopy(desk.slack.message(channel, root))  # what the lead still sees
    await desk.slack.user(DEMO.agent1).click(channel, root, "Claim")
    await status_is(desk, ticket.number, Status.CLAIMED)
    # The lead still sees the old card (a Claim button) and clicks it.
    await desk.click_on(DEMO.lead, old_card, "Claim")
    (told,) = await ephemeral_to(desk, DEMO.lead)
    assert told == f"<@{DEMO.agent1}> already holds #{ticket.number}."


async def test_forged_and_broken_values_are_refused(desk: Desk) -> None:
    first = await desk.customer_writes("m1", "Help", customer="1")
    second = await desk.customer_writes("m2", "Other", customer="2")
    channel, root = desk.thread_of(first)
    card = desk.slack.message(channel, root)
    await desk.click_on(DEMO.agent1, card, "Claim", value=str(second.number))
    await desk.click_on(DEMO.agent1, card, "Claim", value="1001; DROP TABLE")
    await desk.click_on(DEMO.agent1, card, "Claim", value="999999")
    told = await ephemeral_to(desk, DEMO.agent1, 3)
    assert sorted(told) == [  # clicks are handled concurrently, so in any order
        "This control does not belong to ticket #1002.",
        "This control names no ticket; nothing was changed.",
        "Ticket #999999 does not exist.",
    ]
    for number in (first.number, second.number):
        assert (await desk.service.get_ticket(number)).status is Status.NEW


async def test_agent_edits_and_deletes_reach_the_customer_copy(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    ts = await agent.post(channel, "Try restartng", thread_ts=root)
    await reached_customer(desk, 1)
    await agent.edit(channel, ts, "Try restarting")
    await agent.delete(channel, ts)

    async def both() -> list[str] | None:
        kinds = [s.what for s in desk.inbox.changes]
        return kinds if len(kinds) >= 3 else None

    assert await eventually(both, what="the edit and the delete") == [
        "reply",
        "edited",
        "deleted",
    ]
    assert desk.inbox.changes[1].message is not None
    assert desk.inbox.changes[1].message.body == "Try restarting"


async def test_a_reply_to_a_closed_ticket_is_refused_with_a_reason(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.agent1).click(channel, root, "Close")
    await status_is(desk, ticket.number, Status.CLOSED)
    await desk.slack.user(DEMO.agent1).post(channel, "One more thing", thread_ts=root)
    (told,) = await ephemeral_to(desk, DEMO.agent1)
    assert "Closed tickets take notes only" in told
    assert desk.inbox.changes == []


async def test_an_unknown_control_is_answered_and_changes_nothing(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    card = copy.deepcopy(desk.slack.message(channel, root))
    assert card.blocks is not None
    for block in card.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "ticket_claim":
                element["action_id"] = "ticket_teleport"
    await desk.click_on(DEMO.agent1, card, "Claim")
    (told,) = await ephemeral_to(desk, DEMO.agent1)
    assert told.startswith("This control is not one Threadline knows")
    assert (await desk.service.get_ticket(ticket.number)).status is Status.NEW


async def test_replies_in_threads_that_are_no_ticket_are_left_alone(desk: Desk) -> None:
    await desk.customer_writes("m1", "Help")
    agent = desk.slack.user(DEMO.agent1)
    chatter = await agent.post(DEMO.support, "Lunch, anyone?")
    await agent.post(DEMO.support, "Yes please", thread_ts=chatter)
    await agent.post(DEMO.support, ";; and a note", thread_ts=chatter)
    # A later reply in a real ticket thread is handled, so the earlier ones were seen.
    ticket = (await desk.service.list_tickets())[0]
    channel, root = desk.thread_of(ticket)
    await agent.post(channel, "Hello!", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Hello!"]
    assert [m.body for m in (await desk.detail(ticket.number)).messages] == ["Help", "Hello!"]
    assert desk.slack.ephemerals(DEMO.agent1) == []


async def test_a_reply_edited_into_a_note_is_not_sent_and_the_agent_is_told(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    ts = await agent.post(channel, "Your refund is on its way.", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Your refund is on its way."]

    notes = [
        ";; wrong customer, this was for #1003",
        "note: refund not approved yet",
        f"{mention(DEMO.agent2)} was this refund approved?",
        f"{group_mention('S0LEADS', 'leads')} who approves refunds?",
    ]
    for count, note in enumerate(notes, start=1):
        await agent.edit(channel, ts, note)
        told = await ephemeral_to(desk, DEMO.agent1, count)
        assert told[-1].startswith("Your edit now reads as an internal note")
        assert "the customer still sees the earlier text" in told[-1]
        assert desk.slack.ephemerals(DEMO.agent1)[-1].thread_ts == root  # in the thread

    # A later edit that reads as a reply again is relayed as usual: it comes after the
    # refused ones in the same thread, so had any of them been relayed it would show first.
    await agent.edit(channel, ts, "Your refund is on its way (3-5 days).")
    assert await reached_customer(desk, 2) == [
        "Your refund is on its way.",
        "Your refund is on its way (3-5 days).",
    ]
    assert [s.what for s in desk.inbox.changes] == ["reply", "edited"]


async def test_an_edited_note_stays_a_note(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    ts = await agent.post(channel, ";; they are on the old plan", thread_ts=root)
    # Edited into words that would be a reply if written fresh; still a note.
    await agent.edit(channel, ts, "You are on the old plan, I will upgrade you.")

    async def edited() -> bool:
        note = (await desk.detail(ticket.number)).messages[-1]
        return note.body == "You are on the old plan, I will upgrade you."

    await eventually(edited, what="the note's edit to be recorded")
    note = (await desk.detail(ticket.number)).messages[-1]
    assert note.direction is Direction.NOTE
    # A reply posted after the edit reaches the customer alone (so the edit went nowhere).
    await agent.post(channel, "Upgraded, enjoy!", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Upgraded, enjoy!"]
    assert [s.what for s in desk.inbox.changes] == ["reply"]
    assert desk.slack.ephemerals(DEMO.agent1) == []


async def test_a_file_alone_reaches_the_customer(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Can you send me the manual?")
    channel, root = desk.thread_of(ticket)
    await desk.slack.user(DEMO.agent1).post(
        channel, "", thread_ts=root, files=[("manual.pdf", b"%PDF-1.7 the manual")]
    )

    async def delivered() -> list[object] | None:
        return list(desk.inbox.changes) or None

    (job,) = await eventually(delivered, what="the file to reach the customer")
    assert job.what == "reply"
    assert job.message is not None
    assert job.message.body == ""
    assert [(a.filename, a.size) for a in job.message.attachments] == [("manual.pdf", 19)]
    assert job.message.direction is Direction.TO_CUSTOMER


async def test_a_file_with_a_note_prefix_stays_a_note(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, ";; their logs", thread_ts=root, files=[("logs.txt", b"oops")])
    await agent.post(channel, "Looking at it now.", thread_ts=root)
    assert await reached_customer(desk, 1) == ["Looking at it now."]
    note = (await desk.detail(ticket.number)).messages[1]
    assert (note.direction, note.body, len(note.attachments)) == (Direction.NOTE, "their logs", 1)


async def test_reopen_on_a_resolved_tickets_card(desk: Desk) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    agent = desk.slack.user(DEMO.agent1)
    await agent.click(channel, root, "Claim")
    await status_is(desk, ticket.number, Status.CLAIMED)
    await desk.slack.wait_for(
        lambda: "Resolve" in str(desk.slack.message(channel, root).blocks), timeout=5
    )
    await agent.click(channel, root, "Resolve")
    await desk.slack.wait_for(lambda: agent.modal is not None, timeout=5)
    await agent.submit({})
    await status_is(desk, ticket.number, Status.RESOLVED)
    await desk.slack.wait_for(
        lambda: "Reopen" in str(desk.slack.message(channel, root).blocks), timeout=5
    )

    await agent.click(channel, root, "Reopen")
    await status_is(desk, ticket.number, Status.CLAIMED)  # back to the one who held it
    reopened = await desk.service.get_ticket(ticket.number)
    assert reopened.resolved_at is None
    assert reopened.assignee is not None
    assert reopened.assignee.id == DEMO.agent1
    events = [e.action.value for e in (await desk.detail(ticket.number)).events]
    assert events == ["open", "claim", "resolve", "reopen"]
    # The card follows: Resolve is offered again, Reopen no longer.
    await desk.slack.wait_for(
        lambda: "Reopen" not in str(desk.slack.message(channel, root).blocks), timeout=5
    )
    assert "Resolve" in str(desk.slack.message(channel, root).blocks)
    assert desk.slack.ephemerals(DEMO.agent1) == []


async def test_the_bot_s_own_posts_are_acknowledged_but_never_stored(
    desk: Desk, desk_storage: SqlStorage
) -> None:
    ticket = await desk.customer_writes("m1", "Help")
    channel, root = desk.thread_of(ticket)
    await desk.slack.wait_for(lambda: desk.slack.thread(channel, root), timeout=5)
    agent = desk.slack.user(DEMO.agent1)
    await agent.post(channel, "On it", thread_ts=root)

    async def relayed() -> list[str] | None:
        return desk.inbox.bodies() or None

    await eventually(relayed, what="the reply")
    async with desk_storage.transaction() as tx:
        stored = await tx.count("inbound_events")
    # The card, the customer's message and the ✅ are Slack's echoes of the bot's own posts:
    # only the agent's reply was worth storing.
    assert stored == 1
