"""check_spf against the loopback server: what a person running ``ndrbot check spf`` sees."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bot.render.adaptive import render_adaptive
from bot.render.blockkit import render_blockkit
from handlers.cards import check_card
from handlers.checks import InvalidTarget, Status, check_spf
from tests.dns.conftest import client_for
from tests.dns.server import Faults, LoopbackDns

Serve = Callable[..., LoopbackDns]


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


async def test_valid_record_passes_with_lookup_count(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    result = await check_spf(dns, "good.test")
    assert result.status is Status.PASS
    assert result.details["lookups"] == 1
    assert result.details["tree"]["children"][0]["domain"] == "_spf.good.test"


async def test_chain_over_ten_lookups_fails_with_tree_and_flattening(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    result = await check_spf(dns, "chain.test")
    assert result.status is Status.FAIL
    assert "spf.too_many_lookups" in codes(result)
    assert result.details["lookups"] == 11
    costs = {c["via"]: c["cost"] for c in result.details["tree"]["children"]}
    assert costs == {
        "include:c1.chain.test": 4,
        "include:c2.chain.test": 3,
        "include:c3.chain.test": 4,
    }
    flat = result.details["flattening"]
    assert flat["flatten"] == ["include:c1.chain.test"]
    assert flat["lookups_after"] == 7
    record = flat["records"][0]["value"]
    assert "ip4:203.0.113.11/32" in record and "include:c1.chain.test" not in record
    assert "regenerate" in flat["caveat"]
    assert all(len(s) <= 255 for r in flat["records"] for s in r["strings"])


async def test_evaluation_over_limit_is_permerror(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    result = await check_spf(dns, "chain.test", ip="203.0.113.32")
    assert result.details["result"] == "permerror"
    assert result.details["lookups"] == 11


async def test_include_loop(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    result = await check_spf(dns, "loop.test", ip="192.0.2.1")
    assert "spf.include_loop" in codes(result)
    assert result.details["result"] == "permerror"


async def test_three_void_lookups_is_permerror(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    result = await check_spf(dns, "void.test", ip="192.0.2.1")
    assert result.details["result"] == "permerror"
    assert result.details["void_lookups"] == 3
    assert "void" in result.details["reason"]


async def test_split_strings_join_without_space(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    good = await check_spf(dns, "split.test", ip="198.51.100.7")
    assert good.details["result"] == "pass"
    assert "spf.split_strings" in codes(good)
    bad = await check_spf(dns, "badsplit.test")
    assert bad.status is Status.FAIL
    message = next(f.message for f in bad.findings if f.code == "spf.syntax_error")
    assert "joins with no space" in message


async def test_two_records_plus_all_neutral_missing_include(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    assert "spf.multiple_records" in codes(await check_spf(dns, "two.test"))
    assert "spf.plus_all" in codes(await check_spf(dns, "plusall.test"))
    neutral = await check_spf(dns, "neutral.test")
    assert neutral.status is Status.WARN and "spf.neutral_all" in codes(neutral)
    assert "spf.include_missing" in codes(await check_spf(dns, "missing-include.test"))
    assert "spf.ptr" in codes(await check_spf(dns, "ptr.test"))
    assert "spf.missing" in codes(await check_spf(dns, "nodmarc.test"))


async def test_microsoft365_include(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    assert "spf.m365_include_missing" in codes(await check_spf(dns, "nom365.test"))
    assert "spf.m365_include" in codes(await check_spf(dns, "dangle.test"))


async def test_fail_for_ip_outside_record(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml"))
    result = await check_spf(dns, "good.test", ip="203.0.113.200")
    assert result.status is Status.FAIL
    assert result.details["result"] == "fail"
    assert result.to_json()["details"]["evaluation_tree"]["domain"] == "good.test"


async def test_resolver_timing_out_mid_check_is_unknown_naming_name_and_server(
    serve: Serve,
) -> None:
    server = serve("checks.yaml", Faults(timeout={"c2.chain.test"}))
    dns = client_for(server, timeout=0.3)
    result = await check_spf(dns, "chain.test")
    assert result.status is Status.UNKNOWN
    message = next(f.message for f in result.findings if f.code == "spf.dns_unavailable")
    assert "c2.chain.test" in message and server.address in message
    assert "spf.missing" not in codes(result) and "spf.include_missing" not in codes(result)


async def test_servfail_is_temperror_not_none(serve: Serve) -> None:
    dns = client_for(serve("checks.yaml", Faults(servfail={"good.test"})))
    result = await check_spf(dns, "good.test", ip="192.0.2.1")
    assert result.status is Status.UNKNOWN
    assert result.details["result"] == "temperror"


async def test_truncated_answer_is_retried_over_tcp(serve: Serve) -> None:
    server = serve("checks.yaml", Faults(truncate={"good.test"}))
    result = await check_spf(client_for(server), "good.test")
    assert result.status is Status.PASS
    assert ("good.test", "TXT", "tcp") in server.log


async def test_invalid_domain_refused_before_any_query(serve: Serve) -> None:
    server = serve("checks.yaml")
    with pytest.raises(InvalidTarget):
        await check_spf(client_for(server), "not a domain")
    with pytest.raises(InvalidTarget):
        await check_spf(client_for(server), "good.test", ip="300.1.1.1")
    assert server.log == []


async def test_flattening_resolves_a_and_mx_terms_inside_includes(serve: Serve) -> None:
    includes = " ".join(f"include:q{i}.test" for i in range(4))
    zone = {
        "big.test": [("TXT", "v=spf1 include:p1.test include:p2.test include:p3.test -all")],
        "p1.test": [
            ("TXT", f"v=spf1 a:h.p1.test mx ip6:2001:db8::/32 {includes} -all"),
            ("MX", [10, "mx.p1.test"]),
        ],
        "h.p1.test": [("A", "203.0.113.5")],
        "mx.p1.test": [("A", "203.0.113.6")],
        "p2.test": [("TXT", "v=spf1 include:q4.test include:q5.test -all")],
        "p3.test": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")],
        **{f"q{i}.test": [("TXT", f"v=spf1 ip4:198.51.100.{i} -all")] for i in range(6)},
    }
    dns = client_for(serve(zone))
    result = await check_spf(dns, "big.test")
    assert result.details["lookups"] == 11
    flat = result.details["flattening"]
    assert flat["flatten"] == ["include:p1.test"]
    assert flat["lookups_after"] == 4
    record = flat["records"][0]["value"]
    for term in (
        "ip4:203.0.113.5/32",
        "ip4:203.0.113.6/32",
        "ip6:2001:db8::/32",
        "ip4:198.51.100.3/32",
    ):
        assert term in record
    assert record.startswith("v=spf1 ") and record.endswith(" -all")


async def test_the_flattening_proposal_reaches_the_chat_card(serve: Serve) -> None:
    result = await check_spf(client_for(serve("checks.yaml")), "chain.test")
    card = check_card("SPF check: chain.test", [result])
    (line,) = card.checks
    (block,) = line.code
    assert block.code.startswith("chain.test TXT ") and "ip4:203.0.113.11/32" in block.code
    assert "7 lookups after" in block.label and any("regenerate" in d for d in line.details)
    slack = json.dumps(render_blockkit(card)["blocks"])
    assert "```chain.test TXT" in slack
    teams = json.dumps(render_adaptive(card))
    assert "chain.test TXT" in teams and "Monospace" in teams
