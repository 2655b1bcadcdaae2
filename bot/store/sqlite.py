"""The SQLite database: one file, one connection per process (WAL, foreign keys on)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.store import Database

__all__ = ["SqliteDatabase"]


class SqliteDatabase(Database):
    """One SQLite connection shared by the stores of one process."""

    dialect = "sqlite"
    conn: sqlite3.Connection

    def __init__(self, path: str | Path) -> None:
        self.path = self.target = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # The event loop thread is the only writer; a lock covers executor threads too.
        self._lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA busy_timeout = 5000")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )

    def migrate(self, migrations: Iterable[tuple[str, str]]) -> list[str]:
        applied: list[str] = []
        with self._lock:
            for name, sql in migrations:
                with self.transaction():
                    # Read inside the write lock: two processes starting at once (a replica, a
                    # doctor run) must not both apply the same migration.
                    done = self.conn.execute(
                        "SELECT 1 FROM schema_migrations WHERE name = ?", (name,)
                    ).fetchone()
                    if done:
                        continue
                    for statement in (s.strip() for s in sql.split(";")):
                        if statement:
                            self.conn.execute(statement)
                    self.conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                        (name, datetime.now(UTC).isoformat(timespec="seconds")),
                    )
                applied.append(name)
        return applied

    def applied(self) -> set[str]:
        return {str(r[0]) for r in self.conn.execute("SELECT name FROM schema_migrations")}

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: the whole file is this writer's until then."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self.conn.close()
