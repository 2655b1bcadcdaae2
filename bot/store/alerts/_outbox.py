"""Alert history and the outbox: written before sending, marked sent only on success."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.store import Connection, Database
from bot.store.alerts._schema import iso, parse_iso
from handlers.card import Card, card_from_json, card_to_json

__all__ = ["Delivery", "NewAlert", "OutboxQueries", "enqueue_in"]


@dataclass(frozen=True)
class NewAlert:
    """An alert to record and queue: ``key`` makes it idempotent (written once, sent once)."""

    key: str
    kind: str
    subject: str
    card: Card
    destinations: tuple[tuple[str, str], ...]  # (platform, target)
    watch_id: int | None = None
    reply_to: str | None = None  # an earlier alert's key: post in the thread of its message
    edit_of: str | None = None  # an earlier alert's key: replace its message with this card
    thread_id: str | None = None  # a platform message (a card of ours) to reply under


@dataclass(frozen=True)
class Delivery:
    """One outbox row: an alert card to post to one conversation."""

    id: int
    idempotency_key: str
    platform: str
    target: str
    attempts: int
    created_at: datetime
    card: Card
    reply_to: str | None = None  # the outbox key of the delivery whose message to answer under
    edit_of: str | None = None  # the outbox key of the delivery whose message to replace
    thread_id: str | None = None  # a platform message to reply under


def enqueue_in(conn: Connection, alert: NewAlert, at: datetime) -> bool:
    """Record ``alert`` and its outbox rows in the open transaction; False if the key exists."""
    inserted = conn.execute(
        "INSERT INTO alerts (key, kind, watch_id, subject, created_at, card)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (
            alert.key,
            alert.kind,
            alert.watch_id,
            alert.subject,
            iso(at),
            json.dumps(card_to_json(alert.card)),
        ),
    ).fetchall()
    if not inserted:
        return False
    alert_id = inserted[0][0]
    for platform, target in alert.destinations:
        conn.execute(
            "INSERT INTO outbox (alert_id, idempotency_key, platform, target,"
            " next_attempt_at, created_at, reply_to, edit_of, thread_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                alert_id,
                delivery_key(alert.key, platform, target),
                platform,
                target,
                iso(at),
                iso(at),
                delivery_key(alert.reply_to, platform, target) if alert.reply_to else None,
                delivery_key(alert.edit_of, platform, target) if alert.edit_of else None,
                alert.thread_id,
            ),
        )
    return True


def delivery_key(alert_key: str, platform: str, target: str) -> str:
    """The outbox key of one alert's delivery to one conversation."""
    return f"{alert_key}|{platform}|{target}"


class OutboxQueries:
    """Alert history and outbox queries."""

    db: Database
    owner: str

    def enqueue(self, alert: NewAlert, *, at: datetime) -> bool:
        """Record an alert and queue one delivery per destination; False if the key exists."""
        with self.db.transaction() as conn:
            return enqueue_in(conn, alert, at)

    def alerts(self, kind: str | None = None) -> list[tuple[str, str, Card]]:
        """Alert history, oldest first: ``(kind, subject, card)``."""
        sql = "SELECT kind, subject, card FROM alerts"
        rows = self.db.conn.execute(
            sql + (" WHERE kind = ? ORDER BY id" if kind else " ORDER BY id"),
            (kind,) if kind else (),
        ).fetchall()
        return [(r[0], r[1], card_from_json(json.loads(r[2]))) for r in rows]

    def last_alert(self, kind: str) -> tuple[str, datetime] | None:
        """``(key, created_at)`` of the latest alert of ``kind``."""
        row = self.db.conn.execute(
            "SELECT key, created_at FROM alerts WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
        ).fetchone()
        return (row[0], parse_iso(row[1])) if row else None

    def claim_deliveries(
        self, now: datetime, platform: str, *, until: datetime, limit: int = 1
    ) -> list[Delivery]:
        """Claim one platform's due outbox rows (not sent, not given up, not leased) for this
        process until ``until``, oldest first.

        The claim is a lease written in one statement: two processes (replicas, or the CLI beside
        the server) never get the same row, and on PostgreSQL a row another replica is claiming
        is skipped, not waited for. A process that dies holding a claim loses it when the lease
        runs out, and the row is tried again elsewhere, with the same idempotency key.
        """
        ids = self.db.claim(
            "outbox",
            ("lease_until", "lease_owner"),
            (
                "platform = ? AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?",
                (platform, iso(now)),
            ),
            "id",
            now=iso(now),
            until=iso(until),
            owner=self.owner,
            limit=limit,
        )
        if not ids:
            return []
        rows = self.db.conn.execute(
            "SELECT o.id, o.idempotency_key, o.platform, o.target, o.attempts, o.created_at,"  # noqa: S608 (marks only)
            " a.card, o.reply_to, o.edit_of, o.thread_id"
            " FROM outbox o JOIN alerts a ON a.id = o.alert_id"
            f" WHERE o.id IN ({','.join('?' * len(ids))}) ORDER BY o.id",
            ids,
        ).fetchall()
        return [
            Delivery(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                parse_iso(r[5]),
                card_from_json(json.loads(r[6])),
                r[7],
                r[8],
                r[9],
            )
            for r in rows
        ]

    def count_attempt(self, delivery_id: int) -> bool:
        """A claimed row is about to be posted: count the try (the backoff grows with it); False
        when the claim is no longer this process's (it lapsed and another took the row over)."""
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE id = ? AND lease_owner = ?"
                    " AND sent_at IS NULL AND failed_at IS NULL",
                    (delivery_id, self.owner),
                ).rowcount
                == 1
            )

    def hold(self, platform: str) -> datetime | None:
        """Until when a platform asked every process to wait (its last 429's Retry-After)."""
        row = self.db.conn.execute(
            "SELECT until FROM platform_holds WHERE platform = ?", (platform,)
        ).fetchone()
        return parse_iso(row[0]) if row else None

    def set_hold(self, platform: str, until: datetime) -> None:
        """Remember a platform's Retry-After where every replica sees it."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO platform_holds (platform, until) VALUES (?, ?)"
                " ON CONFLICT (platform) DO UPDATE SET until = excluded.until"
                " WHERE platform_holds.until < excluded.until",
                (platform, iso(until)),
            )

    def posted_message(self, delivery_key: str) -> tuple[str, str | None]:
        """Where an earlier delivery stands: ``("sent", message id)``, ``("pending", None)``
        (still to be tried), or ``("failed", None)`` (given up, or never queued)."""
        row = self.db.conn.execute(
            "SELECT sent_at, message_id, failed_at FROM outbox WHERE idempotency_key = ?",
            (delivery_key,),
        ).fetchone()
        if row is None or row[2] is not None:
            return "failed", None
        if row[0] is not None and row[1]:
            return "sent", str(row[1])
        if row[0] is not None:
            return "failed", None  # sent, but the platform gave no id to answer under
        return "pending", None

    def alert_card(self, key: str) -> Card | None:
        """The card an alert was recorded with."""
        row = self.db.conn.execute("SELECT card FROM alerts WHERE key = ?", (key,)).fetchone()
        return card_from_json(json.loads(row[0])) if row else None

    def pending_deliveries(self) -> tuple[int, datetime | None]:
        """How many deliveries are not sent (nor given up) yet, and when the oldest was queued."""
        row = self.db.conn.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        ).fetchone()
        return int(row[0]), parse_iso(row[1]) if row[1] else None

    def next_delivery_at(self, platform: str) -> datetime | None:
        """When a platform's earliest pending delivery may be tried (None: nothing pending)."""
        row = self.db.conn.execute(
            "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until"
            " ELSE next_attempt_at END) FROM outbox"
            " WHERE platform = ? AND sent_at IS NULL AND failed_at IS NULL",
            (platform,),
        ).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def mark_sent(self, delivery_id: int, *, at: datetime, message_id: str) -> None:
        """The platform accepted the post."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET sent_at = ?, message_id = ?, lease_until = NULL,"
                " lease_owner = NULL WHERE id = ? AND sent_at IS NULL",
                (iso(at), message_id, delivery_id),
            )

    def mark_retry(self, delivery_id: int, *, next_attempt_at: datetime, error: str) -> None:
        """The post failed in a way worth retrying; try again at ``next_attempt_at`` (only while
        the claim is this process's)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET next_attempt_at = ?, last_error = ?, lease_until = NULL,"
                " lease_owner = NULL WHERE id = ? AND lease_owner = ?",
                (iso(next_attempt_at), error[:500], delivery_id, self.owner),
            )

    def mark_failed(self, delivery_id: int, *, at: datetime, error: str) -> None:
        """Give up on a delivery (the alert stays in the history)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET failed_at = ?, last_error = ?, lease_until = NULL,"
                " lease_owner = NULL WHERE id = ? AND lease_owner = ?",
                (iso(at), error[:500], delivery_id, self.owner),
            )

    def outbox(self) -> list[dict[str, object]]:
        """Every outbox row as a dict (for the CLI and tests)."""
        rows = self.db.conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()
        return [dict(r) for r in rows]
