"""Failure reports (RFC 9991): read for context, kept redacted, never counted."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime

from bot.dmarc import Dmarc
from bot.store import Database, open_database
from bot.store.copy import TABLES
from handlers.dmarc.failure import read_failure_report
from knowledge import Catalogue

SECRET_BODY = "Please wire 40,000 EUR to the account below by Friday."
ARF = f"""From: Mail Receiver <abuse@receiver.example>
To: dmarc-failures@contoso.com
Subject: FW: Urgent payment
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b1"

--b1
Content-Type: text/plain

This is an authentication failure report for an email message received from IP 203.0.113.66.

--b1
Content-Type: message/feedback-report

Feedback-Type: auth-failure
User-Agent: Receiver/1.0
Version: 1
Original-Mail-From: <ceo@contoso.com>
Arrival-Date: Fri, 04 Dec 2026 09:12:40 +0000
Source-IP: 203.0.113.66
Reported-Domain: contoso.com
Auth-Failure: dmarc

--b1
Content-Type: message/rfc822

From: CEO <ceo@contoso.com>
To: finance@fabrikam.com
Subject: Urgent payment

{SECRET_BODY}
--b1--
""".encode()


def test_a_failure_report_gives_its_essentials_only() -> None:
    report = read_failure_report(ARF)
    assert report is not None
    assert (report.reporter, report.domain, report.source_ip, report.failure) == (
        "receiver.example",
        "contoso.com",
        "203.0.113.66",
        "dmarc",
    )


def test_an_abuse_complaint_is_not_a_failure_report() -> None:
    assert read_failure_report(ARF.replace(b"auth-failure", b"abuse")) is None
    assert read_failure_report(b"<feedback></feedback>") is None


def _dump(db: Database) -> str:
    """Every value in every table, as text (any engine)."""
    return "\n".join(
        repr(tuple(row))
        for table in TABLES
        if db.has_table(table)
        for row in db.conn.execute(f'SELECT * FROM "{table}"').fetchall()
    )


def test_it_is_kept_redacted_and_shown_but_never_counted(
    catalogue: Catalogue, database_target: str
) -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    db = open_database(database_target)
    dmarc = Dmarc(db, catalogue, None, clock=lambda: now)
    (result,) = dmarc.ingest(ARF, source="test")
    assert result.status == "stored" and "kept redacted" in result.message
    dump = _dump(db)
    assert "contoso.com" in dump  # the dump does see what is kept
    assert SECRET_BODY not in dump and "finance@fabrikam.com" not in dump
    kept_raw = db.conn.execute(
        "SELECT (SELECT COUNT(*) FROM dmarc_refused) + (SELECT COUNT(*) FROM dmarc_reports)"
    ).fetchone()[0]
    assert kept_raw == 0  # no raw copy anywhere, compressed or not
    assert dmarc.store.failure_count("contoso.com", "2026-12-01") == 1
    assert dmarc.store.sources("contoso.com", "2026-12-01") == []  # nothing counted


def test_base64_encoded_fields_are_read() -> None:
    fields = ARF.split(b"Content-Type: message/feedback-report\n\n", 1)[1].split(b"\n--b1", 1)[0]
    encoded = ARF.replace(
        b"Content-Type: message/feedback-report\n\n" + fields,
        b"Content-Type: message/feedback-report\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(fields),
    )
    report = read_failure_report(encoded)
    assert report is not None and (report.domain, report.failure) == ("contoso.com", "dmarc")


def test_an_abuse_report_is_refused_and_its_mail_not_kept(
    catalogue: Catalogue, database_target: str
) -> None:
    db = open_database(database_target)
    dmarc = Dmarc(db, catalogue, None, clock=lambda: datetime(2026, 12, 6, tzinfo=UTC))
    (result,) = dmarc.ingest(ARF.replace(b"auth-failure", b"abuse"), source="test")
    assert result.status == "refused" and "not kept" in result.message
    ((raw,),) = db.conn.execute("SELECT raw FROM dmarc_refused").fetchall()
    assert zlib.decompress(raw) == b""  # the refusal is kept, the mail it carried is not


def test_a_failure_report_the_standard_library_cannot_read_is_none_not_raised() -> None:
    raw = (
        b"From: a@b.example\nTo: dmarc@contoso.com\n"
        b"Content-Type: multipart/report; report-type=feedback-report;"
        b" boundary*=utf-8''%E9; boundary*1=x\n\n--x\nContent-Type: message/feedback-report\n\n"
        b"Feedback-Type: auth-failure\n--x--\n"
    )
    assert read_failure_report(raw) is None
