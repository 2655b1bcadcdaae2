"""run_planned_checks: the checks ``ndrbot diagnose`` asks for, with the bounce's targets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from handlers.checks import Status, run_planned_checks
from tests.dns.conftest import blocklist_zone, client_for
from tests.dns.server import ZONES, LoopbackDns, load_zone_file

Serve = Callable[..., LoopbackDns]


async def test_blocked_ip_plan_runs_blocklist_and_rdns(serve: Serve) -> None:
    zone = load_zone_file(ZONES / "checks.yaml") | blocklist_zone(
        ["zen.spamhaus.org", "bl.spamcop.net"]
    )
    dns = client_for(serve(zone))
    results = await run_planned_checks(
        dns, checks=["dnsbl", "rdns"], sender_domain="good.test", sending_ip="192.0.2.10"
    )
    assert [r.check for r in results] == ["blocklist", "rdns"]
    assert results[1].status is Status.PASS


async def test_auth_failure_plan_with_alignment_and_selectors(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    results = await run_planned_checks(
        dns,
        checks=["spf", "dkim", "dmarc"],
        sender_domain="good.test",
        sending_ip="203.0.113.200",
        from_domain="good.test",
        spf_domain="mailer.example",
        dkim_domains=["mailer.example"],
        dkim_selectors=[("good.test", "revoked")],
    )
    spf, dkim, dmarc = results
    # SPF is checked for the MAIL FROM domain of the bounce, which publishes nothing here.
    assert spf.target == "mailer.example" and spf.details["result"] == "none"
    assert "dkim.revoked" in {f.code for f in dkim.findings}
    assert "dmarc.not_aligned" in {f.code for f in dmarc.findings}


async def test_missing_targets_and_connector_are_reported_not_dropped(serve: Serve) -> None:
    server = serve("checks.yaml")
    results = await run_planned_checks(
        client_for(server), checks=["rdns", "connector", "mx"], sender_domain=None, sending_ip=None
    )
    assert [r.status for r in results] == [Status.UNKNOWN] * 3
    assert all(r.details["skipped"] for r in results)
    assert "Get-InboundConnector" in results[1].findings[0].message
    assert server.log == []


async def test_malformed_target_from_a_bounce_is_skipped_with_reason(serve: Serve) -> None:
    results = await run_planned_checks(
        client_for(serve("checks.yaml")),
        checks=["mx"],
        sender_domain="bad..domain",
        sending_ip=None,
    )
    assert results[0].details["skipped"] is True


async def test_unknown_check_name_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        await run_planned_checks(
            None, checks=["spf", "sfp"], sender_domain="x.test", sending_ip=None
        )  # type: ignore[arg-type]
