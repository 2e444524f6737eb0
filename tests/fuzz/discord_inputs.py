"""What Discord's gateway could send the bot, as hypothesis strategies: MESSAGE_CREATE,
MESSAGE_UPDATE and MESSAGE_DELETE in DMs, in the server and in threads, from customers,
strangers, bots and the bot itself; THREAD_* dispatches; dispatches of types nobody knows; and
interactions (clicks, dialogs, commands) with any custom_id and values.

Each dispatch has the fields Discord always sends with the types it sends them (discord.py,
like any client, trusts the gateway for those); everything else is fuzzed: text, names,
attachments, embeds, flags, message types, ids, which channel and whose.

What should never become a ticket's message (a bot's post, a system message, chatter in a
server channel) is noted as it is drawn: after the dispatch, none of those ids may be on
record."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from integrations.sandbox.discord import DEMO, InteractionType

Json = dict[str, Any]

FIRST_ID = 1_400_000_000_000_000_000  # snowflakes of this run's dispatches, past the emulator's
STRANGERS = [DEMO.owner_id]  # in the server, never a customer before
OTHER_BOT = 1_300_000_000_000_000_009
RELAYED_TYPES = (0, 19)  # a default message and a reply
TRICKY_TEXT = [
    "",
    " ",
    "\u200b",
    "\u202eesrever",
    "e\u0301\u0301\u0301\u0301\u0301",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "@everyone @here",
    "<@1000000000000000001> <@&1> <#1>",
    "<:emoji:123> <a:dance:456> <t:1700000000:R>",
    "**bold** __under__ ~~strike~~ ||spoiler|| `code`",
    "```py\nprint(1)\n```",
    "> quote\n>>> block",
    "[link](https://example.com) <https://example.com>",
    "# Heading\n- list",
    ";; looks like a note",
    "&lt;&gt;&amp; <@U0SLACK> <!channel>",
    "\u0627\u0644\u0633\u0644\u0627\u0645 \u05e9\u05dc\u05d5\u05dd",
    "\u00b2\u0663\u216b",
    "\r\n\t\x0b\x0c",
    "\x00",
    "'; DROP TABLE tickets; --",
    "a" * 2000,
    "\U00012000" * 1000,
    "b" * 4000,
]
# Discord's text: any Unicode (its JSON is UTF-8, so no lone surrogates).
DISCORD_CHARS = st.characters(exclude_categories=("Cs",))
plain = st.text(DISCORD_CHARS, max_size=60)
text = st.one_of(
    plain,
    st.sampled_from(TRICKY_TEXT),
    st.tuples(st.sampled_from(TRICKY_TEXT), plain).map("".join),
)
timestamps = st.sampled_from(
    [
        "2026-12-06T19:00:00.000000+00:00",
        "2026-12-06T19:00:00+00:00",
        "2015-01-01T00:00:00.000000+00:00",
        "2099-12-31T23:59:59.999999+00:00",
    ]
)


@dataclass
class Server:
    """Who and where: the bot, its customers, the server's support channel; and the ids a
    dispatch drew that must never be on record as a customer's message."""

    bot_id: int
    customers: tuple[int, ...]
    dm_channels: dict[int, int]  # customer -> their DM channel with the bot
    files: str  # where attachments are
    made: itertools.count[int] = field(default_factory=lambda: itertools.count(FIRST_ID))
    ignored: set[int] = field(default_factory=set)
    sent: list[Json] = field(default_factory=list)  # messages created, for edits and deletions

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("Server()")  # what hypothesis prints of a failing example

    def new_id(self) -> st.SearchStrategy[int]:
        return st.just(0).map(lambda _: next(self.made))

    def earlier(self) -> st.SearchStrategy[Json | None]:
        """A message sent before (drawn by position, so the strategy stays as it was while
        the list grows), or None before any."""
        return st.integers(0, 2**16).map(
            lambda i: self.sent[i % len(self.sent)] if self.sent else None
        )

    def author(self) -> st.SearchStrategy[int]:
        """Mostly a customer; a stranger, another bot, or the bot itself now and then."""
        return st.sampled_from(list(self.customers) * 3 + STRANGERS) | st.sampled_from(
            [self.bot_id, OTHER_BOT]
        )


@st.composite
def user(draw: Any, server: Server, user_id: int) -> Json:
    data: Json = {
        "id": str(user_id),
        "username": draw(st.text(DISCORD_CHARS, min_size=1, max_size=32)),
        "discriminator": draw(st.sampled_from(["0", "0", "1234"])),
        "global_name": draw(st.none() | text),
        "avatar": draw(st.none() | st.sampled_from(["a_" + "f" * 32, "0" * 32])),
        "public_flags": draw(st.integers(0, 2**20)),
    }
    if user_id in (server.bot_id, OTHER_BOT):
        data["bot"] = True
    elif draw(st.integers(0, 9)) == 0:
        data["bot"] = draw(st.booleans())
    return data


@st.composite
def attachment(draw: Any, server: Server) -> Json:
    return {
        "id": str(draw(server.new_id())),
        "filename": draw(st.text(DISCORD_CHARS, min_size=1, max_size=40)),
        "size": draw(st.integers(0, 2**31)),
        # Where Discord keeps files: the emulator's (nothing there; a download fails at once).
        "url": f"{server.files}/attachments/1/2/{draw(st.sampled_from(['c.png', 'd.txt']))}",
        "proxy_url": f"{server.files}/attachments/1/2/proxy.png",
        "content_type": draw(st.none() | st.sampled_from(["image/png", "text/plain", "x/\u00b2"])),
        "description": draw(st.none() | text),
    }


@st.composite
def embed(draw: Any) -> Json:
    return {
        "type": draw(st.sampled_from(["rich", "image", "link", "gifv"])),
        "title": draw(text),
        "description": draw(text),
        "url": draw(st.sampled_from(["https://example.com", "not a url"])),
        "fields": draw(st.lists(st.fixed_dictionaries({"name": text, "value": text}), max_size=3)),
    }


@st.composite
def contents(draw: Any, server: Server) -> Json:
    """What a message says and carries (what an edit may change)."""
    return {
        "content": draw(text),
        "attachments": draw(st.lists(attachment(server), max_size=3)),
        "embeds": draw(st.lists(embed(), max_size=2)),
        "flags": draw(st.sampled_from([0, 0, 0, 4, 64, 4096]) | st.integers(0, 2**16)),
        "tts": draw(st.booleans()),
        "mention_everyone": draw(st.booleans()),
    }


@st.composite
def message(draw: Any, server: Server) -> Json:
    """A MESSAGE_CREATE somewhere the bot can see."""
    author_id = draw(server.author())
    place = draw(st.sampled_from(["dm"] * 6 + ["server"]))
    kind = draw(st.sampled_from([0] * 6 + [19]) | st.integers(1, 50))
    mid = draw(server.new_id())
    data: Json = {
        "id": str(mid),
        "type": kind,
        "author": draw(user(server, author_id)),
        "timestamp": draw(timestamps),
        "edited_timestamp": None,
        "mentions": [],
        "mention_roles": [],
        "components": [],
        "pinned": False,
        **draw(contents(server)),
    }
    if place == "dm":  # a DM channel is the author's own with the bot (a bot's: any)
        data["channel_id"] = str(server.dm_channels.get(author_id) or draw(server.new_id()))
    else:
        data["channel_id"] = str(DEMO.support_channel_id)
        data["guild_id"] = str(DEMO.guild_id)
        data["member"] = {
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "nick": draw(st.none() | text),
            "avatar": None,
            "flags": 0,
            "deaf": False,
            "mute": False,
            "pending": False,
        }
    if kind == 19 or not draw(st.integers(0, 4)):
        reply_to = draw(server.earlier()) or {"id": "1"}
        data["message_reference"] = {"message_id": reply_to["id"], "channel_id": data["channel_id"]}
    if draw(st.booleans()):
        data["nonce"] = draw(st.text(max_size=25) | st.integers(0, 2**63))
    is_persons = not data["author"].get("bot") and author_id != server.bot_id
    in_dm = "guild_id" not in data
    if not (is_persons and kind in RELAYED_TYPES and in_dm):
        server.ignored.add(mid)  # none of Threadline's business: never a customer's message
    return data


@st.composite
def dispatch(draw: Any, server: Server) -> tuple[str, Json]:
    """One gateway dispatch: its event name and its data."""
    choice = draw(st.sampled_from(["create"] * 5 + ["update"] * 2 + ["delete", "thread", "odd"]))
    earlier = draw(server.earlier())
    if choice == "create" or earlier is None:
        data = draw(message(server))
        server.sent.append(data)
        return "MESSAGE_CREATE", data
    if choice == "update":  # Discord sends the whole message, as edited
        edited = {**earlier, **draw(contents(server))}
        edited["edited_timestamp"] = "2026-12-06T19:05:00+00:00"
        return "MESSAGE_UPDATE", edited
    if choice == "delete":  # only ids
        gone = {k: earlier[k] for k in ("id", "channel_id", "guild_id") if k in earlier}
        return "MESSAGE_DELETE", gone
    if choice == "thread":
        return draw(thread_dispatch(server))
    return draw(other_dispatch(server, earlier))


@st.composite
def other_dispatch(draw: Any, server: Server, earlier: Json) -> tuple[str, Json]:
    """Someone typing, a reaction, or a dispatch type no client knows (a new one of Discord's,
    named so that it is none of discord.py's): with anything in it."""
    choice = draw(st.sampled_from(["typing", "reaction", "unknown", "unknown"]))
    person = str(draw(server.author()))
    if choice == "typing":
        return "TYPING_START", {
            "channel_id": earlier["channel_id"],
            "user_id": person,
            "timestamp": draw(st.integers(0, 2**31)),
        }
    if choice == "reaction":
        return "MESSAGE_REACTION_ADD", {
            "user_id": person,
            "channel_id": earlier["channel_id"],
            "message_id": earlier["id"],
            "emoji": {"id": None, "name": draw(st.text(DISCORD_CHARS, min_size=1, max_size=4))},
            "burst": False,
            "type": 0,
        }
    name = "X_" + draw(st.text(st.characters(min_codepoint=65, max_codepoint=90), max_size=20))
    return name, draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4))


@st.composite
def thread_dispatch(draw: Any, server: Server) -> tuple[str, Json]:
    thread_id = draw(server.new_id())
    event = draw(st.sampled_from(["THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE"]))
    data: Json = {
        "id": str(thread_id),
        "guild_id": str(DEMO.guild_id),
        "parent_id": str(DEMO.support_channel_id),
        "type": draw(st.sampled_from([11, 12])),
    }
    if event != "THREAD_DELETE":
        data |= {
            "owner_id": str(draw(server.author())),
            "name": draw(st.text(DISCORD_CHARS, min_size=1, max_size=100)),
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": draw(st.integers(0, 50)),
            "member_count": draw(st.integers(0, 50)),
            "flags": 0,
            "thread_metadata": {
                "archived": draw(st.booleans()),
                "auto_archive_duration": draw(st.sampled_from([60, 1440, 4320, 10080])),
                "archive_timestamp": "2026-12-06T19:00:00+00:00",
                "locked": draw(st.booleans()),
            },
        }
    return event, data


# --- interactions --------------------------------------------------------------------------


def custom_ids(numbers: list[int]) -> st.SearchStrategy[str]:
    number = st.sampled_from(numbers) | st.integers(0, 10**13)
    return st.one_of(
        number.map(lambda n: f"threadline:close:{n}"),
        st.tuples(number, st.integers(0, 9)).map(lambda p: f"threadline:csat:{p[0]}:{p[1]}"),
        number.map(lambda n: f"threadline:person:{n}"),
        number.map(lambda n: f"threadline:staff:claim:{n}"),
        st.sampled_from(["threadline:close:\u00b2", "threadline:", "threadline:support"]),
        st.text(DISCORD_CHARS, min_size=1, max_size=100),
    )


@st.composite
def modal_fields(draw: Any) -> list[Json]:
    names = st.sampled_from(["subject", "description", "category", "comment", "reason", "x"])
    return [
        {"type": 1, "components": [{"type": 4, "custom_id": name, "value": draw(text)}]}
        for name in draw(st.lists(names, max_size=4, unique=True))
    ]


@dataclass(frozen=True)
class Click:
    """A click on a button (or a pick in a menu) with this custom_id, on a message of the
    bot's that carries it (an old card, or a forged one)."""

    custom_id: str
    component_type: int
    values: tuple[str, ...] = ()

    def component(self) -> Json:
        if self.component_type == 2:
            return {"type": 2, "style": 2, "label": "?", "custom_id": self.custom_id}
        options = [{"label": v[:100] or "?", "value": v[:100] or "?"} for v in self.values]
        return {
            "type": 3,
            "custom_id": self.custom_id,
            "options": options or [{"label": "?", "value": "?"}],
        }

    def data(self) -> Json:
        data: Json = {"custom_id": self.custom_id, "component_type": self.component_type}
        if self.component_type == 3:
            data["values"] = [v[:100] or "?" for v in self.values]
        return data


@dataclass(frozen=True)
class Form:
    """`/support`, then its form submitted with these fields."""

    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Forged:
    """An interaction as given: a command by any name, or a dialog nobody opened."""

    kind: InteractionType
    data: Json


clicks = st.builds(
    Click,
    custom_ids([1001, 1002, 1003]),
    st.sampled_from([2, 2, 2, 3]),
    st.lists(st.text(DISCORD_CHARS, max_size=20), max_size=3).map(tuple),
)
forms = st.builds(
    Form,
    st.tuples(
        st.tuples(st.just("subject"), st.text(DISCORD_CHARS, min_size=1, max_size=100)),
        st.tuples(st.just("description"), text.filter(lambda t: t.strip())),
    ),
)


@st.composite
def forged(draw: Any) -> Forged:
    if draw(st.booleans()):
        custom_id = draw(
            st.sampled_from(["threadline:support", "threadline:csat-comment:1001"])
            | custom_ids([1001, 1002, 1003])
        )
        return Forged(
            InteractionType.MODAL_SUBMIT,
            {"custom_id": custom_id, "components": draw(modal_fields())},
        )
    name = draw(st.sampled_from(["support", "queue", "ticket", "old-command"]))
    options = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["subject", "number", "x"]),
                    "type": st.just(3),
                    "value": text,
                }
            ),
            max_size=2,
        )
    )
    return Forged(
        InteractionType.APPLICATION_COMMAND,
        {"id": str(draw(st.integers(1, 2**60))), "name": name, "type": 1, "options": options},
    )


interactions = st.one_of(clicks, clicks, clicks, forms, forged())
