"""Intake (every received bounce kept raw), bounce counts and trend state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store import Database
from bot.store.alerts._schema import iso, parse_iso

__all__ = ["STALE_RECEIPT", "IntakeQueries"]

STALE_RECEIPT = timedelta(minutes=5)  # far longer than reading one bounce takes


class IntakeQueries:
    """Intake, bounce-count and trend queries."""

    db: Database

    def add_intake(
        self,
        *,
        at: datetime,
        source: str,
        digest: str,
        raw: bytes,
        status: str,
        family: str | None = None,
        variant: str | None = None,
        sender_domain: str | None = None,
        error: str | None = None,
    ) -> int:
        """Keep a received bounce, raw, with what became of it; return its id."""
        with self.db.transaction() as conn:
            (intake_id,) = conn.execute(
                "INSERT INTO intake (received_at, source, digest, raw, status, family, variant,"
                " sender_domain, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (iso(at), source, digest, raw, status, family, variant, sender_domain, error),
            ).fetchall()[0]
            return int(intake_id)

    def claim_intake(self, digest: str, *, at: datetime, since: datetime) -> bool:
        """Record on receipt that a bounce with ``digest`` is being taken; False when the same
        bytes were received since ``since`` (here or on another replica sharing the database).

        A receipt whose bounce was never kept (its process died while reading it) is taken
        over after ``STALE_RECEIPT``, so a retry is not turned away as a duplicate for a day.
        """
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM intake_receipts WHERE received_at < ?", (iso(since),))
            return bool(
                conn.execute(
                    "INSERT INTO intake_receipts (digest, received_at) VALUES (?, ?)"
                    " ON CONFLICT (digest) DO UPDATE SET received_at = excluded.received_at"
                    " WHERE intake_receipts.received_at < ? OR (intake_receipts.received_at < ?"
                    " AND NOT EXISTS (SELECT 1 FROM intake WHERE intake.digest = excluded.digest"
                    " AND intake.received_at >= ?)) RETURNING digest",
                    (digest, iso(at), iso(since), iso(at - STALE_RECEIPT), iso(since)),
                ).fetchall()
            )

    def release_intake(self, digest: str, *, since: datetime) -> None:
        """Forget a receipt whose bounce was not kept after all (so a retry is taken); one
        whose bounce was kept stays."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM intake_receipts WHERE digest = ? AND NOT EXISTS (SELECT 1 FROM intake"
                " WHERE intake.digest = ? AND intake.received_at >= ?)",
                (digest, digest, iso(since)),
            )

    def intake_seen(self, digest: str, *, since: datetime) -> int | None:
        """The id of an intake row with the same digest received since ``since``."""
        row = self.db.conn.execute(
            "SELECT id FROM intake WHERE digest = ? AND received_at >= ? ORDER BY id LIMIT 1",
            (digest, iso(since)),
        ).fetchone()
        return int(row[0]) if row else None

    def intake(self, intake_id: int) -> dict[str, object] | None:
        """One intake row as a dict (``raw`` as bytes)."""
        row = self.db.conn.execute("SELECT * FROM intake WHERE id = ?", (intake_id,)).fetchone()
        return dict(row) if row else None

    def count_unreadable(self, *, after_id: int) -> int:
        """How many intake rows newer than ``after_id`` could not be read."""
        row = self.db.conn.execute(
            "SELECT COUNT(*) FROM intake WHERE status = 'unreadable' AND id > ?", (after_id,)
        ).fetchone()
        return int(row[0])

    def count_and_decide(
        self,
        family: str,
        sender_domain: str,
        *,
        at: datetime,
        source: str,
        since: datetime,
        decide: Callable[[datetime | None, bool, int], tuple[datetime, bool, bool]],
    ) -> tuple[int, list[str], bool]:
        """Record one bounce and settle its trend key in one transaction: ``decide(last_seen,
        alerted, count in (since, at])`` gives the key's new ``(last_seen, alerted)`` and whether
        to alert. Replicas counting the same key queue on it, so one burst alerts once.

        Returns ``(count, where seen, alert)``."""
        with self.db.transaction() as conn:
            self.db.serialize(conn, f"trend:{family}:{sender_domain}")
            conn.execute(
                "INSERT INTO bounces (at, family, sender_domain, source) VALUES (?, ?, ?, ?)",
                (iso(at), family, sender_domain, source),
            )
            rows = conn.execute(
                "SELECT source FROM bounces WHERE family = ? AND sender_domain = ?"
                " AND at > ? AND at <= ?",
                (family, sender_domain, iso(since), iso(at)),
            ).fetchall()
            row = conn.execute(
                "SELECT last_seen, alerted FROM trends WHERE family = ? AND sender_domain = ?",
                (family, sender_domain),
            ).fetchone()
            last_seen, alerted = (parse_iso(row[0]), bool(row[1])) if row else (None, False)
            seen, now_alerted, fire = decide(last_seen, alerted, len(rows))
            conn.execute(
                "INSERT INTO trends VALUES (?, ?, ?, ?) ON CONFLICT (family, sender_domain)"
                " DO UPDATE SET last_seen = excluded.last_seen, alerted = excluded.alerted",
                (family, sender_domain, iso(seen), int(now_alerted)),
            )
        return len(rows), [r[0] for r in rows], fire

    def prune(self, *, before: datetime) -> None:
        """Forget bounce counts older than ``before`` (trends only look back one window)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM bounces WHERE at < ?", (iso(before),))
