"""Watches, who changed them and when (the audit log), and each watch's remembered state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.store import Connection, Database
from bot.store.alerts._outbox import NewAlert, enqueue_in
from bot.store.alerts._schema import iso, parse_iso
from handlers.refusals import Refusal
from handlers.watch.model import Watch, WatchKind
from handlers.watch.transitions import WatchState

__all__ = ["AlreadyWatched", "WatchQueries"]


class AlreadyWatched(Refusal):
    """The domain or IP is watched already (the message names who added it)."""


def _watch(row: Any) -> Watch:
    return Watch(
        id=row["id"],
        kind=WatchKind(row["kind"]),
        target=row["target"],
        selectors=tuple(s for s in row["selectors"].split(",") if s),
        added_by=row["added_by"],
        added_at=parse_iso(row["added_at"]),
        next_run_at=parse_iso(row["next_run_at"]),
        removed_by=row["removed_by"],
        removed_at=parse_iso(row["removed_at"]) if row["removed_at"] else None,
        last_run_at=parse_iso(row["last_run_at"]) if row["last_run_at"] else None,
    )


class WatchQueries:
    """Watch, audit and watch-state queries."""

    db: Database
    owner: str

    def add_watch(
        self,
        kind: WatchKind,
        target: str,
        *,
        who: str,
        at: datetime,
        first_run_at: datetime,
        selectors: Sequence[str] = (),
    ) -> Watch:
        """Add a watch and record who did it; AlreadyWatched if it is watched already."""
        with self.db.transaction() as conn:
            existing = self._active(conn, kind, target)
            if existing is not None:
                raise self._already(existing, kind, target)
            inserted = conn.execute(
                "INSERT INTO watches (kind, target, selectors, added_by, added_at, next_run_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (str(kind), target, ",".join(selectors), who, iso(at), iso(first_run_at)),
            ).fetchall()
            if inserted:
                self._audit(conn, at, who, "watch.add", f"{kind} {target}")
        if not inserted:  # another process added it since the look above
            raise self._already(self._active_now(kind, target), kind, target)
        watch_id = inserted[0][0]
        found = self.watch(int(watch_id or 0))
        assert found is not None
        return found

    def remove_watch(self, kind: WatchKind, target: str, *, who: str, at: datetime) -> Watch | None:
        """Stop a watch (its row stays, with who removed it); None when it was not watched."""
        with self.db.transaction() as conn:
            existing = self._active(conn, kind, target)
            if existing is None:
                return None
            conn.execute(
                "UPDATE watches SET removed_by = ?, removed_at = ? WHERE id = ?",
                (who, iso(at), existing.id),
            )
            self._audit(conn, at, who, "watch.remove", f"{kind} {target}")
        return self.watch(existing.id)

    @staticmethod
    def _already(existing: Watch | None, kind: WatchKind, target: str) -> AlreadyWatched:
        if existing is None:
            return AlreadyWatched(f"{kind} {target} is watched already")
        return AlreadyWatched(
            f"{kind} {target} is watched already (#{existing.id}, added by "
            f"{existing.added_by} on {existing.added_at:%Y-%m-%d})"
        )

    def _active_now(self, kind: WatchKind, target: str) -> Watch | None:
        return self._active(self.db.conn, kind, target)

    @staticmethod
    def _active(conn: Connection, kind: WatchKind, target: str) -> Watch | None:
        row = conn.execute(
            "SELECT * FROM watches WHERE kind = ? AND target = ? AND removed_at IS NULL",
            (str(kind), target),
        ).fetchone()
        return _watch(row) if row else None

    def watch(self, watch_id: int) -> Watch | None:
        """A watch by id, removed or not."""
        row = self.db.conn.execute("SELECT * FROM watches WHERE id = ?", (watch_id,)).fetchone()
        return _watch(row) if row else None

    def watches(self) -> list[Watch]:
        """Every active watch, oldest first."""
        rows = self.db.conn.execute(
            "SELECT * FROM watches WHERE removed_at IS NULL ORDER BY id"
        ).fetchall()
        return [_watch(r) for r in rows]

    def due_watches(self, now: datetime) -> list[Watch]:
        """Active watches whose next run is due, most overdue first (claimed or not)."""
        rows = self.db.conn.execute(
            "SELECT * FROM watches WHERE removed_at IS NULL AND next_run_at <= ?"
            " ORDER BY next_run_at, id",
            (iso(now),),
        ).fetchall()
        return [_watch(r) for r in rows]

    def claim_due_watches(
        self, now: datetime, *, until: datetime, limit: int = 10_000
    ) -> list[Watch]:
        """Claim the due watches no other process holds, until ``until``, most overdue first.

        Replicas sharing the database each take a disjoint share of a sweep (PostgreSQL skips
        rows another replica is claiming); a run's :meth:`record_run` gives the claim back with
        the next run's time, and a process that dies mid-sweep loses its claims when they run
        out.
        """
        ids = self.db.claim(
            "watches",
            ("claimed_until", "claimed_by"),
            ("removed_at IS NULL AND next_run_at <= ?", (iso(now),)),
            "next_run_at, id",
            now=iso(now),
            until=iso(until),
            owner=self.owner,
            limit=limit,
        )
        if not ids:
            return []
        rows = self.db.conn.execute(
            f"SELECT * FROM watches WHERE id IN ({','.join('?' * len(ids))})"  # noqa: S608
            " ORDER BY next_run_at, id",
            ids,
        ).fetchall()
        return [_watch(r) for r in rows]

    def release_watch_claims(self) -> None:
        """Give back the watches this process claimed and did not run (a sweep cancelled at
        shutdown, a run another process saved first): they are due again at once."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE watches SET claimed_until = NULL, claimed_by = NULL WHERE claimed_by = ?",
                (self.owner,),
            )

    def next_run_at(self) -> datetime | None:
        """When the next watch may be run here (None when nothing is watched): its next run, or
        when another process's claim on it lapses, whichever is later."""
        row = self.db.conn.execute(
            "SELECT MIN(CASE WHEN claimed_until > next_run_at THEN claimed_until"
            " ELSE next_run_at END) FROM watches WHERE removed_at IS NULL"
        ).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def audit(self, *, at: datetime, who: str, action: str, subject: str) -> None:
        """Record a change (who, when, what) that is not a watch add or remove."""
        with self.db.transaction() as conn:
            self._audit(conn, at, who, action, subject)

    @staticmethod
    def _audit(conn: Connection, at: datetime, who: str, action: str, subject: str) -> None:
        conn.execute(
            "INSERT INTO audit (at, who, action, subject) VALUES (?, ?, ?, ?)",
            (iso(at), who, action, subject),
        )

    def audit_log(self, limit: int = 100) -> list[tuple[datetime, str, str, str]]:
        """The latest changes, newest first: ``(at, who, action, subject)``."""
        rows = self.db.conn.execute(
            "SELECT at, who, action, subject FROM audit ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(parse_iso(r[0]), r[1], r[2], r[3]) for r in rows]

    def state(self, watch_id: int) -> tuple[WatchState, int]:
        """The watch's remembered state and its version (0 before the first run)."""
        row = self.db.conn.execute(
            "SELECT version, state FROM watch_state WHERE watch_id = ?", (watch_id,)
        ).fetchone()
        if row is None:
            return WatchState(), 0
        return WatchState.from_json(json.loads(row[1])), int(row[0])

    def states(self) -> dict[int, WatchState]:
        """Every watch's state, by watch id."""
        rows = self.db.conn.execute("SELECT watch_id, state FROM watch_state").fetchall()
        return {int(r[0]): WatchState.from_json(json.loads(r[1])) for r in rows}

    def record_run(
        self,
        watch: Watch,
        *,
        version: int,
        state: WatchState,
        checked_at: datetime,
        next_run_at: datetime,
        alerts: Sequence[NewAlert],
    ) -> bool:
        """Save a run's state, schedule the next, and queue its alerts, all at once.

        False (and nothing written) when another process saved a newer run of this watch
        since ``version`` was read, so a transition is never announced twice.
        """
        with self.db.transaction() as conn:
            if version == 0:
                cursor = conn.execute(
                    "INSERT INTO watch_state VALUES (?, 1, ?, ?) ON CONFLICT DO NOTHING",
                    (watch.id, json.dumps(state.to_json()), iso(checked_at)),
                )
            else:
                cursor = conn.execute(
                    "UPDATE watch_state SET version = version + 1, state = ?, checked_at = ?"
                    " WHERE watch_id = ? AND version = ?",
                    (json.dumps(state.to_json()), iso(checked_at), watch.id, version),
                )
            if cursor.rowcount != 1:
                return False
            conn.execute(
                "UPDATE watches SET next_run_at = ?, last_run_at = ?, claimed_until = NULL,"
                " claimed_by = NULL WHERE id = ?",
                (iso(next_run_at), iso(checked_at), watch.id),
            )
            for alert in alerts:
                enqueue_in(conn, alert, checked_at)
        return True
