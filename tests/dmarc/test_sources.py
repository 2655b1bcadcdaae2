"""Who sends as the domain: each source named and put in its bucket, with the fix."""

from __future__ import annotations

from dataclasses import replace

from handlers.dmarc.cards import report_card
from handlers.dmarc.sources import Bucket, SourceStats, identify, name_sources, summarise
from knowledge import Catalogue

DOMAIN = "contoso.com"


def _stats(ip: str, messages: int, **counts: object) -> SourceStats:
    base = SourceStats(ip, messages, 0, 0, 0, 0, 0, 0)
    return replace(base, **counts)  # type: ignore[arg-type]


def _one(catalogue: Catalogue, stats: SourceStats, ptr: str = ""):  # type: ignore[no-untyped-def]
    (named,) = name_sources(
        [stats], {stats.ip: ptr} if ptr else {}, catalogue.senders.values(), DOMAIN
    )
    return named


def test_a_source_that_passes_dmarc_is_aligned_and_needs_nothing(catalogue: Catalogue) -> None:
    stats = _stats("40.107.22.51", 1200, aligned=1190, dkim_aligned=1190, dkim_auth=1190)
    named = _one(catalogue, stats, "mail-db5eur03on2051.outbound.protection.outlook.com")
    assert named.bucket is Bucket.ALIGNED and named.fix == ""
    assert named.service is not None and "Microsoft" in named.service.name


def test_a_service_signing_as_itself_is_fixable_with_its_own_fix(catalogue: Catalogue) -> None:
    stats = _stats(
        "167.89.100.12", 300, dkim_auth=300, spf_auth=300, dkim_domains=("sendgrid.net",)
    )
    named = _one(catalogue, stats)
    assert named.bucket is Bucket.FIXABLE
    assert named.service is not None and named.service.key == "sendgrid"
    assert named.fix == named.service.fix and named.name == named.service.name


def test_an_unknown_sender_authenticating_as_itself_is_not_vouched_for(
    catalogue: Catalogue,
) -> None:
    # An ESP ndrbot does not know and a spammer with its own SPF and DKIM look the same: both
    # stay "unknown", and the fix says what to do in either case.
    stats = _stats(
        "192.0.2.40", 80, dkim_auth=80, spf_auth=80, dkim_domains=("mailer.example.net",)
    )
    named = _one(catalogue, stats)
    assert named.bucket is Bucket.UNKNOWN and named.service is None
    assert "signs as mailer.example.net" in named.fix and "spoofing" in named.fix


def test_our_own_subdomain_authenticating_without_aligning_is_fixable(
    catalogue: Catalogue,
) -> None:
    stats = _stats("192.0.2.41", 80, spf_auth=80, envelope_domains=("bounce.contoso.com",))
    named = _one(catalogue, stats)
    assert named.bucket is Bucket.FIXABLE and "alignment mode" in named.fix


def test_receivers_that_say_forwarded_make_a_forwarder(catalogue: Catalogue) -> None:
    named = _one(catalogue, _stats("198.51.100.25", 12, forwarded=12, spf_auth=12))
    assert named.bucket is Bucket.FORWARDER and "forwarding breaks SPF" in named.fix


def test_our_own_signature_verified_from_elsewhere_is_a_forwarder(catalogue: Catalogue) -> None:
    stats = _stats("198.51.100.30", 20, dkim_auth=20, dkim_domains=(DOMAIN,))
    assert _one(catalogue, stats).bucket is Bucket.FORWARDER


def test_nothing_passing_is_unknown_or_spoofing(catalogue: Catalogue) -> None:
    named = _one(catalogue, _stats("203.0.113.66", 45), "host-66.example-isp.net")
    assert named.bucket is Bucket.UNKNOWN and named.name == "host-66.example-isp.net"
    assert "spoofing" in named.fix


def test_a_service_is_known_by_its_reverse_dns_before_anything_else(catalogue: Catalogue) -> None:
    stats = _stats("209.85.220.41", 10, dkim_domains=("sendgrid.net",))
    service = identify(catalogue.senders.values(), "mail-sor-f41.google.com", stats)
    assert service is not None and "Google" in service.name


def test_the_card_leads_with_what_to_fix_and_counts_every_bucket(catalogue: Catalogue) -> None:
    sources = [
        _stats("40.107.22.51", 1200, aligned=1200, dkim_aligned=1200),
        _stats("167.89.100.12", 300, dkim_auth=300, dkim_domains=("sendgrid.net",)),
        _stats("203.0.113.66", 45),
    ]
    named = name_sources(sources, {}, catalogue.senders.values(), DOMAIN)
    summary = summarise(
        DOMAIN,
        30,
        named,
        reports=4,
        receivers=[("google.com", 1545)],
        per_day=[("2025-12-05", 1545, 1200)],
    )
    card = report_card(summary)
    assert "1,545 messages from 3 sources in 4 reports; 77.7% passed DMARC" in card.summary
    titles = [s.title for s in card.sections]
    assert titles[0].startswith("Authenticated, not aligned (fixable): 300 messages")
    assert titles[1].startswith("Unknown senders or spoofing: 45 messages")
    assert titles[-1].startswith("Aligned: 1,200 messages")
    facts = {f.label: f.value for f in card.facts}
    assert facts["Reported by"] == "google.com (1,545)"


def test_no_reports_says_where_reports_should_come_from(catalogue: Catalogue) -> None:
    card = report_card(summarise(DOMAIN, 30, [], reports=0, receivers=[]))
    assert "No aggregate reports" in card.summary and "rua=" in card.summary


def test_a_mailing_list_is_known_by_its_domain_even_from_its_host_s_servers(
    catalogue: Catalogue,
) -> None:
    stats = _stats("209.85.220.69", 30, dkim_auth=30, dkim_domains=("googlegroups.com",))
    named = _one(catalogue, stats, "mail-sor-f69.google.com")
    assert named.service is not None and named.service.key == "google_groups"
    assert named.bucket is Bucket.FORWARDER


def test_the_base_domain_says_who_runs_a_source_host() -> None:
    from handlers.dmarc.names import base_domain, top_bases

    assert base_domain("mail-ed1-f49.google.com.") == "google.com"
    assert base_domain("Host-5.Static.HostCo.co.uk") == "hostco.co.uk"
    assert base_domain("x.s3.amazonaws.com") == "amazonaws.com"  # run by Amazon, whoever rents it
    assert base_domain("192.0.2.1") == base_domain("com") == base_domain("") == ""
    assert top_bases(["a.net", "", "b.net", "a.net"]) == [("a.net", 2), ("b.net", 1)]


def test_unknown_sources_beyond_the_card_are_summed_by_who_runs_them(
    catalogue: Catalogue,
) -> None:
    sources = [_stats(f"203.0.113.{n}", 100 - n) for n in range(1, 10)]
    ptrs = {f"203.0.113.{n}": f"host-{n}.dyn.hostco.net" for n in range(1, 8)}
    ptrs["203.0.113.8"] = "pool-8.isp.example.co.uk"
    named = name_sources(sources, ptrs, catalogue.senders.values(), DOMAIN)
    assert {s.base for s in named} == {"hostco.net", "example.co.uk", ""}
    card = report_card(summarise(DOMAIN, 30, named, reports=1, receivers=[("google.com", 1)]))
    (unknown,) = [s for s in card.sections if s.title.startswith("Unknown")]
    assert unknown.text.splitlines()[-1] == (
        "- and 4 more sources, 370 messages (hostco.net: 2, example.co.uk: 1)"
    )


def test_a_new_source_alert_says_whose_host_it_is(catalogue: Catalogue) -> None:
    from handlers.dmarc.alerts import new_source_card

    stats = replace(_stats("203.0.113.7", 400), first_day="2025-12-04")
    (named,) = name_sources(
        [stats], {"203.0.113.7": "vps-7.cloud.hostco.net"}, catalogue.senders.values(), DOMAIN
    )
    facts = {f.label: f.value for f in new_source_card(DOMAIN, named).facts}
    # Named by its reverse DNS name already: that name once, and whose host it is.
    assert facts["Source"] == "vps-7.cloud.hostco.net (203.0.113.7)"
    assert facts["Run from"] == "hostco.net"
    assert sum("vps-7.cloud.hostco.net" in value for value in facts.values()) == 1
