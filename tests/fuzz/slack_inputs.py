"""What Slack could post to the bot's HTTP endpoint, as hypothesis strategies: Events API
envelopes, interactions and slash commands shaped the way Slack sends them (with any text and
any ids in them), the same mangled (fields dropped, retyped, added), and bodies that are no
Slack request at all.

Every note written here carries a marker (`FZNOTE…`) right after its prefix, and nothing else
carries one: a marker seen on the customer's side is a note that leaked."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from integrations.sandbox.slack import DEMO
from integrations.slack.modals import Opened

Json = dict[str, Any]

USERS = [DEMO.agent1, DEMO.agent2, DEMO.lead, DEMO.member, "UNOBODY1", "W0ENTERPRISE"]
OTHER_CHANNELS = [DEMO.escalations, DEMO.leads, "CUNKNOWN1", "D0DIRECT1", "G0PRIVATE"]
NOTE_PREFIXES = [
    ";; ",
    "note: ",
    "NOTE : ",
    "\u200b;; ",
    "*;;* ",
    "&gt; ;; ",
    "`;;` ",
    "\uff1b\uff1b ",
    "_note:_ ",
    "~;;~ ",
]
TRICKY_TEXT = [
    "",
    " ",
    "\u200b",
    "\u202eesrever",
    "\ufeffBOM",
    "e\u0301\u0301\u0301",
    "\U0001d565\U0001d556\U0001d55d\U0001d561",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\u00b2",
    "\u0663",
    "\u216b",
    "&lt;&gt;&amp;",
    "&amp;lt;",
    "<@UAGENT2>",
    "<@UAGENT1|alice>",
    "<!channel>",
    "<!subteam^SLEADS>",
    "<https://example.com|a link>",
    "<mailto:a@b.c>",
    "```;; code```",
    "*bold* _it_ ~st~",
    "&gt; quoted",
    ">> reply on purpose",
    ">>",
    "@everyone @here",
    "\r\n\t",
    "'; DROP TABLE tickets; --",
    "%s%n{0}{{7*7}}",
    "\\u0000",
    "\u0627\u0644\u0633\u0644\u0627\u0645",
    "\u4f60\u597d\u4e16\u754c",
    "a" * 3000,
    "\U00012000" * 1500,
    "x" * 8001,  # past max_reply_chars
]
# Any Unicode Slack could carry: no lone surrogate (Slack's JSON is UTF-8) and no NUL (which
# neither database stores, so the bot refuses it as malformed).
SLACK_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def words(max_size: int = 80, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(SLACK_CHARS, min_size=min_size, max_size=max_size)


plain = words()
text = st.one_of(
    plain,
    st.sampled_from(TRICKY_TEXT),
    st.tuples(st.sampled_from(TRICKY_TEXT), plain).map("".join),
)
seconds = st.integers(min_value=1_600_000_000, max_value=1_999_999_999)
micros = st.integers(min_value=0, max_value=999_999)
fresh_ts = st.builds(lambda s, m: f"{s}.{m:06d}", seconds, micros)


def anything(chars: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a little."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(chars, max_size=12)
        | st.sampled_from(["1.1", "1712345678.123456", "9" * 30, DEMO.agent1, "\u00b2", "-0"]),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(chars, max_size=6), inner)
        ),
        max_leaves=6,
    )


# What a Slack field could hold; and what only a mangled request holds (NUL, lone surrogates).
garbage = anything(SLACK_CHARS)
wild = anything(st.characters())


@dataclass
class Desk:
    """What the requests are about: a ticket's card in #support, and what the agents wrote
    so far (their message ts, each note's marker by the ts it was written at)."""

    number: int
    channel: str
    root: str
    # The ts agents' messages are written at: few, so that edits, deletions and shortcuts
    # meet what was written (fixed, as hypothesis wants strategies that do not drift).
    written: tuple[str, ...] = tuple(f"1800000000.00000{i}" for i in range(6))
    notes: dict[str, set[str]] = field(default_factory=dict)
    sent_on_purpose: set[str] = field(default_factory=set)  # ts shared by "Reply to customer"
    counter: itertools.count[int] = field(default_factory=itertools.count)
    made: itertools.count[int] = field(default_factory=itertools.count)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"Desk(#{self.number} at {self.card})")  # in hypothesis' reports

    @property
    def card(self) -> str:
        return f"{self.channel}:{self.root}"

    def marker(self) -> str:
        return f"FZNOTE{next(self.counter):05d}X"

    def shared(self, payload: object) -> None:
        """Note what a "Reply to customer" shortcut asked to send out (an agent may send a
        note on purpose): its markers may reach the customer."""
        if not isinstance(payload, dict) or payload.get("callback_id") != "reply_to_customer":
            return
        message = payload.get("message")
        for ts in (
            payload.get("message_ts"),
            message.get("ts") if isinstance(message, dict) else None,
        ):
            self.sent_on_purpose.add(str(ts))

    def confidential(self) -> set[str]:
        """The markers of notes nobody chose to send: none may reach the customer."""
        return {
            marker
            for ts, markers in self.notes.items()
            if ts not in self.sent_on_purpose
            for marker in markers
        }

    # --- strategies -----------------------------------------------------------------------

    def ticket_number(self) -> st.SearchStrategy[str]:
        known = st.just(str(self.number))
        odd = st.sampled_from(["0", "-1", "1e3", " 1001", "\u00b2", "\u0661\u0660\u0660\u0661"])
        return st.one_of(known, known, known, st.integers(0, 10**13).map(str), odd, words(6))

    def thread_text(self, ts: str) -> st.SearchStrategy[str]:
        """What an agent writes at `ts`: a note (marked), or anything at all."""
        note = st.tuples(st.sampled_from(NOTE_PREFIXES), text).map(
            lambda parts: self.note(ts, *parts)
        )
        return st.one_of(note, text, text)

    def note(self, ts: str, prefix: str, rest: str) -> str:
        """A note written at `ts`: its marker is kept."""
        marker = self.marker()
        self.notes.setdefault(ts, set()).add(marker)
        return f"{prefix}{marker} {rest}"

    def new_ts(self) -> st.SearchStrategy[str]:
        """A ts no message had before (hypothesis, left to itself, repeats small values)."""
        return st.just(0).map(lambda _: f"{1_900_000_000 + next(self.made)}.000100")

    def new_id(self) -> st.SearchStrategy[str]:
        return st.just(0).map(lambda _: f"Ev0FUZZ{next(self.made):07d}")

    def message_ts(self) -> st.SearchStrategy[str]:
        return st.one_of(self.new_ts(), self.new_ts(), st.sampled_from(self.written))

    def thread(self) -> st.SearchStrategy[str]:
        return st.sampled_from([self.channel] * 6 + OTHER_CHANNELS[:2]) | st.sampled_from(
            OTHER_CHANNELS
        )

    def user(self) -> st.SearchStrategy[str]:
        """Mostly an agent (someone else now and then: a lead, a colleague, a stranger)."""
        return st.sampled_from([DEMO.agent1] * 4 + [DEMO.agent2] * 2) | st.sampled_from(USERS)

    def other_event(self) -> st.SearchStrategy[Json]:
        bot_message = st.builds(
            lambda t, ts: {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B0OTHER",
                "channel": self.channel,
                "text": t,
                "ts": ts,
                "thread_ts": self.root,
            },
            text,
            fresh_ts,
        )
        mention = st.builds(
            lambda u, t, ts: {
                "type": "app_mention",
                "user": u,
                "text": f"<@UBOT> {t}",
                "ts": ts,
                "channel": self.channel,
                "event_ts": ts,
            },
            st.sampled_from(USERS),
            text,
            fresh_ts,
        )
        home = st.builds(
            lambda u, tab: {"type": "app_home_opened", "user": u, "channel": "D0HOME", "tab": tab},
            st.sampled_from(USERS),
            st.sampled_from(["home", "messages", "about"]),
        )
        unknown = st.builds(
            lambda kind, extra: {"type": kind, **extra},
            st.sampled_from(["reaction_added", "member_joined_channel", "tokens_revoked"])
            | words(20, 1),
            st.dictionaries(words(8), garbage, max_size=4),
        )
        return st.one_of(bot_message, mention, home, unknown)

    def event(self) -> st.SearchStrategy[Json]:
        return st.one_of(
            thread_message(self),
            thread_message(self),
            thread_message(self),
            edit(self),
            edit(self),
            deletion(self),
            self.other_event(),
        )

    # --- interactions ---------------------------------------------------------------------

    def action(self) -> st.SearchStrategy[Json]:
        action_id = st.sampled_from(
            [
                "ticket_claim",
                "ticket_unclaim",
                "ticket_reopen",
                "ticket_close",
                "ticket_escalate",
                "ticket_resolve",
                "ticket_priority",
                "ticket_assign",
                "ticket_take_over",
                "ticket_bogus",
                "ai_summary",
                "ai_draft",
                "ai_triage",
                "ai_translate",
                "draft_send",
                "draft_edit",
                "draft_discard",
            ]
        ) | words(30, 1)
        priority = st.sampled_from(["low", "normal", "high", "urgent", "LOW", ""]) | text
        return st.fixed_dictionaries(
            {
                "action_id": action_id,
                "block_id": words(10),
                "type": st.sampled_from(["button", "static_select", "users_select"]),
                "action_ts": self.new_ts() | self.new_ts() | st.sampled_from(self.written),
            },
            optional={
                "value": self.ticket_number(),
                "selected_option": st.fixed_dictionaries({"value": priority}),
                "selected_user": st.sampled_from(USERS),
            },
        )

    def private_metadata(self) -> st.SearchStrategy[str]:
        real = st.just(Opened(self.number, self.card).dump())
        odd = st.sampled_from(
            [
                "",
                "null",
                "[]",
                '{"number": 10000000000000}',
                '{"number": "1001"}',
                '{"number": true}',
                '{"number": 1001, "card": 5}',
                '{"number": 1e999}',
                "{" * 200,
            ]
        )
        return st.one_of(real, real, real, odd, text)


@st.composite
def thread_message(draw: Any, desk: Desk) -> Json:
    ts = draw(desk.message_ts())
    event: Json = {
        "type": "message",
        "channel": draw(desk.thread()),
        "user": draw(desk.user()),
        "text": draw(desk.thread_text(ts)),
        "ts": ts,
        # In the ticket's thread, mostly; top level, in another thread, or none now and then.
        "thread_ts": draw(st.sampled_from([desk.root] * 6 + [ts, None]) | fresh_ts),
        "event_ts": ts,
        "channel_type": "channel",
    }
    if event["thread_ts"] is None:
        del event["thread_ts"]
    subtype = draw(st.sampled_from([None] * 6 + ["file_share"] * 2 + ["thread_broadcast"]))
    if subtype is not None:
        event["subtype"] = subtype
    if subtype == "file_share" or not draw(st.integers(0, 5)):
        event["files"] = draw(st.lists(shared_file(), max_size=3))
    return event


@st.composite
def edit(draw: Any, desk: Desk) -> Json:
    ts = draw(st.sampled_from(desk.written))
    user = draw(desk.user())
    after = draw(desk.thread_text(ts))
    before = draw(st.sampled_from(["", "before", "before", after]) | text)
    now = draw(desk.new_ts())
    message: Json = {"type": "message", "user": user, "text": after, "ts": ts}
    if draw(st.integers(0, 3)):
        message["thread_ts"] = desk.root
    if not draw(st.integers(0, 3)):
        message["files"] = draw(st.lists(shared_file(), max_size=2))
    if draw(st.booleans()):
        message["edited"] = {"user": user, "ts": now}
    return {
        "type": "message",
        "subtype": "message_changed",
        "channel": draw(desk.thread()),
        "hidden": True,
        "ts": now,
        "event_ts": now,
        "message": message,
        "previous_message": {"type": "message", "user": user, "text": before, "ts": ts},
    }


@st.composite
def deletion(draw: Any, desk: Desk) -> Json:
    ts = draw(st.sampled_from([*desk.written, desk.root]))
    now = draw(desk.new_ts())
    event: Json = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": draw(desk.thread()),
        "hidden": True,
        "deleted_ts": ts,
        "ts": now,
        "event_ts": now,
    }
    if draw(st.booleans()):
        event["previous_message"] = {"type": "message", "user": DEMO.agent1, "ts": ts}
    return event


@st.composite
def envelope(draw: Any, desk: Desk) -> Json:
    return {
        "token": "verification-token",
        "team_id": DEMO.team,
        "api_app_id": "A0THREADLINE",
        "type": "event_callback",
        # A new event mostly; now and then one Slack delivered before.
        "event_id": draw(
            st.one_of(
                desk.new_id(),
                desk.new_id(),
                desk.new_id(),
                st.sampled_from(["Ev0AGAIN1", "Ev0AGAIN2"]),
            )
        ),
        "event_time": draw(seconds),
        "authorizations": [{"team_id": DEMO.team, "user_id": "UBOT", "is_bot": True}],
        "event": draw(desk.event()),
    }


@st.composite
def block_actions(draw: Any, desk: Desk, trigger: str) -> Json:
    # On the ticket's card, mostly.
    card_ts = draw(st.sampled_from([desk.root] * 6 + list(desk.written)))
    channel = draw(desk.thread())
    button = {"type": "button", "value": draw(desk.ticket_number())}
    return {
        "type": "block_actions",
        "user": {"id": draw(desk.user()), "team_id": DEMO.team},
        "api_app_id": "A0THREADLINE",
        "token": "verification-token",
        "trigger_id": trigger,
        "team": {"id": DEMO.team},
        "container": {
            "type": "message",
            "message_ts": card_ts,
            "channel_id": channel,
            "is_ephemeral": not draw(st.integers(0, 5)),
        },
        "channel": {"id": channel},
        "message": {
            "type": "message",
            "ts": card_ts,
            "text": draw(text),
            "blocks": [{"type": "actions", "block_id": "b", "elements": [button]}],
        },
        "actions": draw(st.lists(desk.action(), min_size=1, max_size=2)),
    }


@st.composite
def view_submission(draw: Any, desk: Desk) -> Json:
    def field_of(kind: str, value: Any) -> Json:
        if kind == "select":
            return {"type": "static_select", "selected_option": {"value": value}}
        return {"type": "plain_text_input", "value": value}

    values: Json = {}
    blocks = st.sampled_from(["reason", "tier", "note"] * 3 + ["text", "x"])
    for block in draw(st.lists(blocks, max_size=4)):
        kind = "select" if block == "tier" else "text"
        value = draw(st.sampled_from(["1", "2", "3", "9", "\u00b2"]) | text | text | garbage)
        values[block] = {block: field_of(kind, value)}
    return {
        "type": "view_submission",
        "user": {"id": draw(desk.user()), "team_id": DEMO.team},
        "api_app_id": "A0THREADLINE",
        "token": "verification-token",
        "trigger_id": draw(words(20, 1)),
        "team": {"id": DEMO.team},
        "view": {
            "id": draw(st.sampled_from(["V0ESCALATE", "V0RESOLVE", "V0OTHER"])),
            "type": "modal",
            "hash": draw(words(10)),
            "callback_id": draw(
                st.sampled_from(["escalate_ticket", "resolve_ticket"] * 3 + ["ai_triage_modal"])
                | st.sampled_from(["draft_edit_modal"])
                | words(20)
            ),
            "private_metadata": draw(desk.private_metadata()),
            "state": {"values": values},
        },
    }


@st.composite
def shortcut(draw: Any, desk: Desk, trigger: str) -> Json:
    ts = draw(st.sampled_from([*desk.written, desk.root]))
    channel = draw(desk.thread())
    callback = draw(st.sampled_from(["reply_to_customer", "reply_to_customer", "other"]))
    return {
        "type": draw(st.sampled_from(["message_action", "message_action", "shortcut"])),
        "user": {"id": draw(desk.user()), "team_id": DEMO.team},
        "callback_id": callback,
        "trigger_id": trigger,
        "action_ts": draw(fresh_ts),
        "channel": {"id": channel},
        "message_ts": ts,
        "message": {"type": "message", "ts": ts, "user": DEMO.agent1, "text": draw(text)},
        "team": {"id": DEMO.team},
    }


@st.composite
def command(draw: Any, desk: Desk, response_url: str) -> Json:
    verb = st.sampled_from(
        ["", "mine", "queue", "find", "show", "summary", "stats", "failed", "FAILED", "help"]
    )
    rest = (
        st.sampled_from(
            ["", str(desk.number), "show 1", "retry 1", "drop 99", "x y z", "\u00b2", "9" * 30]
        )
        | desk.ticket_number()
        | text
    )
    return {
        "token": "verification-token",
        "team_id": DEMO.team,
        "team_domain": "threadline-demo",
        "channel_id": draw(st.sampled_from([desk.channel, *OTHER_CHANNELS])),
        "user_id": draw(desk.user()),
        "user_name": "someone",
        "command": draw(st.sampled_from(["/threadline", "/threadline", "/other"])),
        "text": f"{draw(verb)} {draw(rest)}".strip(),
        "response_url": response_url,
        "trigger_id": draw(words(20, 1)),
        "api_app_id": "A0THREADLINE",
    }


@st.composite
def shared_file(draw: Any) -> Json:
    return {
        "id": draw(words(8, 1)),
        "name": draw(text),
        "title": draw(text),
        "mimetype": draw(st.sampled_from(["image/png", "text/plain", "", "\u00b2/x"])),
        "size": draw(st.integers(0, 2**40)),
        "url_private_download": draw(
            st.sampled_from(["https://files.slack.com/x/y.png", "http://127.0.0.1:9/f", ""])
        ),
    }


# --- mangling ------------------------------------------------------------------------------


@st.composite
def mangled(draw: Any, body: Json) -> Json:
    """`body` with a few of its fields, anywhere in it, dropped, replaced by anything, or
    joined by fields Slack never sends."""
    copy: Json = json.loads(json.dumps(body))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(copy))
        holder, key = places[draw(st.integers(0, len(places) - 1))]
        change = draw(st.sampled_from(["drop", "replace", "replace", "add"]))
        if change == "drop" and isinstance(holder, dict):
            holder.pop(key, None)
        elif change == "replace":
            holder[key] = draw(wild)
        elif isinstance(holder, dict):
            holder[draw(words(8, 1))] = draw(wild)
    return copy


def _places(value: Any) -> list[tuple[Any, Any]]:
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((value, key))
            found += _places(inner)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((value, index))
            found += _places(inner)
    return found


# --- on the wire ---------------------------------------------------------------------------


def as_json(body: Any) -> tuple[bytes, str]:
    return json.dumps(body).encode(), "application/json"


def as_form(fields: Json) -> tuple[bytes, str]:
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return urlencode(flat).encode(), "application/x-www-form-urlencoded"


def as_interaction(payload: Json) -> tuple[bytes, str]:
    return as_form({"payload": json.dumps(payload)})


@st.composite
def conversation_step(draw: Any, desk: Desk) -> Json:
    """What agents do in the ticket's thread, well formed: write (a reply or a note), edit what
    was written (into a note, out of one, past the length cap), delete it."""
    ts = draw(st.sampled_from(desk.written))
    user = draw(st.sampled_from([DEMO.agent1, DEMO.agent1, DEMO.agent2]))
    said = draw(st.one_of(text, st.tuples(st.sampled_from(NOTE_PREFIXES), text)))
    words = said if isinstance(said, str) else desk.note(ts, *said)
    now = draw(desk.new_ts())
    step = draw(st.sampled_from(["write", "write", "edit", "edit", "delete"]))
    if step == "write":
        return {
            "type": "message",
            "channel": desk.channel,
            "user": user,
            "text": words,
            "ts": ts,
            "thread_ts": desk.root,
            "event_ts": ts,
        }
    if step == "edit":
        return {
            "type": "message",
            "subtype": "message_changed",
            "channel": desk.channel,
            "hidden": True,
            "ts": now,
            "event_ts": now,
            "message": {"type": "message", "user": user, "text": words, "ts": ts},
            "previous_message": {"type": "message", "user": user, "text": "before", "ts": ts},
        }
    return {
        "type": "message",
        "subtype": "message_deleted",
        "channel": desk.channel,
        "hidden": True,
        "deleted_ts": ts,
        "ts": now,
        "event_ts": now,
    }
