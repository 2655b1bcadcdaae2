"""Naming sources ahead of time: the hourly sweep looks up every source IP's forward-confirmed
reverse DNS once a week, so a card finds them named without waiting on DNS; a failed look-up
is not remembered as "no name"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dmarc import Dmarc
from bot.dmarc.service import RENAME_AFTER, RETRY_FAILED
from bot.store import open_database
from handlers.checks import DnsClient
from knowledge import Catalogue
from tests.dmarc.build import DAY, Row, report_xml
from tests.dns.server import Faults, LoopbackDns

NOW = datetime.fromtimestamp(DAY + 86400 + 3600, UTC)
HOST = "mail-db5eur03on2051.outbound.protection.outlook.com"
ZONE = {
    "51.22.107.40.in-addr.arpa": [("PTR", HOST + ".")],
    HOST: [("A", "40.107.22.51")],
    "66.113.0.203.in-addr.arpa": [("PTR", "liar.example.net.")],  # not confirmed: no A back
}


def _dmarc(target: str, catalogue: Catalogue, server: LoopbackDns) -> Dmarc:
    dns = DnsClient([server.nameserver], timeout=0.5, deadline=3.0)
    return Dmarc(open_database(target), catalogue, dns, clock=lambda: NOW)


async def test_sources_are_named_once_and_cards_use_the_names(
    database_target: str, catalogue: Catalogue
) -> None:
    with LoopbackDns(ZONE) as server:
        dmarc = _dmarc(database_target, catalogue, server)
        rows = [Row("40.107.22.51", 900), Row("203.0.113.66", 40), Row("192.0.2.9", 3)]
        dmarc.ingest(report_xml(rows), source="t")
        assert await dmarc.enrich() == 3
        assert await dmarc.enrich() == 0  # looked up this week already
        asked = len(server.log)
    assert dmarc.store.names(["40.107.22.51", "203.0.113.66", "192.0.2.9"]) == {
        "40.107.22.51": HOST,
        "203.0.113.66": "",  # its PTR does not point back: no name
        "192.0.2.9": "",
    }
    assert asked > 0
    # The DNS server is gone: the card still names the source, from what was remembered.
    summary = await dmarc.summary("contoso.com", 7)
    (microsoft,) = [s for s in summary.sources if s.stats.ip == "40.107.22.51"]
    assert microsoft.ptr == HOST and microsoft.service is not None


async def test_a_failed_look_up_is_asked_again_a_day_later_not_every_hour(
    database_target: str, catalogue: Catalogue
) -> None:
    with LoopbackDns(ZONE, Faults(servfail={"*.in-addr.arpa"})) as server:
        dmarc = _dmarc(database_target, catalogue, server)
        dmarc.ingest(report_xml([Row("40.107.22.51", 900)]), source="t")
        assert await dmarc.enrich() == 0
        assert await dmarc.enrich() == 0
        asked = len(server.log)
    assert asked == 1  # the second hourly pass did not ask again
    since = "2025-01-01"
    in_an_hour = NOW + timedelta(hours=1) - RENAME_AFTER
    in_a_day = NOW + RETRY_FAILED + timedelta(minutes=1) - RENAME_AFTER
    assert dmarc.store.unnamed(checked_before=in_an_hour, since=since, limit=10) == []
    assert dmarc.store.unnamed(checked_before=in_a_day, since=since, limit=10) == ["40.107.22.51"]
