"""DMARC aggregate reports on disk: one row per report (its raw bytes kept compressed, for audit,
until the retention runs out), one row per record, and the reports refused, kept for a look.

A report is the same report when it comes again with the same (reporting org, report id,
domain, date range): :meth:`DmarcStore.add` then changes nothing and says ``duplicate``. A report
is stored whole or not at all: its records are written in short transactions as they stream out
of the parser (the database is never held while XML is read), under a report row marked
incomplete that no query sees; an XML that breaks off half-way leaves nothing behind but its
refusal.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from bot.store import Connection, Database
from handlers.dmarc.failure import FailureReport
from handlers.dmarc.report import Record, ReportHead
from handlers.dmarc.sources import FORWARD_OVERRIDES, SourceStats

__all__ = ["MIGRATIONS", "Added", "DmarcStore"]

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "dmarc-0001",
        """
        CREATE TABLE dmarc_reports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            org TEXT NOT NULL, report_id TEXT NOT NULL, domain TEXT NOT NULL,
            begin_at TEXT NOT NULL, end_at TEXT NOT NULL,
            format TEXT NOT NULL, policy TEXT NOT NULL,
            received_at TEXT NOT NULL, source TEXT NOT NULL,
            records INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0,
            complete INTEGER NOT NULL DEFAULT 0,
            raw BLOB,
            UNIQUE (org, report_id, domain, begin_at, end_at));
        CREATE TABLE dmarc_records (
            report INTEGER NOT NULL REFERENCES dmarc_reports (id) ON DELETE CASCADE,
            domain TEXT NOT NULL, day TEXT NOT NULL, source_ip TEXT NOT NULL,
            messages INTEGER NOT NULL, aligned INTEGER NOT NULL,
            dkim_aligned INTEGER NOT NULL, spf_aligned INTEGER NOT NULL,
            dkim_auth INTEGER NOT NULL, spf_auth INTEGER NOT NULL,
            forwarded INTEGER NOT NULL, rejected INTEGER NOT NULL,
            header_from TEXT NOT NULL, envelope_from TEXT NOT NULL, dkim_domain TEXT NOT NULL);
        CREATE INDEX dmarc_records_domain_day ON dmarc_records (domain, day);
        CREATE INDEX dmarc_records_source ON dmarc_records (domain, source_ip, day);
        CREATE TABLE dmarc_refused (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, raw BLOB)
        """,
    ),
    (
        "dmarc-0002",
        """
        CREATE TABLE dmarc_failures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at TEXT NOT NULL, day TEXT NOT NULL, reporter TEXT NOT NULL,
            domain TEXT NOT NULL, source_ip TEXT NOT NULL, failure TEXT NOT NULL,
            arrival TEXT NOT NULL);
        CREATE INDEX dmarc_failures_domain_day ON dmarc_failures (domain, day)
        """,
    ),
    (
        "dmarc-0003",
        """
        CREATE TABLE dmarc_names (
            ip TEXT PRIMARY KEY, ptr TEXT NOT NULL, checked_at TEXT NOT NULL)
        """,
    ),
    (
        # Policy changes already announced (after-change alerts), so a change whose first day
        # moves as late reports arrive is still announced once.
        "dmarc-0004",
        """
        CREATE TABLE dmarc_changes (
            domain TEXT NOT NULL, old_policy TEXT NOT NULL, new_policy TEXT NOT NULL,
            day TEXT NOT NULL, announced_at TEXT NOT NULL,
            PRIMARY KEY (domain, old_policy, new_policy, day))
        """,
    ),
)

_BATCH = 2000
STALE_PARTIAL = timedelta(hours=1)  # an incomplete report older than this was left by a crash


@dataclass(frozen=True)
class Added:
    """What :meth:`DmarcStore.add` did: ``stored`` or ``duplicate``, with the report's row id."""

    status: str
    report: int
    records: int = 0
    messages: int = 0


def _row(report: int, head: ReportHead, record: Record) -> tuple[object, ...]:
    n = record.count
    dkim_passed = [a.domain for a in record.auth if a.method == "dkim" and a.result == "pass"]
    spf_passed = any(a.method == "spf" and a.result == "pass" for a in record.auth)
    forwarded = any(o in FORWARD_OVERRIDES for o in record.overrides)
    return (
        report,
        head.domain,
        head.begin.date().isoformat(),
        record.source_ip,
        n,
        n if record.aligned else 0,
        n if record.dkim == "pass" else 0,
        n if record.spf == "pass" else 0,
        n if dkim_passed else 0,
        n if spf_passed else 0,
        n if forwarded else 0,
        n if record.disposition in ("reject", "quarantine") else 0,
        record.header_from,
        record.envelope_from,
        dkim_passed[0] if dkim_passed else "",
    )


class DmarcStore:
    """Reports, records and refusals in the shared database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(MIGRATIONS)

    def add(
        self,
        head: ReportHead,
        records: Iterable[Record],
        *,
        raw: bytes,
        source: str,
        at: datetime,
    ) -> Added:
        """Store a report and its records (all or nothing), unless it is here already.

        ``records`` may raise while it is consumed (a report that breaks off): then nothing is
        kept and the exception goes to the caller. The records are parsed outside any
        transaction and written in short ones, so a large report never holds the database
        while it is read; until its last row is in, the report is marked incomplete and no
        query sees it."""
        org, report_id, domain, begin, end = head.key
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, complete, received_at FROM dmarc_reports WHERE org = ? AND "
                "report_id = ? AND domain = ? AND begin_at = ? AND end_at = ?",
                (org, report_id, domain, begin, end),
            ).fetchone()
            if row is not None:
                started = datetime.fromisoformat(str(row[2]))
                if row[1] or at - started < STALE_PARTIAL:
                    return Added("duplicate", int(row[0]))  # stored, or being stored now
                conn.execute("DELETE FROM dmarc_reports WHERE id = ?", (row[0],))  # a crash's
            inserted = conn.execute(
                "INSERT INTO dmarc_reports (org, report_id, domain, begin_at, end_at, format, "
                "policy, received_at, source, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (
                    org,
                    report_id,
                    domain,
                    begin,
                    end,
                    head.format,
                    json.dumps(asdict(head.policy)),
                    at.isoformat(timespec="seconds"),
                    source[:100],
                    zlib.compress(raw, 6),
                ),
            ).fetchall()
            if not inserted:  # another replica stored it since the look above
                return self._existing(conn, head)
            report = int(inserted[0][0])
        count = messages = 0
        try:
            batch: list[tuple[object, ...]] = []
            for record in records:
                batch.append(_row(report, head, record))
                count += 1
                messages += record.count
                if len(batch) >= _BATCH:
                    self._insert(batch)
                    batch = []
            if batch:
                self._insert(batch)
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE dmarc_reports SET records = ?, messages = ?, complete = 1 WHERE id = ?",
                    (count, messages, report),
                )
        except BaseException:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM dmarc_reports WHERE id = ?", (report,))
            raise
        return Added("stored", report, count, messages)

    @staticmethod
    def _existing(conn: Connection, head: ReportHead) -> Added:
        org, report_id, domain, begin, end = head.key
        row = conn.execute(
            "SELECT id FROM dmarc_reports WHERE org = ? AND report_id = ? AND domain = ? AND "
            "begin_at = ? AND end_at = ?",
            (org, report_id, domain, begin, end),
        ).fetchone()
        return Added("duplicate", int(row[0]) if row else 0)

    def _insert(self, rows: list[tuple[object, ...]]) -> None:
        with self.db.transaction() as conn:
            conn.executemany(_INSERT_RECORD, rows)

    def refuse(self, *, raw: bytes, source: str, reason: str, at: datetime) -> int:
        """Keep a report that could not be read, with why; return its id."""
        with self.db.transaction() as conn:
            (refused,) = conn.execute(
                "INSERT INTO dmarc_refused (received_at, source, reason, raw) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (at.isoformat(timespec="seconds"), source[:100], reason[:500], zlib.compress(raw)),
            ).fetchall()[0]
        return int(refused)

    def add_failure(self, report: FailureReport, *, at: datetime) -> int:
        """Keep a failure report's redacted essentials (never the message it is about)."""
        with self.db.transaction() as conn:
            (failure,) = conn.execute(
                "INSERT INTO dmarc_failures (received_at, day, reporter, domain, source_ip, "
                "failure, arrival) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    at.isoformat(timespec="seconds"),
                    at.date().isoformat(),
                    report.reporter,
                    report.domain,
                    report.source_ip,
                    report.failure,
                    report.arrival,
                ),
            ).fetchall()[0]
        return int(failure)

    def failure_count(self, domain: str, since: str) -> int:
        """Failure reports received for ``domain`` from day ``since`` on."""
        row = self.db.conn.execute(
            "SELECT COUNT(*) FROM dmarc_failures WHERE domain = ? AND day >= ?", (domain, since)
        ).fetchone()
        return int(row[0])

    def names(self, ips: Iterable[str]) -> dict[str, str]:
        """The forward-confirmed reverse DNS names looked up for ``ips`` ("" for none)."""
        wanted = list(ips)
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for ip, ptr in self.db.conn.execute(
                f"SELECT ip, ptr FROM dmarc_names WHERE ip IN ({marks})",  # noqa: S608 (marks only)
                chunk,
            ):
                out[str(ip)] = str(ptr)
        return out

    def unnamed(self, *, checked_before: datetime, since: str, limit: int) -> list[str]:
        """Source IPs of records from day ``since`` on, never looked up or looked up before
        ``checked_before``, most mail first."""
        rows = self.db.conn.execute(
            "SELECT c.source_ip FROM dmarc_records c LEFT JOIN dmarc_names n ON n.ip = c.source_ip "
            "WHERE c.day >= ? AND (n.ip IS NULL OR n.checked_at < ?) GROUP BY c.source_ip "
            "ORDER BY SUM(c.messages) DESC LIMIT ?",
            (since, checked_before.isoformat(timespec="seconds"), limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def save_names(self, names: dict[str, str], *, at: datetime) -> None:
        """Remember looked-up names (``""``: the IP has no confirmed name)."""
        stamp = at.isoformat(timespec="seconds")
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO dmarc_names (ip, ptr, checked_at) VALUES (?, ?, ?) ON CONFLICT (ip)"
                " DO UPDATE SET ptr = excluded.ptr, checked_at = excluded.checked_at",
                [(ip, ptr, stamp) for ip, ptr in names.items()],
            )

    def raw(self, report: int) -> bytes | None:
        """A stored report's bytes as they arrived (None once the retention dropped them)."""
        row = self.db.conn.execute(
            "SELECT raw FROM dmarc_reports WHERE id = ?", (report,)
        ).fetchone()
        return zlib.decompress(row[0]) if row is not None and row[0] is not None else None

    def drop_raw_before(self, cutoff: datetime) -> int:
        """Forget the raw bytes of reports received before ``cutoff`` (their records stay)."""
        at = cutoff.isoformat(timespec="seconds")
        with self.db.transaction() as conn:
            done = conn.execute(
                "UPDATE dmarc_reports SET raw = NULL WHERE received_at < ? AND raw IS NOT NULL",
                (at,),
            ).rowcount
            done += conn.execute(
                "UPDATE dmarc_refused SET raw = NULL WHERE received_at < ? AND raw IS NOT NULL",
                (at,),
            ).rowcount
        return int(done)

    # -- reading --------------------------------------------------------------------------------

    def sources(self, domain: str, since: str) -> list[SourceStats]:
        """Per source IP, the sums over records of ``domain`` from day ``since`` on."""
        concat = self.db.group_concat
        rows = self.db.conn.execute(
            f"""
            SELECT c.source_ip, SUM(c.messages), SUM(c.aligned), SUM(c.dkim_aligned),
                   SUM(c.spf_aligned), SUM(c.dkim_auth), SUM(c.spf_auth), SUM(c.forwarded),
                   SUM(c.rejected), {concat("c.dkim_domain")}, {concat("c.envelope_from")},
                   (SELECT MIN(f.day) FROM dmarc_records f JOIN dmarc_reports g ON g.id = f.report
                    WHERE f.domain = c.domain AND f.source_ip = c.source_ip AND g.complete = 1)
            FROM dmarc_records c JOIN dmarc_reports r ON r.id = c.report
            WHERE c.domain = ? AND c.day >= ? AND r.complete = 1
            GROUP BY c.domain, c.source_ip
            """,  # noqa: S608 (the dialect's function name only)
            (domain, since),
        ).fetchall()
        orgs: dict[str, set[str]] = {}
        for ip, org in self.db.conn.execute(
            "SELECT DISTINCT c.source_ip, r.org FROM dmarc_records c "
            "JOIN dmarc_reports r ON r.id = c.report "
            "WHERE c.domain = ? AND c.day >= ? AND r.complete = 1",
            (domain, since),
        ):
            orgs.setdefault(str(ip), set()).add(str(org))

        def split(value: str | None) -> tuple[str, ...]:
            return tuple(sorted(v for v in (value or "").split(",") if v))[:10]

        return [
            SourceStats(
                ip=row[0],
                messages=int(row[1]),
                aligned=int(row[2]),
                dkim_aligned=int(row[3]),
                spf_aligned=int(row[4]),
                dkim_auth=int(row[5]),
                spf_auth=int(row[6]),
                forwarded=int(row[7]),
                rejected=int(row[8]),
                dkim_domains=split(row[9]),  # domains: never a comma in them
                envelope_domains=split(row[10]),
                receivers=tuple(sorted(orgs.get(row[0], ())))[:10],
                first_day=str(row[11] or ""),
            )
            for row in rows
        ]

    def policies(self, domain: str, since: str) -> list[tuple[str, dict[str, object]]]:
        """``(day, policy published)`` of each report about ``domain`` beginning from ``since``."""
        rows = self.db.conn.execute(
            "SELECT begin_at, policy FROM dmarc_reports WHERE domain = ? AND begin_at >= ? "
            "AND complete = 1 ORDER BY begin_at",
            (domain, since),
        ).fetchall()
        return [(str(row[0])[:10], dict(json.loads(row[1]))) for row in rows]

    def announce_change(
        self, domain: str, before: str, after: str, day: str, *, near: int, at: datetime
    ) -> bool:
        """Record that the change ``before`` -> ``after`` from ``day`` was announced; False (and
        nothing recorded) when the same change was announced for a day within ``near`` days."""
        low = (date.fromisoformat(day) - timedelta(days=near)).isoformat()
        high = (date.fromisoformat(day) + timedelta(days=near)).isoformat()
        with self.db.transaction() as conn:
            self.db.serialize(conn, f"dmarc-change:{domain}")
            if conn.execute(
                "SELECT 1 FROM dmarc_changes WHERE domain = ? AND old_policy = ? AND new_policy = ?"
                " AND day >= ? AND day <= ?",
                (domain, before, after, low, high),
            ).fetchone():
                return False
            conn.execute(
                "INSERT INTO dmarc_changes VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (domain, before, after, day, at.isoformat(timespec="seconds")),
            )
        return True

    def receivers(self, domain: str, since: str) -> list[tuple[str, int]]:
        """``(reporting org, messages)`` for ``domain``, biggest first."""
        rows = self.db.conn.execute(
            "SELECT org, SUM(messages) FROM dmarc_reports WHERE domain = ? AND begin_at >= ? "
            "AND complete = 1 GROUP BY org ORDER BY SUM(messages) DESC, org",
            (domain, since),
        ).fetchall()
        return [(str(row[0]), int(row[1])) for row in rows]

    def per_day(self, domain: str, since: str) -> list[tuple[str, int, int]]:
        """``(day, messages, aligned)`` for ``domain``, in day order."""
        rows = self.db.conn.execute(
            "SELECT c.day, SUM(c.messages), SUM(c.aligned) FROM dmarc_records c "
            "JOIN dmarc_reports r ON r.id = c.report WHERE c.domain = ? AND c.day >= ? "
            "AND r.complete = 1 GROUP BY c.day ORDER BY c.day",
            (domain, since),
        ).fetchall()
        return [(str(row[0]), int(row[1]), int(row[2])) for row in rows]

    def first_day(self, domain: str) -> str:
        """The first day any report covered for ``domain`` ("" when none)."""
        row = self.db.conn.execute(
            "SELECT MIN(c.day) FROM dmarc_records c JOIN dmarc_reports r ON r.id = c.report "
            "WHERE c.domain = ? AND r.complete = 1",
            (domain,),
        ).fetchone()
        return str(row[0] or "")

    def last_day(self, domain: str) -> str:
        """The last day any report covered for ``domain`` ("" when none)."""
        row = self.db.conn.execute(
            "SELECT MAX(c.day) FROM dmarc_records c JOIN dmarc_reports r ON r.id = c.report "
            "WHERE c.domain = ? AND r.complete = 1",
            (domain,),
        ).fetchone()
        return str(row[0] or "")

    def report_count(self, domain: str, since: str) -> int:
        row = self.db.conn.execute(
            "SELECT COUNT(*) FROM dmarc_reports WHERE domain = ? AND begin_at >= ? AND complete = 1",
            (domain, since),
        ).fetchone()
        return int(row[0])

    def domains(self) -> list[str]:
        """Every domain with reports, alphabetically."""
        rows = self.db.conn.execute(
            "SELECT DISTINCT domain FROM dmarc_reports WHERE complete = 1 ORDER BY domain"
        )
        return [str(row[0]) for row in rows]


_INSERT_RECORD = (
    "INSERT INTO dmarc_records (report, domain, day, source_ip, messages, aligned, dkim_aligned, "
    "spf_aligned, dkim_auth, spf_auth, forwarded, rejected, header_from, envelope_from, "
    "dkim_domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def since_day(now: datetime, days: int) -> str:
    """The first day (``YYYY-MM-DD``) of the last ``days`` days up to ``now``."""
    return (now - timedelta(days=max(days, 1) - 1)).date().isoformat()
