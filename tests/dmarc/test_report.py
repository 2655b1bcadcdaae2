"""Reading aggregate reports: both formats, one record at a time, and nothing hostile gets in."""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, datetime

import pytest

from handlers.dmarc.report import ReportError, open_report
from tests.dmarc.build import SAMPLES, Row, report_xml


def _read(data: bytes):  # type: ignore[no-untyped-def]
    head, records = open_report(io.BytesIO(data))
    return head, list(records)


def test_an_rfc7489_report_is_read_whole() -> None:
    head, records = _read((SAMPLES / "google_rfc7489.xml").read_bytes())
    assert head.format == "rfc7489"
    assert (head.org_name, head.report_id, head.domain) == (
        "google.com",
        "4929561582374823941",
        "contoso.com",
    )
    assert head.begin == datetime(2025, 12, 5, tzinfo=UTC)
    assert head.policy.p == "none" and head.policy.pct == "100"
    assert [(r.source_ip, r.count, r.aligned) for r in records] == [
        ("40.107.22.51", 1200, True),
        ("167.89.100.12", 300, False),
        ("203.0.113.66", 45, False),
    ]
    sendgrid = records[1]
    assert [(a.method, a.domain, a.result) for a in sendgrid.auth] == [
        ("dkim", "sendgrid.net", "pass"),
        ("spf", "em1234.sendgrid.net", "pass"),
    ]


def test_an_rfc9990_report_is_read_with_its_new_fields_and_unknown_extensions_skipped() -> None:
    head, records = _read((SAMPLES / "microsoft_rfc9990.xml").read_bytes())
    assert head.format == "rfc9990" and head.generator == "Example Receiver 2.1"
    policy = head.policy
    assert (policy.p, policy.np, policy.testing, policy.discovery_method) == (
        "quarantine",
        "reject",
        "n",
        "treewalk",
    )
    # The record with a source IP that is not an IP is skipped, not fatal.
    assert [r.source_ip for r in records] == ["2a01:111:f400:7e1a::201", "198.51.100.25"]
    listed = records[1]
    assert listed.overrides == ("mailing_list",)
    assert (listed.envelope_from, listed.header_from) == ("lists.example.org", "contoso.com")
    assert records[0].envelope_to == "fabrikam.com"
    assert [a.scope for a in records[0].auth if a.method == "spf"] == ["mfrom"]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "empty"),
        (b"<html><body>hello</body></html>", "not a DMARC aggregate report"),
        (b"<feedback><report_metadata>", "broken"),
        (
            report_xml([Row("192.0.2.1", 1)]).replace(b"policy_published", b"policy"),
            "no <policy_published>",
        ),
        (report_xml([Row("192.0.2.1", 1)]).replace(b"1764892800", b"yesterday"), "Unix time"),
        (report_xml([Row("192.0.2.1", 1)], domain="not a domain"), "no valid domain"),
    ],
    ids=["empty", "not-a-report", "cut-short", "no-policy", "bad-date", "bad-domain"],
)
def test_what_is_not_a_report_is_refused_with_the_reason(data: bytes, said: str) -> None:
    with pytest.raises(ReportError, match=said):
        _read(data)


def test_a_report_that_breaks_off_refuses_itself_whether_streamed_or_read_whole() -> None:
    small = report_xml([Row(f"192.0.2.{n}", 1) for n in range(1, 50)])
    with pytest.raises(ReportError, match="broken"):
        open_report(io.BytesIO(small[: len(small) // 2]))
    large = report_xml([Row(f"10.0.{n // 256}.{n % 256}", 1) for n in range(8000)])
    assert len(large) > 1024 * 1024  # streamed: the head is read before the break
    head, records = open_report(io.BytesIO(large[: len(large) // 2]))
    assert head.domain == "contoso.com"
    with pytest.raises(ReportError, match="broken"):
        list(records)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<feedback><report_metadata><org_name>&c;</org_name></report_metadata></feedback>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>"""


HIDDEN = b"<!-- <feedback> -->" + BILLION_LAUGHS.split(b"?>", 1)[1]


@pytest.mark.parametrize(
    "hostile",
    [BILLION_LAUGHS, EXTERNAL, BILLION_LAUGHS.decode().encode("utf-16"), HIDDEN],
    ids=["expansion", "external", "utf-16", "behind-a-comment"],
)
def test_entities_and_dtds_are_refused(hostile: bytes) -> None:
    with pytest.raises(ReportError, match="DTD"):
        _read(hostile)


def test_a_large_report_streams_in_bounded_memory() -> None:
    rows = [Row(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 2) for n in range(60_000)]
    data = report_xml(rows)
    assert len(data) > 15_000_000
    tracemalloc.start()
    try:
        _head, records = open_report(io.BytesIO(data))
        total = sum(r.count for r in records)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 120_000
    # Records are dropped as they are read: the peak is a small fraction of the XML's size.
    assert peak < 3_000_000, peak


def test_a_utf16_report_is_read() -> None:
    data = (
        report_xml([Row("192.0.2.7", 4)]).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    )
    head, records = _read(data.encode("utf-16"))
    assert head.domain == "contoso.com" and [r.count for r in records] == [4]


def test_junk_between_the_sections_is_dropped_as_it_streams() -> None:
    junk = b"<x/>" * 300_000  # 1.2 MB of elements no report has: streamed, not kept
    data = report_xml([Row("192.0.2.1", 5)]).replace(b"<record>", junk + b"<record>", 1)
    tracemalloc.start()
    try:
        head, records = open_report(io.BytesIO(data))
        counts = [r.count for r in records]
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert head.domain == "contoso.com" and counts == [5]
    assert peak < 3_000_000, peak
