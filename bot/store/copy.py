"""``ndrbot db copy``: every row of one store into another, e.g. from the SQLite file of a single
host into the PostgreSQL that replicas will share. All or nothing: the source is read in one
snapshot, the target written in one transaction, and only an empty target is written at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.store import Database

__all__ = ["TABLES", "CopyRefused", "copy_store", "migrate_all"]

# Parents before children (foreign keys); every table the stores create, migrations aside.
TABLES = (
    "watches",
    "watch_state",
    "audit",
    "alerts",
    "outbox",
    "intake",
    "intake_receipts",
    "bounces",
    "trends",
    "cases",
    "platform_holds",
    "seen_messages",
    "cards",
    "checklist_ticks",
    "conversation_refs",
    "settings",
    "dmarc_reports",
    "dmarc_records",
    "dmarc_refused",
    "dmarc_failures",
    "dmarc_names",
    "dmarc_changes",
)
_BATCH = 1000


class CopyRefused(Exception):
    """The copy would lose or mix data (a non-empty target, a table this version does not know)."""


@dataclass(frozen=True)
class Copied:
    """How many rows each table brought over."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def migrate_all(db: Database) -> None:
    """Bring ``db`` to the current schema of every store."""
    from bot.store.alerts import MIGRATIONS as ALERTS
    from bot.store.chat import MIGRATIONS as CHAT
    from bot.store.dmarc import MIGRATIONS as DMARC

    db.migrate(CHAT)
    db.migrate(ALERTS)
    db.migrate(DMARC)


def copy_store(
    source: Database, target: Database, *, progress: Callable[[str, int], None] | None = None
) -> Copied:
    """Copy every row of ``source`` into the empty ``target`` (both migrated first)."""
    migrate_all(source)
    migrate_all(target)
    unknown = source.tables() - set(TABLES)
    if unknown:
        raise CopyRefused(f"the source has tables this version does not know: {sorted(unknown)}")
    held = {
        t: n
        for t in TABLES
        if (n := int(target.conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]))  # noqa: S608
    }
    if held:
        listing = ", ".join(f"{t} ({n})" for t, n in held.items())
        raise CopyRefused(f"the target already holds rows: {listing}; copy into an empty database")
    copied: dict[str, int] = {}
    with source.snapshot() as reader, target.transaction() as conn:
        for table in TABLES:
            columns = source.columns(table)
            quoted = ", ".join(f'"{c}"' for c in columns)
            insert = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608
            count = 0
            rows: Any = reader.execute(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
            while batch := rows.fetchmany(_BATCH):
                conn.executemany(insert, [tuple(r) for r in batch])
                count += len(batch)
            if "id" in columns:
                target.after_copy(conn, table)
            copied[table] = count
            if progress is not None:
                progress(table, count)
    return Copied(copied)
