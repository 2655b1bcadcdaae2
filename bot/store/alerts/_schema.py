"""The alert tables, as named migrations, and the time format they store."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["MIGRATIONS", "iso", "parse_iso"]

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "alerts-0001",
        """
        CREATE TABLE watches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('domain', 'ip')), target TEXT NOT NULL,
            selectors TEXT NOT NULL DEFAULT '',
            added_by TEXT NOT NULL, added_at TEXT NOT NULL,
            removed_by TEXT, removed_at TEXT,
            next_run_at TEXT NOT NULL, last_run_at TEXT);
        CREATE UNIQUE INDEX watches_active ON watches (kind, target) WHERE removed_at IS NULL;
        CREATE TABLE watch_state (
            watch_id INTEGER PRIMARY KEY REFERENCES watches (id),
            version INTEGER NOT NULL, state TEXT NOT NULL, checked_at TEXT NOT NULL);
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL);
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            watch_id INTEGER, subject TEXT NOT NULL, created_at TEXT NOT NULL, card TEXT NOT NULL);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id INTEGER NOT NULL REFERENCES alerts (id),
            idempotency_key TEXT NOT NULL UNIQUE,
            platform TEXT NOT NULL, target TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, lease_until TEXT,
            sent_at TEXT, message_id TEXT, failed_at TEXT, last_error TEXT,
            created_at TEXT NOT NULL);
        CREATE INDEX outbox_pending ON outbox (next_attempt_at)
            WHERE sent_at IS NULL AND failed_at IS NULL;
        CREATE TABLE intake (
            id INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL,
            source TEXT NOT NULL, digest TEXT NOT NULL, raw BLOB NOT NULL, status TEXT NOT NULL,
            family TEXT, variant TEXT, sender_domain TEXT, error TEXT);
        CREATE INDEX intake_digest ON intake (digest);
        CREATE TABLE bounces (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, family TEXT NOT NULL,
            sender_domain TEXT NOT NULL, source TEXT NOT NULL);
        CREATE INDEX bounces_key ON bounces (family, sender_domain, at);
        CREATE TABLE trends (
            family TEXT NOT NULL, sender_domain TEXT NOT NULL,
            last_seen TEXT NOT NULL, alerted INTEGER NOT NULL,
            PRIMARY KEY (family, sender_domain))
        """,
    ),
    (
        # A delivery may answer in the thread of an earlier alert's message (reply_to), or
        # replace that message (edit_of): both name the earlier alert's key.
        "alerts-0002",
        """
        ALTER TABLE outbox ADD COLUMN reply_to TEXT;
        ALTER TABLE outbox ADD COLUMN edit_of TEXT
        """,
    ),
    (
        # Delisting requests marked sent, followed up in their card's thread (handlers.cases);
        # thread_id: a platform message to reply under that is not an alert of ours (a card).
        "alerts-0003",
        """
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY AUTOINCREMENT, card_id TEXT NOT NULL UNIQUE,
            platform TEXT NOT NULL, conversation TEXT NOT NULL, thread TEXT NOT NULL,
            route TEXT NOT NULL, title TEXT NOT NULL, ip TEXT NOT NULL, domain TEXT NOT NULL,
            zone TEXT NOT NULL, opened_by TEXT NOT NULL, opened_at TEXT NOT NULL,
            next_check_at TEXT, last_check_at TEXT, reminded_at TEXT, closed_at TEXT);
        CREATE INDEX cases_open ON cases (platform, conversation) WHERE closed_at IS NULL;
        ALTER TABLE outbox ADD COLUMN thread_id TEXT
        """,
    ),
    (
        # Replicas sharing one database: a watch claimed for a sweep and an outbox row claimed for
        # a post (until when, by which process's store), a
        # platform's Retry-After seen by every replica, and bounces recorded on receipt so a
        # retry landing on another replica is a duplicate.
        "alerts-0004",
        """
        ALTER TABLE watches ADD COLUMN claimed_until TEXT;
        ALTER TABLE watches ADD COLUMN claimed_by TEXT;
        ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
        CREATE TABLE platform_holds (platform TEXT PRIMARY KEY, until TEXT NOT NULL);
        CREATE TABLE intake_receipts (digest TEXT PRIMARY KEY, received_at TEXT NOT NULL)
        """,
    ),
)


def iso(at: datetime) -> str:
    """``at`` as fixed-width UTC text (``2026-01-05T09:00:00.000000+00:00``)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    """The datetime :func:`iso` wrote."""
    return datetime.fromisoformat(text)
