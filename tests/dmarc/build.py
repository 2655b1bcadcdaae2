"""Aggregate reports made to order for the tests and the benchmark (RFC 7489 or RFC 9990 XML)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

SAMPLES = Path(__file__).parent / "samples"
DAY = 1764892800  # 2025-12-05 00:00 UTC


@dataclass(frozen=True)
class Row:
    """One record: ``dkim``/``spf`` are DMARC's aligned verdicts; ``dkim_domain`` the d= that
    verified (empty: none)."""

    ip: str
    count: int
    dkim: str = "pass"
    spf: str = "pass"
    dkim_domain: str = ""
    spf_domain: str = ""
    spf_result: str = ""  # the raw SPF result; by default what ``spf`` says
    reason: str = ""
    header_from: str = "contoso.com"


def report_xml(
    rows: Iterable[Row],
    *,
    org: str = "google.com",
    report_id: str = "r-1",
    domain: str = "contoso.com",
    begin: int = DAY,
    rfc9990: bool = False,
    p: str = "none",
    testing: str = "",
) -> bytes:
    ns = ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"' if rfc9990 else ""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feedback{ns}>',
        f"<report_metadata><org_name>{escape(org)}</org_name><email>r@{escape(org)}</email>"
        f"<report_id>{escape(report_id)}</report_id><date_range><begin>{begin}</begin>"
        f"<end>{begin + 86399}</end></date_range></report_metadata>",
        f"<policy_published><domain>{domain}</domain><p>{p}</p><sp>{p}</sp>"
        + (f"<testing>{testing}</testing>" if testing else "")
        + "</policy_published>",
    ]
    for row in rows:
        reason = f"<reason><type>{row.reason}</type></reason>" if row.reason else ""
        dkim = (
            f"<dkim><domain>{row.dkim_domain}</domain><result>pass</result></dkim>"
            if row.dkim_domain
            else ""
        )
        spf_domain = row.spf_domain or row.header_from
        parts.append(
            f"<record><row><source_ip>{row.ip}</source_ip><count>{row.count}</count>"
            f"<policy_evaluated><disposition>none</disposition><dkim>{row.dkim}</dkim>"
            f"<spf>{row.spf}</spf>{reason}</policy_evaluated></row>"
            f"<identifiers><header_from>{row.header_from}</header_from></identifiers>"
            f"<auth_results>{dkim}<spf><domain>{spf_domain}</domain>"
            f"<result>{row.spf_result or row.spf}</result></spf></auth_results></record>"
        )
    parts.append("</feedback>\n")
    return "\n".join(parts).encode()


REPORTS_SEEN_AT = datetime(2025, 12, 6, 12, 0, tzinfo=UTC)  # the day after the samples


def with_reports(router: Any, db: Any, catalogue: Any) -> None:
    """Give ``router`` the DMARC reports of the two samples (stored in ``db``), as of the day
    after them."""
    from bot.dmarc import Dmarc

    dmarc = Dmarc(db, catalogue, router.dns, clock=lambda: REPORTS_SEEN_AT)
    for sample in ("google_rfc7489.xml", "microsoft_rfc9990.xml"):
        (result,) = dmarc.ingest((SAMPLES / sample).read_bytes(), source="test")
        assert result.status == "stored"
    router.dmarc = dmarc


def dmarc_report_sample(catalogue: Any) -> Any:
    """The ``/dmarcreport`` card for a month of a domain's reports, every bucket filled, one
    source named by a reverse DNS that tries markup (it must show as plain text)."""
    from handlers.dmarc.cards import report_card
    from handlers.dmarc.sources import SourceStats, name_sources, summarise

    def stats(ip: str, messages: int, **counts: Any) -> SourceStats:
        base = dict(aligned=0, dkim_aligned=0, spf_aligned=0, dkim_auth=0, spf_auth=0)
        return SourceStats(ip, messages, forwarded=counts.pop("forwarded", 0), **{**base, **counts})

    sources = [
        stats("40.107.22.51", 48_210, aligned=48_100, dkim_aligned=48_100, dkim_auth=48_100),
        stats("167.89.100.12", 3_120, dkim_auth=3_120, dkim_domains=("sendgrid.net",)),
        stats("198.51.100.25", 140, forwarded=140),
        stats("203.0.113.66", 95),
    ]
    ptrs = {
        "40.107.22.51": "mail-db5eur03on2051.outbound.protection.outlook.com",
        "203.0.113.66": "*bold*-<!channel>.example-isp.net",
    }
    named = name_sources(sources, ptrs, catalogue.senders.values(), "contoso.com")
    return report_card(
        summarise(
            "contoso.com",
            30,
            named,
            reports=212,
            receivers=[("google.com", 30_200), ("Enterprise Outlook", 18_900), ("Yahoo", 2_465)],
            per_day=[("2026-11-06", 1_700, 1_600), ("2026-12-05", 1_720, 1_610)],
        )
    )


def dmarc_ready_sample(catalogue: Any) -> Any:
    """The ``/dmarcready`` card for a domain at p=quarantine that is not ready for reject yet."""
    from datetime import date

    from handlers.checks.dmarc_record import parse_dmarc
    from handlers.checks.result import CheckResult, Status
    from handlers.dmarc.cards import readiness_card
    from handlers.dmarc.readiness import assess
    from handlers.dmarc.sources import SourceStats, name_sources, summarise

    sources = [
        SourceStats(
            "40.107.22.51", 48_210, 48_100, 48_100, 0, 48_100, 0, 0, first_day="2026-08-01"
        ),
        SourceStats(
            "167.89.100.12",
            3_120,
            2_900,
            2_900,
            0,
            3_120,
            0,
            0,
            dkim_domains=("sendgrid.net",),
            first_day="2026-11-30",
        ),
        SourceStats("198.51.100.25", 140, 0, 0, 0, 0, 0, 140),
    ]
    ptrs = {"40.107.22.51": "mail-db5eur03on2051.outbound.protection.outlook.com"}
    named = name_sources(sources, ptrs, catalogue.senders.values(), "contoso.com")
    days = [(f"2026-11-{d:02d}", 1_700, 1_690) for d in range(1, 31)]
    summary = summarise(
        "contoso.com", 90, named, reports=212, receivers=[("google.com", 30_200)], per_day=days
    )
    live = "v=DMARC1; p=quarantine; np=reject; rua=mailto:dmarc@contoso.com; pct=100"
    spf = CheckResult("spf", "contoso.com", Status.PASS, "SPF passes; 6 of 10 DNS lookups.")
    dmarc = CheckResult("dmarc", "contoso.com", Status.PASS, "DMARC p=quarantine.")
    return readiness_card(assess(summary, parse_dmarc(live), dmarc, spf, today=date(2026, 12, 6)))
