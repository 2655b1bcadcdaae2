"""Networks and countries of DMARC sources from a local MMDB file (``NDRBOT_IP_DB``), in both
common layouts; a missing file leaves the sources without them and says so."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from bot.dmarc import Dmarc
from bot.store import open_database
from handlers.dmarc.cards import report_card
from knowledge import Catalogue
from tests.dmarc.build import DAY, Row, report_xml

NOW = datetime.fromtimestamp(DAY + 86400 + 3600, UTC)


def _mmdb(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="test", ipv4_compatible=True)
    writer.insert_network(  # IPinfo Lite's layout
        IPSet(["40.107.0.0/16"]),
        {"asn": "AS8075", "as_name": "Microsoft Corporation", "country_code": "US"},
    )
    writer.insert_network(  # MaxMind's and DB-IP's layout
        IPSet(["203.0.113.0/24"]),
        {
            "autonomous_system_number": 64500,
            "autonomous_system_organization": "Example <b>ISP</b>",
            "country": {"iso_code": "nl"},
        },
    )
    writer.to_db_file(str(path))
    return path


async def test_sources_carry_their_network_and_country(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    dmarc = Dmarc(
        open_database(":memory:"),
        catalogue,
        None,
        clock=lambda: NOW,
        ip_db=str(_mmdb(tmp_path / "ip.mmdb")),
    )
    rows = [
        Row("40.107.22.51", 900),
        Row("203.0.113.66", 40, dkim="fail", spf="fail"),
        Row("192.0.2.9", 3),
    ]
    dmarc.ingest(report_xml(rows), source="t")
    summary = await dmarc.summary("contoso.com", 7)
    networks = {s.stats.ip: s.network for s in summary.sources}
    assert networks == {
        "40.107.22.51": "AS8075 Microsoft Corporation, US",
        "203.0.113.66": "AS64500 Example <b>ISP</b>, NL",  # shown as text: the renderers escape it
        "192.0.2.9": "",
    }
    text = "\n".join(s.text for s in report_card(summary).sections)
    assert "203.0.113.66 [AS64500 Example <b>ISP</b>, NL]" in text


def test_a_missing_file_is_named_and_not_fatal(
    tmp_path: Path, catalogue: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ndrbot.dmarc"):
        dmarc = Dmarc(
            open_database(":memory:"),
            catalogue,
            None,
            clock=lambda: NOW,
            ip_db=str(tmp_path / "no.mmdb"),
        )
    assert dmarc.ip_db is None
    assert "NDRBOT_IP_DB" in caplog.text and "cannot be read" in caplog.text
