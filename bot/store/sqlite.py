"""The SQLite database: one file, one connection per process (WAL, foreign keys on)."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.store import Database, Fetched, StoreUnavailable

__all__ = [
    "NETWORK_FILESYSTEMS",
    "ServeLock",
    "SqliteDatabase",
    "filesystem_of",
    "network_filesystem",
]

log = logging.getLogger("ndrbot.store")
MIN_SQLITE = (3, 35)  # RETURNING (3.35) and ON CONFLICT upserts (3.24)


def _retry_locked(step: Callable[[], object], *, seconds: float = 10.0) -> None:
    """Run ``step``, again while SQLite says the file is locked: a new file switched to WAL by
    two processes at once can refuse one of them at once, busy timeout or not."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class _Serialised:
    """Statements run one at a time under the database's lock, each with its rows fetched
    whole before the lock is let go. The one connection is shared by the event loop and the
    reader thread: a read from one thread must not run inside the other's open transaction
    (it would see, or with ``COMMIT`` end, the other's uncommitted writes)."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock) -> None:
        self.connection = connection
        self.lock = lock

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Fetched:
        with self.lock:
            cursor = self.connection.execute(sql, parameters)
            return Fetched(cursor.fetchall(), cursor.rowcount)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Fetched:
        with self.lock:
            cursor = self.connection.executemany(sql, parameters)
            return Fetched([], cursor.rowcount)


class SqliteDatabase(Database):
    """One SQLite connection shared by the stores of one process."""

    dialect = "sqlite"
    conn: _Serialised  # a statement on its own (a read), under the lock
    raw: sqlite3.Connection  # the connection itself, for transactions (which hold the lock)

    def __init__(self, path: str | Path) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreUnavailable(
                f"SQLite {'.'.join(map(str, MIN_SQLITE))} or newer is needed (upserts and"
                f" RETURNING); this Python has {sqlite3.sqlite_version}: use a Python built with a"
                " newer SQLite, the container image, or PostgreSQL (NDRBOT_DB=postgresql://...)"
            )
        self.path = self.target = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # The event loop and the reader thread share the connection: every statement and every
        # transaction holds this lock.
        self._lock = threading.RLock()
        self.raw = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.raw.row_factory = sqlite3.Row
        self.conn = _Serialised(self.raw, self._lock)
        # The busy timeout first: switching a new file to WAL takes a lock too, and two processes
        # opening it at once must wait for each other, not fail.
        self.conn.execute("PRAGMA busy_timeout = 5000")
        self.conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            _retry_locked(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
            # WAL with NORMAL sync: a commit is durable across a crash of ndrbot, and the file
            # is never corrupted; only a power cut can lose the last commits. No fsync per
            # commit keeps a dedupe write before a Slack ack at well under a millisecond.
            self.conn.execute("PRAGMA synchronous = NORMAL")
        _retry_locked(
            lambda: self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        )

    def migrate(self, migrations: Iterable[tuple[str, str]]) -> list[str]:
        applied: list[str] = []
        with self._lock:
            for name, sql in migrations:
                # Inside the write lock (BEGIN IMMEDIATE): two processes starting at once (a
                # replica, a doctor run) must not both apply the same migration.
                with self.transaction() as conn:
                    if self._apply(conn, name, sql):
                        applied.append(name)
        return applied

    def tables(self) -> set[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(r[0]) for r in rows} - {"schema_migrations", "sqlite_sequence"}

    def columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.conn.execute(f'PRAGMA table_info("{table}")')]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: the whole file is this writer's until then."""
        with self._lock:
            self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self.raw
            except BaseException:
                self.raw.execute("ROLLBACK")
                raise
            self.raw.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN`` (deferred) ... ``COMMIT``: in WAL mode, one consistent view for reading."""
        with self._lock:
            self.raw.execute("BEGIN")
            try:
                yield self.raw
            finally:
                self.raw.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self.raw.close()


NETWORK_FILESYSTEMS = frozenset(
    (
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "fuse.sshfs",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "davfs",
        "fuse.s3fs",
        "fuse.rclone",
    )
)


def filesystem_of(path: str, mounts: str) -> str:
    """The filesystem type of the longest mount point containing ``path`` (``/proc/mounts``)."""
    best, kind = "", ""
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, parts[2]
    return kind


def network_filesystem(path: str, mounts: str | None = None) -> str | None:
    """The network filesystem ``path``'s folder is on (``nfs4``, ``cifs``...), or None."""
    if path == ":memory:":
        return None
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8")
        except OSError:
            return None
    kind = filesystem_of(str(Path(path).resolve().parent), mounts)
    return kind if kind in NETWORK_FILESYSTEMS else None


class ServeLock:
    """``ndrbot serve``'s claim on an SQLite file (``<file>.serve.lock``, an ``flock``): a second
    server on the same file is told, because two would each sweep every watch and run an outbox.
    """

    def __init__(self, path: str) -> None:
        self.path = f"{path}.serve.lock"
        self.fd: int | None = None
        self.other: str | None = None  # the pid of the server holding it, when it was held

    def acquire(self) -> bool:
        """Take the lock; False (and ``other`` set) when another server holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.other = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
