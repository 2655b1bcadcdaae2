"""Cases (delisting requests marked sent) and their follow-up, one transaction per step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store import Database
from bot.store.alerts._outbox import NewAlert, enqueue_in
from bot.store.alerts._schema import iso, parse_iso
from handlers.cases import Case, Step

__all__ = ["CaseQueries"]

_COLUMNS = (
    "id, card_id, platform, conversation, thread, route, title, ip, domain, zone, opened_by,"
    " opened_at, reminded_at"
)


def _case(row: Any) -> Case:
    return Case(
        card_id=row["card_id"],
        platform=row["platform"],
        conversation=row["conversation"],
        thread=row["thread"],
        route=row["route"],
        title=row["title"],
        ip=row["ip"],
        domain=row["domain"],
        zone=row["zone"],
        opened_by=row["opened_by"],
        opened_at=parse_iso(row["opened_at"]),
        id=row["id"],
        reminded=row["reminded_at"] is not None,
    )


class CaseQueries:
    """The ``cases`` table: implements the router's ``CaseBook`` and the follow-up's queries."""

    db: Database

    def open_case(self, case: Case) -> bool:
        """Record a new case, first look due at once; False when its card already has one."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO cases (card_id, platform, conversation, thread, route,"
                " title, ip, domain, zone, opened_by, opened_at, next_check_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    case.card_id,
                    case.platform,
                    case.conversation,
                    case.thread,
                    case.route,
                    case.title,
                    case.ip,
                    case.domain,
                    case.zone,
                    case.opened_by,
                    iso(case.opened_at),
                    iso(case.opened_at),
                ),
            )
            return cursor.rowcount == 1

    def open_cases(self, platform: str, conversation: str) -> list[Case]:
        """The cases of one conversation not closed yet, oldest first."""
        rows = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM cases WHERE platform = ? AND conversation = ?"  # noqa: S608
            " AND closed_at IS NULL ORDER BY id",
            (platform, conversation),
        ).fetchall()
        return [_case(row) for row in rows]

    def due_cases(self, now: datetime, limit: int = 50) -> list[Case]:
        """Open cases whose next look is due."""
        rows = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM cases WHERE closed_at IS NULL"  # noqa: S608
            " AND next_check_at IS NOT NULL AND next_check_at <= ? ORDER BY next_check_at LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        return [_case(row) for row in rows]

    def next_case_check(self) -> datetime | None:
        """When the earliest open case is next due (None: nothing to follow)."""
        row = self.db.conn.execute(
            "SELECT MIN(next_check_at) FROM cases WHERE closed_at IS NULL"
        ).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def record_case_step(
        self, case: Case, step: Step, *, at: datetime, alert: NewAlert | None
    ) -> bool:
        """Save ``step`` and queue its message in one transaction; False (nothing written) when
        another process took this step first (the case moved on since it was read)."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE cases SET next_check_at = ?, reminded_at = COALESCE(reminded_at, ?),"
                " closed_at = ?, last_check_at = ? WHERE id = ? AND closed_at IS NULL"
                " AND (reminded_at IS NULL) = ?",
                (
                    iso(step.next_check) if step.next_check else None,
                    iso(at) if step.reminded else None,
                    iso(at) if step.closed else None,
                    iso(at),
                    case.id,
                    not case.reminded,
                ),
            )
            if cursor.rowcount != 1:
                return False
            if alert is not None:
                enqueue_in(conn, alert, at)
            return True
