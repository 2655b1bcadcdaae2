"""Check plans: what a bounce, a command or a watch asks for, run with failures contained."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from handlers.checks import (
    CheckPlan,
    CheckTargets,
    InvalidTarget,
    Status,
    Step,
    contained,
    plan_for_bounce,
    plan_for_domain,
    run_plan,
    single,
)
from tests.dns.conftest import blocklist_zone, client_for
from tests.dns.server import ZONES, LoopbackDns, load_zone_file

Serve = Callable[..., LoopbackDns]


async def test_blocked_ip_plan_runs_blocklist_and_rdns(serve: Serve) -> None:
    zone = load_zone_file(ZONES / "checks.yaml") | blocklist_zone(
        ["zen.spamhaus.org", "bl.spamcop.net"]
    )
    dns = client_for(serve(zone))
    plan = plan_for_bounce(
        ["dnsbl", "rdns"], CheckTargets(sender_domain="good.test", sending_ip="192.0.2.10")
    )
    results = await run_plan(dns, plan)
    assert [r.check for r in results] == ["blocklist", "rdns"]
    assert results[1].status is Status.PASS


async def test_auth_failure_plan_with_alignment_and_selectors(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    targets = CheckTargets(
        sender_domain="good.test",
        sending_ip="203.0.113.200",
        from_domain="good.test",
        spf_domain="mailer.example",
        dkim_domains=("mailer.example",),
        dkim_selectors=(("good.test", "revoked"),),
    )
    spf, dkim, dmarc = await run_plan(dns, plan_for_bounce(["spf", "dkim", "dmarc"], targets))
    # SPF is checked for the MAIL FROM domain of the bounce, which publishes nothing here.
    assert spf.target == "mailer.example" and spf.details["result"] == "none"
    assert "dkim.revoked" in {f.code for f in dkim.findings}
    assert "dmarc.not_aligned" in {f.code for f in dmarc.findings}


async def test_missing_targets_are_reported_not_dropped(serve: Serve) -> None:
    server = serve("checks.yaml")
    plan = plan_for_bounce(["rdns", "mx"], CheckTargets())
    results = await run_plan(client_for(server), plan)
    assert [r.status for r in results] == [Status.UNKNOWN] * 2
    assert all(r.details["skipped"] for r in results)
    assert "does not show the sending IP" in results[0].findings[0].message
    assert server.log == []


def test_a_connector_is_no_check_ndrbot_can_run_from_outside_the_tenant() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        plan_for_bounce(["connector"], CheckTargets())


async def test_malformed_target_from_a_bounce_is_skipped_with_reason(serve: Serve) -> None:
    plan = plan_for_bounce(["mx"], CheckTargets(sender_domain="bad..domain"))
    results = await run_plan(client_for(serve("checks.yaml")), plan)
    assert results[0].details["skipped"] is True


async def test_malformed_target_from_a_person_refuses_the_plan(serve: Serve) -> None:
    server = serve("checks.yaml")
    with pytest.raises(InvalidTarget, match="selector"):
        await run_plan(client_for(server), single(Step("dkim", "good.test", selectors=("a b",))))
    with pytest.raises(InvalidTarget):
        plan_for_domain("bad..domain")


def test_unknown_check_name_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        plan_for_bounce(["spf", "sfp"], CheckTargets(sender_domain="x.test"))
    with pytest.raises(ValueError, match="unknown check"):
        CheckPlan((Step("sfp", "x.test"),))


async def test_a_null_mx_beside_a_real_one_gets_a_result_in_a_bounce_plan(serve: Serve) -> None:
    # Once a crash that left the bounce without a card (issue 14).
    plan = plan_for_bounce(["mx", "spf"], CheckTargets(mx_domain="mixedmx.test"))
    mx, spf = await run_plan(client_for(serve("checks.yaml")), plan)
    assert mx.status is Status.FAIL and "mx.null_mx_mixed" in {f.code for f in mx.findings}
    assert spf.details["skipped"] is True


SECRET = "pasted text " + "that must not reach the log"


async def _explodes() -> None:
    raise KeyError(SECRET)


async def test_a_check_that_raises_is_unknown_and_logged_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="handlers.checks.run"):
        result = await contained("mx", "contoso.com", _explodes())  # type: ignore[arg-type]
    assert result.status is Status.UNKNOWN and result.check == "mx"
    assert result.details["error"] == "KeyError"
    assert "KeyError" in result.summary and "mx" in result.summary
    assert "bug in ndrbot" in result.findings[0].message
    assert "the mx check failed: KeyError" in caplog.text and "_explodes" in caplog.text
    assert SECRET not in caplog.text


async def test_contained_lets_a_person_s_bad_target_through() -> None:
    async def bad() -> None:
        raise InvalidTarget("'x..y' is not a domain")

    with pytest.raises(InvalidTarget):
        await contained("spf", "x..y", bad())  # type: ignore[arg-type]
