"""State in one database: an SQLite file (one host, the default) or PostgreSQL (replicas), chosen
by ``NDRBOT_DB`` (a path, or a ``postgresql://`` URL) and migrated on start.

Each concern keeps its tables and queries in its own module (``chat``, ``alerts``, ``dmarc``) and
lists its schema as named migrations; :class:`Database` applies the ones not applied yet, in
order. The queries are written once, in the SQL both engines speak (``?`` placeholders,
``ON CONFLICT``, ``RETURNING``); the few places they differ are the dialect hooks here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from os import PathLike
from typing import Any, Protocol

__all__ = [
    "Connection",
    "Database",
    "Fetched",
    "Result",
    "StoreUnavailable",
    "is_postgres_url",
    "open_database",
    "redact_url",
]


class StoreUnavailable(RuntimeError):
    """The database ``NDRBOT_DB`` names cannot be opened (the message says why, no password)."""


class Result(Protocol):
    """What ``execute`` returns: rows by position or by column name."""

    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Fetched:
    """A statement's rows, fetched whole before its connection is let go (returned to the pool,
    or its lock released for another thread)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self._at = 0  # how far fetchmany has read

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchmany(self, size: int) -> list[Any]:
        taken = self.rows[self._at : self._at + size]
        self._at += len(taken)
        return taken

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


class Connection(Protocol):
    """The part of a DB-API connection the stores use."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class Database:
    """One process's handle on the state database; see :func:`open_database`.

    ``conn`` runs a statement on its own (reads); ``transaction()`` runs several as one.
    """

    dialect = "base"
    target = ""
    conn: Connection

    def migrate(self, migrations: Iterable[tuple[str, str]]) -> list[str]:
        """Apply each ``(name, sql)`` not applied before; return the names applied now."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction, rolled back on error."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection(s)."""
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[Connection]:
        """A read-only transaction: every read in it sees the database as it was at its start."""
        raise NotImplementedError

    # -- where the two dialects differ ------------------------------------------------------------

    skip_locked = ""  # appended to a claim's SELECT: PostgreSQL skips rows another replica holds

    def claim(
        self,
        table: str,
        lease: tuple[str, str],
        due: tuple[str, tuple[object, ...]],
        order: str,
        *,
        now: str,
        until: str,
        owner: str,
        limit: int,
    ) -> list[int]:
        """Lease up to ``limit`` rows of ``table`` that are ``due`` and not leased (or whose
        lease ran out) to ``owner`` until ``until``, in ``order``; their ids.

        One statement: two processes never get the same row, and on PostgreSQL a row another
        replica is claiming is skipped, not waited for. ``lease`` names the (until, owner)
        columns; ``due`` is a WHERE clause and its parameters. Names and clauses are the
        caller's constants, never data."""
        until_column, owner_column = lease
        where, params = due
        with self.transaction() as conn:
            rows = conn.execute(
                f"UPDATE {table} SET {until_column} = ?, {owner_column} = ?"  # noqa: S608 (constants)
                f" WHERE id IN (SELECT id FROM {table} WHERE {where}"
                f" AND ({until_column} IS NULL OR {until_column} <= ?)"
                f" ORDER BY {order} LIMIT ?{self.skip_locked}) RETURNING id",
                (until, owner, *params, now, limit),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def serialize(self, conn: Connection, key: str) -> None:
        """Make transactions naming the same ``key`` take turns until this one ends (SQLite's
        write transactions take turns already)."""

    def group_concat(self, expression: str) -> str:
        """SQL joining the distinct values of ``expression`` with commas."""
        return f"GROUP_CONCAT(DISTINCT {expression})"

    def applied(self) -> set[str]:
        """The names of the migrations applied so far (empty for a new database)."""
        return {str(r[0]) for r in self.conn.execute("SELECT name FROM schema_migrations")}

    @staticmethod
    def _apply(conn: Connection, name: str, sql: str) -> bool:
        """Run migration ``name`` in the open transaction unless it ran before; True if it ran
        now. Callers hold whatever keeps two processes from doing this at once."""
        if conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone():
            return False
        for statement in (s.strip() for s in sql.split(";")):
            if statement:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
            (name, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        return True

    def columns(self, table: str) -> list[str]:
        """A table's column names, in order."""
        raise NotImplementedError

    def tables(self) -> set[str]:
        """The tables in this database, the migrations' own bookkeeping left out."""
        raise NotImplementedError

    def has_table(self, table: str) -> bool:
        """Whether ``table`` exists (a database ``ndrbot serve`` never opened has none)."""
        return bool(self.columns(table))

    def after_copy(self, conn: Connection, table: str) -> None:
        """After rows with their own ids were copied into ``table``: new rows must follow them."""


def is_postgres_url(target: str) -> bool:
    """True for ``postgresql://...`` (or ``postgres://``) rather than an SQLite path."""
    return target.startswith(("postgresql://", "postgres://"))


def redact_url(text: str) -> str:
    """``text`` with the password of any URL in it replaced, fit for a log line or a finding."""
    text = re.sub(r"(://[^/:@\s]*:)[^/\s]*@", r"\1***@", text)  # to the last @: one may be in it
    return re.sub(r"(?i)(\bpassword=)[^&\s]*", r"\1***", text)


def open_database(target: str | PathLike[str], **options: Any) -> Database:
    """The database ``NDRBOT_DB`` names: a PostgreSQL URL, else an SQLite file (or ``:memory:``).

    The PostgreSQL driver is imported only when one is asked for."""
    target = str(target)
    if is_postgres_url(target):
        from bot.store.postgres import PostgresDatabase

        return PostgresDatabase(target, **options)
    from bot.store.sqlite import SqliteDatabase

    return SqliteDatabase(target, **options)
