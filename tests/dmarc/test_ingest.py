"""Taking reports in: each stored once, whole or not at all, refusals kept with their reason,
raw bytes kept for audit; over ``ndrbot dmarc ingest`` and ``POST /api/dmarc`` alike."""

from __future__ import annotations

import gzip
import mailbox
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.dmarc import Dmarc, DmarcIntake
from bot.store import open_database
from knowledge import Catalogue
from tests.dmarc.build import SAMPLES, Row, report_xml
from tests.dmarc.test_unpack import _message

NOW = datetime(2025, 12, 6, 12, 0, tzinfo=UTC)
TOKEN = "intake-secret-token"
GOOGLE = (SAMPLES / "google_rfc7489.xml").read_bytes()
MICROSOFT = (SAMPLES / "microsoft_rfc9990.xml").read_bytes()


@pytest.fixture
def dmarc(catalogue: Catalogue, database_target: str) -> Dmarc:
    """A DMARC store on SQLite, then on PostgreSQL (every test here runs on both)."""
    return Dmarc(open_database(database_target), catalogue, None, clock=lambda: NOW)


def _counts(dmarc: Dmarc) -> tuple[int, int, int]:
    conn = dmarc.store.db.conn
    return tuple(  # type: ignore[return-value]
        conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("dmarc_reports", "dmarc_records", "dmarc_refused")
    )


def test_a_report_is_stored_once_and_the_second_copy_changes_nothing(dmarc: Dmarc) -> None:
    (first,) = dmarc.ingest(gzip.compress(GOOGLE), source="test")
    assert (first.status, first.domain, first.records, first.messages) == (
        "stored",
        "contoso.com",
        3,
        1545,
    )
    before = _counts(dmarc)
    (again,) = dmarc.ingest(_message(GOOGLE, "r.xml", "text/xml"), source="test")
    assert again.status == "duplicate" and "nothing changed" in again.message
    assert _counts(dmarc) == before == (1, 3, 0)


def test_both_formats_sum_up_for_the_domain(dmarc: Dmarc) -> None:
    dmarc.ingest(GOOGLE, source="test")
    dmarc.ingest(MICROSOFT, source="test")
    sources = {s.ip: s for s in dmarc.store.sources("contoso.com", "2025-12-01")}
    assert sum(s.messages for s in sources.values()) == 1545 + 812
    assert sources["167.89.100.12"].dkim_domains == ("sendgrid.net",)
    assert sources["198.51.100.25"].forwarded == 12
    assert dmarc.store.receivers("contoso.com", "2025-12-01") == [
        ("google.com", 1545),
        ("Enterprise Outlook", 812),
    ]


def test_a_report_that_breaks_off_stores_nothing_and_is_kept_with_the_reason(
    dmarc: Dmarc,
) -> None:
    whole = report_xml([Row(f"192.0.2.{n}", 1) for n in range(1, 200)])
    (result,) = dmarc.ingest(whole[: len(whole) * 2 // 3], source="test")
    assert result.status == "refused" and "broken" in result.message
    assert _counts(dmarc) == (0, 0, 1)
    (reason,) = dmarc.store.db.conn.execute("SELECT reason FROM dmarc_refused").fetchone()
    assert "broken" in reason


def test_raw_reports_are_kept_compressed_until_the_retention_ends(dmarc: Dmarc) -> None:
    (stored,) = dmarc.ingest(GOOGLE, source="test")
    assert stored.status == "stored"
    (report_id,) = dmarc.store.db.conn.execute("SELECT id FROM dmarc_reports").fetchone()
    assert dmarc.store.raw(report_id) == GOOGLE
    assert dmarc.store.drop_raw_before(datetime(2026, 1, 1, tzinfo=UTC)) == 1
    assert dmarc.store.raw(report_id) is None
    assert dmarc.store.sources("contoso.com", "2025-12-01")  # the records stay


@pytest.fixture
async def client(dmarc: Dmarc) -> AsyncIterator[TestClient]:
    app = web.Application()
    DmarcIntake(dmarc, token=TOKEN, max_bytes=1 << 20).attach(app)
    async with TestClient(TestServer(app)) as running:
        yield running


async def _post(client: TestClient, body: bytes, **headers: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = await client.post("/api/dmarc", data=body, headers={**auth, **headers})
    return response.status, await response.json()


async def test_the_api_takes_a_report_in_any_wrapping(client: TestClient, dmarc: Dmarc) -> None:
    status, body = await _post(client, gzip.compress(GOOGLE), **{"Content-Type": "text/plain"})
    assert status == 200 and body["reports"][0]["status"] == "stored"
    status, body = await _post(client, GOOGLE)
    assert status == 200 and body["reports"][0]["status"] == "duplicate"


async def test_the_api_refuses_what_holds_no_report_and_keeps_it(
    client: TestClient, dmarc: Dmarc
) -> None:
    status, body = await _post(client, b"<html>not a report</html>")
    assert status == 400 and body["reports"][0]["status"] == "refused"
    assert _counts(dmarc) == (0, 0, 1)


async def test_the_api_wants_the_token_and_caps_the_size(client: TestClient) -> None:
    response = await client.post("/api/dmarc", data=GOOGLE)
    assert response.status == 401
    status, body = await _post(client, b"<" + b"x" * (1 << 20))
    assert status == 413 and "NDRBOT_MAX_PASTE_BYTES" in body["error"]


def test_ndrbot_dmarc_ingest_reads_an_mbox_and_reports_the_domain(tmp_path: Path) -> None:
    yesterday = int(time.time()) - 86400  # the report command looks back from today
    google = report_xml(
        [Row("40.107.22.51", 1200), Row("203.0.113.66", 45, dkim="fail", spf="fail")],
        begin=yesterday,
    )
    microsoft = report_xml(
        [Row("167.89.100.12", 300, dkim="fail", spf="fail", dkim_domain="sendgrid.net")],
        org="Enterprise Outlook",
        begin=yesterday,
        rfc9990=True,
    )
    box = mailbox.mbox(tmp_path / "rua.mbox")
    box.add(_message(gzip.compress(google), "google.xml.gz", "application/gzip"))
    box.add(_message(microsoft, "ms.xml", "text/xml"))
    box.add(_message(gzip.compress(google), "google.xml.gz", "application/gzip"))  # resent
    box.close()
    env = {**os.environ, "NDRBOT_DB": str(tmp_path / "ndrbot.sqlite3")}
    env["NDRBOT_NAMESERVERS"] = "127.0.0.1:9"  # nothing answers: sources keep their IPs

    def ndrbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "dmarc", *args],
            capture_output=True,
            text=True,
            env={**env, "NDRBOT_DNS_TIMEOUT": "0.2", "NDRBOT_CHECK_DEADLINE": "1"},
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    done = ndrbot("ingest", str(tmp_path / "rua.mbox"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("1 duplicate, 2 stored")
    shown = ndrbot("report", "contoso.com", "--days", "7", "--chart", str(tmp_path / "c.png"))
    assert shown.returncode == 0, shown.stderr
    assert "DMARC reports: contoso.com" in shown.stdout
    said = " ".join(shown.stdout.split())  # as wrapped for the terminal
    assert "1,545 messages from 3 sources in 2 reports; 77.7% passed DMARC" in said
    assert "SendGrid (Twilio) (167.89.100.12): 300 messages" in said
    assert "Complete Domain Authentication in SendGrid" in said
    assert "Unknown senders or spoofing: 45 messages" in said
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_a_forged_count_is_skipped_and_the_domain_stays_usable(dmarc: Dmarc) -> None:
    huge = report_xml([Row("192.0.2.1", 9)]).replace(
        b"<count>9</count>", b"<count>9223372036854775807</count>"
    )
    for n in range(2):
        (result,) = dmarc.ingest(huge.replace(b"r-1", f"r-{n}".encode()), source="test")
        assert result.status == "stored" and result.records == 0
    assert dmarc.store.sources("contoso.com", "2025-01-01") == []


def test_reports_for_other_domains_or_from_the_future_are_refused(catalogue: Catalogue) -> None:
    dmarc = Dmarc(
        open_database(":memory:"), catalogue, None, clock=lambda: NOW, domains=("contoso.com",)
    )
    (other,) = dmarc.ingest(report_xml([Row("192.0.2.1", 1)], domain="fabrikam.com"), source="t")
    assert other.status == "refused" and "NDRBOT_DMARC_DOMAINS" in other.message
    (sub,) = dmarc.ingest(report_xml([Row("192.0.2.1", 1)], domain="mail.contoso.com"), source="t")
    assert sub.status == "stored"
    future = report_xml(
        [Row("192.0.2.1", 1)], report_id="f", begin=int(NOW.timestamp()) + 5 * 86400
    )
    (ahead,) = dmarc.ingest(future, source="t")
    assert ahead.status == "refused" and "future" in ahead.message
