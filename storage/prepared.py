"""The statements every message runs, compiled once and run straight on an SQLite file's driver.

Why: on an SQLite file (`storage.sqlite_direct`), SQLAlchemy's execution of a statement (its
cache key, an execution context, a result object) costs several times SQLite's own work. The
read that starts every customer's message measured 75 µs back to back through SQLAlchemy and
25 µs run this way; at 50 messages a second, with the processor cold after each pause between
them, 530 µs and 170 µs. A message runs about ten such statements before it is sent on.

How, with SQLAlchemy's public interfaces only: a `Prepared` statement is compiled once for the
connection's own dialect (`ClauseElement.compile`, with the parameters' names as `column_keys`,
as SQLAlchemy's execution compiles an INSERT or UPDATE); each call puts its parameters in the
compiled order (`positiontup`) through each bound type's `bind_processor`, and the rows come
back through each returned column's `result_processor`. So the driver sees the SQL and values
SQLAlchemy would give it (tests/storage/test_prepared.py compares the two for every prepared
statement of the repository), and a driver's error becomes the same `sqlalchemy.exc` error.

A statement with a list bound at execution (`expanding`), or a column default computed at
execution, is refused when it is first compiled: those are SQLAlchemy's to run. Everywhere else
(PostgreSQL, an in-memory SQLite database) `storage.rows.Rows._fetch` runs a prepared statement
through SQLAlchemy, and answers with the same `Fetched`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.selectable import ReturnsRows

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class Fetched:
    """A prepared statement's answer: its rows, each a mapping of column names to values,
    and how many rows it changed (as the driver counts them)."""

    rows: Sequence[Mapping[Any, Any]]
    rowcount: int

    def first(self) -> Mapping[Any, Any] | None:
        return self.rows[0] if self.rows else None

    def one(self) -> Mapping[Any, Any]:
        if len(self.rows) != 1:
            raise (NoResultFound if not self.rows else MultipleResultsFound)(
                f"expected one row, found {len(self.rows)}"
            )
        return self.rows[0]

    def scalar(self) -> Any:
        """The first column of the first row; None when there is no row."""
        first = self.first()
        return next(iter(first.values())) if first is not None else None


class Prepared:
    """A Core statement, built once at import, that the repository runs for every message."""

    def __init__(self, statement: Executable) -> None:
        if not isinstance(statement, ClauseElement):
            raise TypeError(f"not a statement: {statement!r}")
        self.statement = statement
        # By dialect (weak: a test's engine and its dialect come and go), then by the names of
        # the parameters given: an INSERT or UPDATE compiles to the columns it is given.
        self._forms: WeakKeyDictionary[Dialect, dict[frozenset[str], _Form]] = WeakKeyDictionary()

    def form(self, dialect: Dialect, names: frozenset[str]) -> _Form:
        by_names = self._forms.get(dialect)
        if by_names is None:
            by_names = self._forms[dialect] = {}
        form = by_names.get(names)
        if form is None:
            form = by_names[names] = _Form.compile(self.statement, dialect, names)
        return form

    def run(
        self, driver: sqlite3.Connection, dialect: Dialect, params: Mapping[str, Any]
    ) -> Fetched:
        """Run on `driver`, a connection of `dialect` inside the caller's transaction."""
        return self.form(dialect, frozenset(params)).run(driver, params)

    def run_many(
        self, driver: sqlite3.Connection, dialect: Dialect, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Run once per set of parameters (all with the same names), in order, in one call."""
        if rows:
            self.form(dialect, frozenset(rows[0])).run_many(driver, rows)


@dataclass(frozen=True)
class _Form:
    """A statement compiled for one dialect and one set of parameter names."""

    sql: str
    # The positional parameters in order: each one's name and its type's bind processor.
    order: tuple[tuple[str, Processor | None], ...]
    # The values bound in the statement itself (`x == 'pending'` binds 'pending').
    fixed: Mapping[str, Any]
    # The returned columns' names, and the processors of those that have one, by position.
    keys: tuple[str, ...]
    results: tuple[tuple[int, Processor], ...]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect, names: frozenset[str]) -> _Form:
        compiled: Any = statement.compile(dialect=dialect, column_keys=sorted(names))
        if compiled.positiontup is None:
            raise TypeError(f"{dialect.name}: not a positional parameter style")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise TypeError("a column default computed at execution: run it through SQLAlchemy")
        binds = compiled.binds
        if any(bind.expanding for bind in binds.values()):
            raise TypeError("a list bound at execution: run it through SQLAlchemy")
        order = tuple(
            (name, binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        )
        fixed = {
            name: bind.effective_value
            for name, bind in binds.items()
            if not bind.required and name not in names
        }
        keys: tuple[str, ...] = ()
        results: list[tuple[int, Processor]] = []
        if isinstance(statement, ReturnsRows):
            columns = list(statement.exported_columns)
            keys = tuple(statement.exported_columns.keys())
            for i, column in enumerate(columns):
                process = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if process is not None:
                    results.append((i, process))
        if len(set(keys)) != len(keys):
            raise TypeError(f"two returned columns share a name: {keys}")
        return cls(compiled.string, order, fixed, keys, tuple(results))

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.fixed, **params} if self.fixed else params
        try:
            return [
                process(values[name]) if process is not None else values[name]
                for name, process in self.order
            ]
        except KeyError as missing:
            raise TypeError(f"no value for the parameter {missing}") from None

    def run(self, driver: sqlite3.Connection, params: Mapping[str, Any]) -> Fetched:
        arguments = self.arguments(params)
        try:
            cursor = driver.execute(self.sql, arguments)
            try:
                rows = cursor.fetchall() if self.keys else []
                count = cursor.rowcount
            finally:
                cursor.close()
        except sqlite3.Error as failed:
            raise DBAPIError.instance(self.sql, arguments, failed, sqlite3.Error) from failed
        return Fetched([self._row(row) for row in rows], count)

    def run_many(self, driver: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        arguments = [self.arguments(params) for params in rows]
        try:
            driver.executemany(self.sql, arguments).close()
        except sqlite3.Error as failed:
            raise DBAPIError.instance(self.sql, arguments, failed, sqlite3.Error) from failed

    def _row(self, row: Sequence[Any]) -> dict[str, Any]:
        if not self.results:
            return dict(zip(self.keys, row, strict=True))
        values = list(row)
        for i, process in self.results:
            values[i] = process(values[i])
        return dict(zip(self.keys, values, strict=True))
