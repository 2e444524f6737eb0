"""What Threadline says in Slack about a ticket's life: activity lines in its thread, SLA
reminders and breaches, survey answers; each exactly as agents and leads read it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.digest import Digest
from bot.core.domain import (
    Agent,
    AgentId,
    Customer,
    CustomerId,
    Priority,
    Status,
    Ticket,
    TicketId,
    TicketNumber,
)
from bot.core.outbound import (
    Audience,
    DeliveryFailed,
    FollowsUp,
    SlaBreached,
    SlaReminder,
    SurveyAnswered,
    TicketAssigned,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
)
from integrations.platforms import DISCORD
from integrations.slack.activity import Move, failed_line, follow_up_line, move_line
from integrations.slack.alerts import csat_text, digest_text, sla_text
from integrations.wording import late_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = "<!date^1772442000^{date_short_pretty} at {time}|2026-03-02 09:00 UTC>"
DANA = Customer(CustomerId(1), DISCORD, "42", "Dana <Customer>")
TICKET = Ticket(
    TicketId(1),
    TicketNumber(1042),
    CustomerId(1),
    "Printer <on> fire",
    Status.NEW,
    Priority.NORMAL,
    1,
    T0,
    T0,
)
HELD = replace(TICKET, status=Status.CLAIMED, assignee=Agent(AgentId("U0ANN"), "Ann"))
LINK = "https://demo.slack.com/archives/C1/p1"


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            TicketEscalated("Ann", "tier 2", None),
            ":arrow_double_up: Escalated by Ann (tier 2)",
        ),
        (
            TicketEscalated("SLA", None, "first response target breached"),
            ":arrow_double_up: Escalated by SLA (): first response target breached",
        ),
        (
            TicketEscalated("Ann", "tier 2", "angry", audience=Audience.ESCALATIONS),
            ":arrow_double_up: Escalated by Ann (tier 2): angry",
        ),
        (
            TicketAssigned("Ann", "Bob", None),
            ":bust_in_silhouette: Assigned by Ann (Bob)",
        ),
        (
            TicketAssigned("Ann", None, "on holiday"),
            ":bust_in_silhouette: Assigned by Ann (): on holiday",
        ),
        (TicketResolved("Ann", None), ":white_check_mark: Resolved by Ann"),
        (TicketResolved("Ann", "fixed"), ":white_check_mark: Resolved by Ann: fixed"),
        (TicketReopened("Dana", None), ":leftwards_arrow_with_hook: Reopened by Dana"),
        (
            TicketReopened("Ann", "not fixed"),
            ":leftwards_arrow_with_hook: Reopened by Ann: not fixed",
        ),
    ],
)
def test_each_move_has_its_line(event: Move, line: str) -> None:
    assert move_line(event) == line


def test_a_moves_line_is_escaped_whole() -> None:
    event = TicketEscalated("<@U1> & co", "<!here>", "see <http://x|here>")
    assert move_line(event) == (
        ":arrow_double_up: Escalated by &lt;@U1&gt; &amp; co (&lt;!here&gt;): "
        "see &lt;http://x|here&gt;"
    )


def test_a_follow_up_names_the_earlier_ticket() -> None:
    assert follow_up_line(FollowsUp(1041, "Printer <b>jammed</b>")) == (
        ":link: This follows up on ticket #1041 (Printer &lt;b&gt;jammed&lt;/b&gt;)."
    )


def test_a_failed_delivery_says_to_whom_and_why() -> None:
    assert failed_line(DANA, DeliveryFailed(7, "Cannot send <messages>")) == (
        ":warning: Not delivered to Dana &lt;Customer&gt;: Cannot send &lt;messages&gt;"
    )


def test_a_reminder_names_the_deadline_and_the_holder() -> None:
    reminder = SlaReminder("first_response", T0, "U0ANN")
    assert sla_text(HELD, DANA, reminder, LINK) == (
        f":alarm_clock: Ticket <{LINK}|#1042> (Printer &lt;on&gt; fire) from "
        f"Dana &lt;Customer&gt;: the first response is due {DUE}. Assignee: <@U0ANN>."
    )


def test_a_reminder_without_a_link_or_a_holder_or_a_due_time() -> None:
    reminder = SlaReminder("pending", None, None)
    assert sla_text(TICKET, DANA, reminder, None) == (
        ":alarm_clock: Ticket #1042 (Printer &lt;on&gt; fire) from Dana &lt;Customer&gt;: "
        "the pending is due ?. Assignee: nobody."
    )


def test_a_breach_says_how_late() -> None:
    breach = SlaBreached("next_response", T0, 5400, audience=Audience.LEADS)
    assert sla_text(HELD, DANA, breach, LINK) == (
        f":rotating_light: SLA breached: the next response target of ticket <{LINK}|#1042> "
        f"(Printer &lt;on&gt; fire) from Dana &lt;Customer&gt; was due {DUE} and is 1h 30m "
        "late. Assignee: <@U0ANN>."
    )
    in_thread = SlaBreached("resolution", T0, 30)
    assert sla_text(TICKET, DANA, in_thread, None) == (
        ":rotating_light: SLA breached: the resolution target of ticket #1042 "
        f"(Printer &lt;on&gt; fire) from Dana &lt;Customer&gt; was due {DUE} and is 30s "
        "late. Assignee: nobody."
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h 0m"), (90000, "1d 1h")],
)
def test_late_text(seconds: int, shown: str) -> None:
    assert late_text(seconds) == shown


def test_a_rating_shows_stars_and_the_comment() -> None:
    rated = SurveyAnswered("Dana <D>", 2, None)
    assert csat_text(TICKET, rated, None) == ":star: Dana &lt;D&gt; rated ticket #1042 ★★☆☆☆ 2/5"
    said = SurveyAnswered("Dana", 4, "Quick & kind", audience=Audience.LEADS)
    assert csat_text(TICKET, said, LINK) == (
        f":star: Dana rated ticket <{LINK}|#1042> ★★★★☆ 4/5: “Quick &amp; kind”"
    )


def test_a_comment_without_a_rating() -> None:
    commented = SurveyAnswered("Dana", None, "<b>slow</b>")
    assert csat_text(TICKET, commented, None) == (
        ":speech_balloon: Dana commented on ticket #1042: “&lt;b&gt;slow&lt;/b&gt;”"
    )


def test_the_digest_escapes_what_customers_typed_and_names_agents_of_any_workspace() -> None:
    sly = replace(TICKET, subject="<!channel> refund <https://evil.example|your bank>")
    held = replace(TICKET, number=TicketNumber(1043), assignee=Agent(AgentId("1234"), "Sam"))
    text = digest_text(Digest(T0.date(), (sly,), (held,), timedelta(hours=1), 0.8))
    assert text.splitlines() == [
        "*Daily digest* (2026-03-02)",
        "Breached and still open: 1",
        f"• #{TICKET.number} &lt;!channel&gt; refund &lt;https://evil.example|your bank&gt; "
        "(unassigned)",
        "At risk within 1h: 1",
        "• #1043 Printer &lt;on&gt; fire (Sam)",
        "CSAT over the last 7 days: 80%",
    ]
    assert "<!" not in text  # nobody pinged, no disguised link
