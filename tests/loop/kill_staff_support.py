"""What the kill -9 tests with agents in Discord share: a staff world with more customers, the
bot's own database read from outside (to wait until nothing is left to send), and the tokens
each line carries so that what is where can be counted."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from integrations.sandbox.discord import DiscordEmulator, staff_world
from integrations.sandbox.discord.seed import SeedGuild, SeedUser
from integrations.sandbox.launch import HOST, Sandbox
from integrations.sandbox.slack import DEMO as SLACK
from tests.loop.staff_support import in_thread, posts, shown

FIRST_ID = 1200000000000000000
# What customers write (c3-m7), what agents answer (c3-r2) and note (c3-n4), per customer.
TOKEN = re.compile(r"\bc(\d+)-([mrn])(\d+)\b")

Token = tuple[int, str, int]  # customer, kind (m, r or n), number


def staff_world_with(customers: int) -> tuple[DiscordEmulator, list[int]]:
    """The staff world (forum, roles, Sam and Lee) plus `customers` more members."""
    seed = staff_world()
    extra = [SeedUser(FIRST_ID + i, f"customer{i}", f"Customer {i}") for i in range(customers)]
    guild: SeedGuild = seed.guilds[0]
    guild = replace(guild, member_ids=(*guild.member_ids, *(u.id for u in extra)))
    seed = replace(seed, guilds=(guild,), users=(*seed.users, *extra))
    return DiscordEmulator(seed, host=HOST), [u.id for u in extra]


def tokens(text: str) -> list[Token]:
    return [(int(c), kind, int(n)) for c, kind, n in TOKEN.findall(text)]


def in_forum(sandbox: Sandbox) -> dict[int, Counter[Token]]:
    """Per forum post: the tokens in what the bot posted there (the people's own lines left
    out: an agent's message in the thread is theirs, not a copy)."""
    bot_id = sandbox.discord.bot_id
    return {
        post.id: Counter(
            t
            for m in in_thread(sandbox, post.id)
            if m.author_id == bot_id
            for t in tokens(shown(m))
        )
        for post in posts(sandbox)
    }


def in_slack(sandbox: Sandbox) -> dict[str, Counter[Token]]:
    """Per Slack card: the tokens in its thread."""
    slack = sandbox.slack
    return {
        root.ts: Counter(
            t for post in slack.thread(SLACK.support, root.ts) for t in tokens(post.text)
        )
        for root in slack.messages(SLACK.support)
    }


def in_dms(sandbox: Sandbox, customer_id: int) -> Counter[Token]:
    """The tokens in what the bot wrote to this customer."""
    bot_id = sandbox.discord.bot_id
    return Counter(
        t
        for m in sandbox.discord.user(customer_id).dm_messages()
        if m.author_id == bot_id
        for t in tokens(m.content)
    )


def deliveries(database: Path) -> dict[str, int]:
    """The bot's outbox by status, read from its SQLite file (none while it has no tables)."""
    if not database.exists():
        return {}
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
        try:
            rows = db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
        except sqlite3.OperationalError:
            return {}
    return {str(status): int(count) for status, count in rows}


def recorded(database: Path, author_kind: str) -> list[tuple[str, str, int]]:
    """The messages the bot recorded from this kind of author ("agent" or "customer"):
    their direction, body and ticket number."""
    if not database.exists():
        return []
    query = (
        "SELECT m.direction, m.body, t.number FROM messages m JOIN tickets t "
        "ON t.id = m.ticket_id WHERE m.author_kind = ?"
    )
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
        try:
            rows = db.execute(query, (author_kind,)).fetchall()
        except sqlite3.OperationalError:
            return []
    return [(str(d), str(b), int(n)) for d, b, n in rows]
