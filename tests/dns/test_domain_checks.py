"""DMARC, DKIM, MX and reverse DNS against the loopback server."""

from __future__ import annotations

from collections.abc import Callable

from handlers.checks import (
    Status,
    check_dkim,
    check_dmarc,
    check_mx,
    check_rdns,
    plan_for_domain,
    run_plan,
)
from tests.dns.conftest import client_for
from tests.dns.server import Faults, LoopbackDns

Serve = Callable[..., LoopbackDns]


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


async def test_dmarc_reject_with_rua_passes(serve: Serve) -> None:
    result = await check_dmarc(client_for(serve("checks.yaml")), "good.test")
    assert result.status is Status.PASS
    assert result.details["policy"] == "reject"


async def test_dmarc_bad_tags_are_each_reported(serve: Serve) -> None:
    result = await check_dmarc(client_for(serve("checks.yaml")), "baddmarc.test")
    assert result.status is Status.FAIL
    messages = " ".join(f.message for f in result.findings)
    for fragment in ("p='block'", "pct='150'", "adkim='x'", "https://reports.example/", "'foo'"):
        assert fragment in messages


async def test_dmarc_p_none_and_missing_rua_warn(serve: Serve) -> None:
    result = await check_dmarc(client_for(serve("checks.yaml")), "nonedmarc.test")
    assert result.status is Status.WARN
    assert {"dmarc.p_none", "dmarc.no_rua"} <= codes(result)


async def test_dmarc_external_report_destination_needs_authorisation(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    assert "dmarc.external_report_unauthorised" in codes(await check_dmarc(dns, "ext.test"))
    assert "dmarc.external_report_unauthorised" not in codes(await check_dmarc(dns, "extok.test"))


async def test_dmarc_inherited_from_organizational_domain(serve: Serve) -> None:
    result = await check_dmarc(client_for(serve("checks.yaml")), "sub.good.test")
    assert result.details["policy_domain"] == "good.test"
    assert result.details["organizational_domain"] == "good.test"
    assert "dmarc.inherited" in codes(result)


async def test_dmarc_missing_multiple_and_timeout(serve: Serve) -> None:
    server = serve("checks.yaml", Faults(timeout={"_dmarc.good.test"}))
    dns = client_for(server, timeout=0.3)
    assert "dmarc.missing" in codes(await check_dmarc(dns, "nodmarc.test"))
    assert "dmarc.multiple_records" in codes(await check_dmarc(dns, "twodmarc.test"))
    timed_out = await check_dmarc(dns, "good.test")
    assert timed_out.status is Status.UNKNOWN
    assert "dmarc.missing" not in codes(timed_out)
    assert "_dmarc.good.test" in timed_out.summary and server.address in timed_out.summary


async def test_dmarc_alignment(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    relaxed = await check_dmarc(dns, "good.test", spf_domain="sub.good.test")
    assert relaxed.details["alignment"]["spf_aligned"] is True
    foreign = await check_dmarc(
        dns, "good.test", spf_domain="mailer.example", dkim_domains=["mailer.example"]
    )
    assert foreign.status is Status.FAIL
    assert "dmarc.not_aligned" in codes(foreign)


async def test_dkim_microsoft365_both_cname_forms(serve: Serve) -> None:
    result = await check_dkim(client_for(serve("checks.yaml")), "good.test")
    rows = {r["selector"]: r for r in result.details["selectors"]}
    assert rows["selector1"]["microsoft365"] == "onmicrosoft.com"
    assert rows["selector2"]["microsoft365"] == "dkim.mail.microsoft"
    assert rows["selector1"]["bits"] == rows["selector2"]["bits"] == 2048
    assert result.status is Status.PASS


async def test_dkim_dangling_cname_revoked_weak_short(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    dangling = await check_dkim(dns, "dangle.test")
    assert dangling.status is Status.FAIL
    message = next(f.message for f in dangling.findings if f.code == "dkim.dangling_cname")
    assert "Set-DkimSigningConfig" in message
    keys = await check_dkim(dns, "good.test", ["revoked", "weak", "short", "absent"], common=False)
    assert {
        "dkim.revoked",
        "dkim.key_weak",
        "dkim.key_too_short",
        "dkim.selector_missing",
    } <= codes(keys)


async def test_mx_null_implicit_unresolvable(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    assert (await check_mx(dns, "good.test")).status is Status.PASS
    null = await check_mx(dns, "nullmx.test")
    assert "mx.null_mx" in codes(null) and null.details["null_mx"] is True
    assert "mx.implicit" in codes(await check_mx(dns, "nomx.test"))
    assert "mx.host_unresolvable" in codes(await check_mx(dns, "badmx.test"))
    assert "mx.domain_missing" in codes(await check_mx(dns, "nowhere.test"))


async def test_null_mx_beside_a_real_mx_is_an_error_not_a_crash(serve: Serve) -> None:
    mixed = await check_mx(client_for(serve("checks.yaml")), "mixedmx.test")
    assert mixed.status is Status.FAIL and "mx.null_mx_mixed" in codes(mixed)
    assert [row["host"] for row in mixed.details["mx"]] == ["mx1.good.test"]
    assert mixed.summary == "mixedmx.test receives mail at mx1.good.test."


async def test_rdns_forward_confirmed_and_not(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    assert (await check_rdns(dns, "192.0.2.10")).status is Status.PASS
    liar = await check_rdns(dns, "192.0.2.20")
    assert liar.status is Status.FAIL and "rdns.not_confirmed" in codes(liar)
    assert "rdns.missing" in codes(await check_rdns(dns, "192.0.2.30"))


async def test_a_domain_plan_runs_everything_once(serve: Serve) -> None:
    server = serve("checks.yaml")
    plan = plan_for_domain("good.test", blocklists=False)
    results = await run_plan(client_for(server), plan)
    assert [r.check for r in results] == ["spf", "dmarc", "dkim", "mx"]
    asked = [(name, rtype) for name, rtype, proto in server.log if proto == "udp"]
    assert len(asked) == len(set(asked))  # the shared cache and in-flight sharing: no repeats
    assert ("selector1._domainkey.good.test", "TXT", "tcp") in server.log  # 2048-bit key > 512
