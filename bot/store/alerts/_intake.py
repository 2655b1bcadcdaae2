"""Intake (every received bounce kept raw), bounce counts and trend state."""

from __future__ import annotations

from datetime import datetime

from bot.store import Database
from bot.store.alerts._schema import iso, parse_iso

__all__ = ["IntakeQueries"]


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
        bytes were received since ``since`` (here or on another replica sharing the database)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM intake_receipts WHERE received_at < ?", (iso(since),))
            return bool(
                conn.execute(
                    "INSERT INTO intake_receipts (digest, received_at) VALUES (?, ?)"
                    " ON CONFLICT (digest) DO UPDATE SET received_at = excluded.received_at"
                    " WHERE intake_receipts.received_at < ? RETURNING digest",
                    (digest, iso(at), iso(since)),
                ).fetchall()
            )

    def release_intake(self, digest: str) -> None:
        """Forget a receipt whose bounce was not kept after all (so a retry is taken)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM intake_receipts WHERE digest = ?", (digest,))

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

    def count_bounce(
        self, family: str, sender_domain: str, *, at: datetime, source: str, since: datetime
    ) -> tuple[int, list[str]]:
        """Record one bounce; return how many of its key fell in ``(since, at]`` and where seen."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO bounces (at, family, sender_domain, source) VALUES (?, ?, ?, ?)",
                (iso(at), family, sender_domain, source),
            )
            rows = conn.execute(
                "SELECT source FROM bounces WHERE family = ? AND sender_domain = ?"
                " AND at > ? AND at <= ?",
                (family, sender_domain, iso(since), iso(at)),
            ).fetchall()
        return len(rows), [r[0] for r in rows]

    def trend(self, family: str, sender_domain: str) -> tuple[datetime | None, bool]:
        """``(last_seen, alerted)`` of a trend key."""
        row = self.db.conn.execute(
            "SELECT last_seen, alerted FROM trends WHERE family = ? AND sender_domain = ?",
            (family, sender_domain),
        ).fetchone()
        return (parse_iso(row[0]), bool(row[1])) if row else (None, False)

    def save_trend(
        self, family: str, sender_domain: str, *, last_seen: datetime, alerted: bool
    ) -> None:
        """Remember a trend key's state."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO trends VALUES (?, ?, ?, ?) ON CONFLICT (family, sender_domain)"
                " DO UPDATE SET last_seen = excluded.last_seen, alerted = excluded.alerted",
                (family, sender_domain, iso(last_seen), int(alerted)),
            )

    def prune(self, *, before: datetime) -> None:
        """Forget bounce counts older than ``before`` (trends only look back one window)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM bounces WHERE at < ?", (iso(before),))
