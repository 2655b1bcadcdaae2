"""``/dmarcready``: the next step on RFC 9989's ladder, proposed only when its gates hold, each
with its evidence; the record to publish and its diff from the live one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from handlers.checks.dmarc_record import parse_dmarc
from handlers.checks.result import CheckResult, Status
from handlers.dmarc.cards import readiness_card
from handlers.dmarc.readiness import Readiness, assess
from handlers.dmarc.sources import SourceStats, name_sources, summarise
from knowledge import Catalogue

DOMAIN = "contoso.com"
TODAY = date(2026, 12, 6)
SPF_OK = CheckResult("spf", DOMAIN, Status.PASS, "SPF passes, 6 of 10 lookups.")
DMARC_OK = CheckResult("dmarc", DOMAIN, Status.WARN, "DMARC is there.")


def _summary(catalogue: Catalogue, *, days: int = 45, aligned: float = 0.999, **extra: int):  # type: ignore[no-untyped-def]
    messages = 40_000
    sources = [
        SourceStats(
            "40.107.22.51", messages, int(messages * aligned), 0, 0, 0, 0, 0, first_day="2026-09-01"
        ),
        SourceStats("198.51.100.25", 300, 0, 0, 0, 0, 0, 300),  # a mailing list
        SourceStats("203.0.113.66", 80, 0, 0, 0, 0, 0, 0),  # spoofing
    ]
    if extra.get("new_source"):
        sources.append(
            SourceStats("167.89.100.12", 900, 900, 0, 0, 900, 0, 0, first_day="2026-12-01")
        )
    per_day = [(date.fromordinal(TODAY.toordinal() - n).isoformat(), 900, 890) for n in range(days)]
    named = name_sources(
        sources,
        {"40.107.22.51": "mail-db5.outbound.protection.outlook.com"},
        catalogue.senders.values(),
        DOMAIN,
    )
    return summarise(
        DOMAIN, 90, named, reports=120, receivers=[("google.com", 30_000)], per_day=sorted(per_day)
    )


def _assess(catalogue: Catalogue, record: str | None, **kw: object) -> Readiness:
    summary = _summary(catalogue, **kw)  # type: ignore[arg-type]
    return assess(summary, parse_dmarc(record) if record else None, DMARC_OK, SPF_OK, today=TODAY)


def test_monitoring_moves_to_np_reject_at_once_keeping_the_other_tags(catalogue: Catalogue) -> None:
    r = _assess(catalogue, "v=DMARC1; p=none; rua=mailto:d@contoso.com; pct=100", days=3)
    assert (r.current, r.next_step, r.ready) == (
        "p=none (monitoring)",
        "p=none with np=reject",
        True,
    )
    assert r.record == "v=DMARC1; p=none; np=reject; rua=mailto:d@contoso.com"
    assert "np: (absent) → reject" in r.diff and "pct: 100 → (removed)" in r.diff
    assert any("pct (a percentage ramp)" in n for n in r.notes)


def test_the_testing_step_needs_days_and_volume(catalogue: Catalogue) -> None:
    r = _assess(catalogue, "v=DMARC1; p=none; np=reject; rua=mailto:d@contoso.com", days=10)
    assert r.next_step == "p=quarantine in testing (t=y)" and r.ready is False
    (days,) = [g for g in r.gates if "days of reports" in g.name]
    assert days.ok is False and "10 days with reports" in days.evidence
    ok = _assess(catalogue, "v=DMARC1; p=none; np=reject; rua=mailto:d@contoso.com")
    assert ok.ready is True
    assert ok.record == "v=DMARC1; p=quarantine; t=y; np=reject; rua=mailto:d@contoso.com"


def test_reject_waits_for_the_aligned_share_and_warns_about_lists(catalogue: Catalogue) -> None:
    live = "v=DMARC1; p=quarantine; np=reject; rua=mailto:d@contoso.com"
    short = _assess(catalogue, live, aligned=0.99)
    assert short.next_step == "p=reject" and short.ready is False
    (share,) = [g for g in short.gates if "aligned at" in g.name]
    assert share.ok is False and "99.5%" in share.name and "(99.0%)" in share.evidence
    ready = _assess(catalogue, live)
    assert ready.ready is True and ready.record.startswith("v=DMARC1; p=reject; np=reject")
    assert any("mailing lists" in n for n in ready.notes)
    # The list and the spoofer are shown apart, never counted against the share.
    assert [s.stats.ip for s in ready.forwarders] == ["198.51.100.25"]
    assert ready.unknown_volume == 80


def test_a_new_legitimate_source_holds_the_step_back(catalogue: Catalogue) -> None:
    r = _assess(catalogue, "v=DMARC1; p=quarantine; t=y; np=reject", new_source=1)
    (new,) = [g for g in r.gates if "no new legitimate source" in g.name]
    assert new.ok is False and "since 2026-12-01" in new.evidence and r.ready is False


def test_spf_over_its_limits_holds_the_step_back(catalogue: Catalogue) -> None:
    broken = CheckResult("spf", DOMAIN, Status.FAIL, "SPF needs 12 DNS lookups; the limit is 10.")
    summary = _summary(catalogue)
    r = assess(summary, parse_dmarc("v=DMARC1; p=none; np=reject"), DMARC_OK, broken, today=TODAY)
    (spf,) = [g for g in r.gates if g.name == "SPF within its limits"]
    assert spf.ok is False and "12 DNS lookups" in spf.evidence


def test_no_record_starts_with_monitoring_and_mentions_parked_domains(catalogue: Catalogue) -> None:
    r = _assess(catalogue, None, days=0)
    assert r.current == "no DMARC record" and r.record.startswith("v=DMARC1; p=none; rua=")
    assert any("parked domain" in n and "v=spf1 -all" in n for n in r.notes)


def test_an_unreadable_live_record_is_unknown_not_a_step(catalogue: Catalogue) -> None:
    failed = CheckResult("dmarc", DOMAIN, Status.UNKNOWN, "DNS did not answer")
    r = assess(_summary(catalogue), None, failed, SPF_OK, today=TODAY)
    assert r.ready is None and r.record == "" and r.current == "unknown"


def test_the_card_shows_the_record_only_when_the_step_is_safe(catalogue: Catalogue) -> None:
    ready = readiness_card(_assess(catalogue, "v=DMARC1; p=quarantine; np=reject"))
    assert ready.summary == "Safe to move contoso.com to p=reject."
    assert ready.code and ready.code[0].code.startswith("v=DMARC1; p=reject")
    held = readiness_card(_assess(catalogue, "v=DMARC1; p=quarantine; np=reject", aligned=0.9))
    assert held.summary.startswith("Not yet") and held.code == ()
    assert "[FAIL] legitimate mail aligned" in held.sections[0].text
    done = readiness_card(replace(_assess(catalogue, "v=DMARC1; p=reject; np=reject"), notes=()))
    assert "at enforcement" in done.summary


def test_reject_in_testing_moves_to_reject_without_t(catalogue: Catalogue) -> None:
    r = _assess(catalogue, "v=DMARC1; p=reject; t=y; np=reject; rua=mailto:d@contoso.com")
    assert r.current.startswith("p=reject in testing") and r.next_step == "p=reject"
    assert r.record == "v=DMARC1; p=reject; np=reject; rua=mailto:d@contoso.com"


def test_invalid_live_tags_are_not_carried_into_the_proposal(catalogue: Catalogue) -> None:
    r = _assess(catalogue, "v=DMARC1; p=none; sp=bogus; adkim=x; rua=https://evil.example/r")
    assert r.record == "v=DMARC1; p=none; np=reject; rua=mailto:dmarc-reports@contoso.com"
    assert any("problems" in n for n in r.notes)


def test_an_unreadable_record_is_never_shown_as_enforcement(catalogue: Catalogue) -> None:
    failed = CheckResult("dmarc", DOMAIN, Status.UNKNOWN, "DNS did not answer")
    card = readiness_card(assess(_summary(catalogue), None, failed, SPF_OK, today=TODAY))
    assert card.summary.startswith("Cannot tell") and card.tone.value == "warning"
