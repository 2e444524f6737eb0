"""The figures `/metrics` reads from the database at each scrape, each by an index.

Read at scrape time rather than counted in the process, so every replica reports the same
figures and a restart loses none. A scrape must stay cheap however long the history: on SQLite
the queries run on the event loop (storage/sqlite_inline.py), so a scan of a growing table would
hold up every relay. So:

- the delivery queue: pending rows only, through the index that leads with `status`;
- open tickets by status: one index range per open status;
- notifications sent, surveys sent, and ratings: tallied. Each reader keeps what it counted
  once a row is settled, and at each scrape counts only what came after, by the primary key
  (notifications and surveys are only ever added) or by `answered_at` (a rating is set once).

A row is settled when it was written `SETTLED_AFTER` before now. Until then an insert may still
be uncommitted below a committed one (PostgreSQL's ids, and the clock readings, are taken
before the commit), so recent rows are counted afresh at each scrape, never tallied. This holds
as long as every transaction commits within SETTLED_AFTER of reading its clock. The first scrape
of a process tallies the history once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.delivery import DeliveryStatus
from bot.core.domain import Status
from bot.core.survey import SurveyOutcome
from storage import models as m
from storage.db import begin

SETTLED_AFTER = timedelta(minutes=5)
STEP = 5_000  # ids counted in one query when tallying many (a process's first scrape)
OPEN = [status for status in Status if status.is_open]


@dataclass(frozen=True, slots=True)
class QueuedLane:
    """The pending deliveries of one lane (and agent workspace; "" off the agents' lane)."""

    lane: str
    workspace: str
    pending: int
    oldest_at: datetime  # when the oldest of them was queued


@dataclass(frozen=True, slots=True)
class StoredFigures:
    queues: list[QueuedLane] = field(default_factory=list)
    tickets: dict[str, int] = field(default_factory=dict)  # status -> tickets, closed left out
    notices: dict[tuple[str, str], int] = field(default_factory=dict)  # (metric, kind) -> sent
    surveys_sent: int = 0  # surveys that reached a customer (answered or not)
    ratings: dict[int, int] = field(default_factory=dict)  # rating (1 to 5) -> answers


@dataclass
class _Tally:
    """What is counted of one table: every row up to `mark` (an id or an instant) is in
    `counts`, by key."""

    mark: Any = None
    counts: Counter[tuple[Any, ...]] = field(default_factory=Counter)


class MetricsReader:
    """Reads `StoredFigures` in one read-only transaction (on SQLite it never waits for a
    writer). Keeps the tallies of one process: use one reader for the process's scrapes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._notices = _Tally(mark=0)
        self._surveys = _Tally(mark=0)
        self._ratings = _Tally()

    async def read(self, now: datetime) -> StoredFigures:
        settled = now - SETTLED_AFTER
        n, s = m.notifications, m.surveys
        async with begin(self._engine, read_only=True) as conn:
            notices = await _by_id(conn, self._notices, n, [n.c.metric, n.c.kind], settled)
            sent = await _by_id(
                conn, self._surveys, s, [], settled, only=s.c.outcome != SurveyOutcome.SKIPPED
            )
            ratings = await _ratings(conn, self._ratings, settled)
            return StoredFigures(
                queues=await _queues(conn),
                tickets=await _tickets(conn),
                notices={(str(metric), str(kind)): n for (metric, kind), n in notices.items()},
                surveys_sent=sent[()],
                ratings={int(rating): n for (rating,), n in ratings.items()},
            )


async def _queues(conn: AsyncConnection) -> list[QueuedLane]:
    d = m.deliveries
    q = (
        select(d.c.lane, d.c.workspace, func.count(), func.min(d.c.created_at))
        .where(d.c.status == DeliveryStatus.PENDING)
        .group_by(d.c.lane, d.c.workspace)
    )
    found = []
    # min() keeps the column's type: the oldest comes back timezone-aware, on either database.
    for lane, workspace, pending, oldest_at in await conn.execute(q):
        found.append(QueuedLane(str(lane), str(workspace), int(pending), oldest_at))
    return found


async def _tickets(conn: AsyncConnection) -> dict[str, int]:
    t = m.tickets
    # A list of statuses rather than "not closed": each is a range of the status index, so
    # closed tickets, most of the table in time, are never read.
    q = select(t.c.status, func.count()).where(t.c.status.in_(OPEN)).group_by(t.c.status)
    return {str(status): int(n) for status, n in await conn.execute(q)}


async def _by_id(
    conn: AsyncConnection,
    tally: _Tally,
    table: Table,
    keys: list[Any],
    settled: datetime,
    *,
    only: ColumnElement[bool] | None = None,
) -> Counter[tuple[Any, ...]]:
    """Rows of a table only ever added to (those `only` picks), by `keys`: the tally moves up
    to the newest row written by `settled`; the rows after it are counted now and added."""
    rid, picked = table.c.id, true() if only is None else only
    # From the newest back: only the rows of the last few minutes are passed over.
    newest_settled = (
        select(rid)
        .where(rid > tally.mark, picked, table.c.sent_at <= settled)
        .order_by(rid.desc())
        .limit(1)
    )
    cut = (await conn.execute(newest_settled)).scalar()
    if cut is not None:
        tally.counts += await _in_steps(conn, keys, picked, table, after=tally.mark, upto=cut)
        tally.mark = cut
    return tally.counts + await _count(conn, keys, (rid > tally.mark) & picked, table)


async def _ratings(
    conn: AsyncConnection, tally: _Tally, settled: datetime
) -> Counter[tuple[Any, ...]]:
    """Answers by rating, by the instant they came (a survey is answered once)."""
    s = m.surveys
    rated, at = s.c.rating.is_not(None), s.c.answered_at
    if tally.mark is None:  # the history, by id: the answered_at index would not be in steps
        last = (await conn.execute(select(func.max(s.c.id)))).scalar() or 0
        tally.counts += await _in_steps(
            conn, [s.c.rating], rated & (at <= settled), s, after=0, upto=last
        )
    else:
        settled = max(settled, tally.mark)  # a clock set back never counts a row twice
        tally.counts += await _count(
            conn, [s.c.rating], rated & (at > tally.mark) & (at <= settled), s
        )
    tally.mark = settled
    return tally.counts + await _count(conn, [s.c.rating], rated & (at > settled), s)


async def _in_steps(
    conn: AsyncConnection,
    keys: list[Any],
    where: ColumnElement[bool],
    table: Table,
    *,
    after: int,
    upto: int,
) -> Counter[tuple[Any, ...]]:
    """Count the rows with ids in (after, upto] a STEP of ids at a time, letting other tasks
    run between steps: a process's first scrape counts the whole history, and on SQLite each
    query holds the event loop while it runs."""
    counts: Counter[tuple[Any, ...]] = Counter()
    rid = table.c.id
    for low in range(after, upto, STEP):
        high = min(low + STEP, upto)
        counts += await _count(conn, keys, where & (rid > low) & (rid <= high), table)
        await asyncio.sleep(0)
    return counts


async def _count(
    conn: AsyncConnection, keys: list[Any], where: ColumnElement[bool], table: Table
) -> Counter[tuple[Any, ...]]:
    q = select(*keys, func.count()).select_from(table).where(where)
    if keys:
        q = q.group_by(*keys)
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in await conn.execute(q):
        if row[-1]:
            counts[tuple(row[:-1])] += int(row[-1])
    return counts
