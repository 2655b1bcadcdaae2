"""check_blocklist: listings, every Spamhaus code, refusals, lying resolvers, DQS, IPv6."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from handlers.checks import Status, check_blocklist
from handlers.checks.dnsbl_lists import DBL, DEFAULT_IP_LISTS, ZEN
from tests.dns.conftest import blocklist_zone, client_for
from tests.dns.server import Faults, LoopbackDns

Serve = Callable[..., LoopbackDns]
IP = "192.0.2.99"
REV = "99.2.0.192"


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


async def test_clean_ip_on_all_default_lists(serve: Serve) -> None:
    result = await check_blocklist(client_for(serve(blocklist_zone(list(DEFAULT_IP_LISTS)))), IP)
    assert result.status is Status.PASS
    assert len(result.details["lists"]) == len(DEFAULT_IP_LISTS)
    assert result.details["listed"] == [] and result.details["unknown"] == []


@pytest.mark.parametrize("code", sorted(ZEN.codes))
async def test_every_spamhaus_zen_code_is_translated(serve: Serve, code: str) -> None:
    zone = blocklist_zone(["zen.spamhaus.org"], {f"{REV}.zen.spamhaus.org": [code]})
    result = await check_blocklist(client_for(serve(zone)), IP, ["zen.spamhaus.org"])
    assert result.status is Status.FAIL
    message = result.findings[0].message
    assert ZEN.codes[code] in message and "check.spamhaus.org" in message


@pytest.mark.parametrize(
    "code",
    [
        "127.0.1.2",
        "127.0.1.4",
        "127.0.1.5",
        "127.0.1.6",
        "127.0.1.102",
        "127.0.1.103",
        "127.0.1.104",
        "127.0.1.105",
        "127.0.1.106",
        "127.0.2.2",
    ],
)
async def test_every_dbl_class_is_translated(serve: Serve, code: str) -> None:
    zone = blocklist_zone(["dbl.spamhaus.org"], {"spammy.test.dbl.spamhaus.org": [code]})
    result = await check_blocklist(client_for(serve(zone)), "spammy.test", ["dbl.spamhaus.org"])
    assert result.status is Status.FAIL
    assert DBL.codes[code] in result.findings[0].message


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
async def test_spamhaus_error_answers_are_unknown_with_the_fix(serve: Serve, code: str) -> None:
    # What Spamhaus answers, for every name, to a query from a public resolver.
    zone = {"*.zen.spamhaus.org": [("A", code)]}
    result = await check_blocklist(client_for(serve(zone)), IP, ["zen.spamhaus.org"])
    assert result.status is Status.UNKNOWN
    assert result.details["listed"] == []
    assert "NDRBOT_SPAMHAUS_DQS_KEY" in result.findings[0].message


async def test_public_resolver_refusal_beside_clean_lists_is_not_clean(serve: Serve) -> None:
    zone = blocklist_zone(["bl.spamcop.net"]) | {"*.zen.spamhaus.org": [("A", "127.255.255.254")]}
    result = await check_blocklist(
        client_for(serve(zone)), IP, ["zen.spamhaus.org", "bl.spamcop.net"]
    )
    assert result.status is Status.UNKNOWN
    assert "could not be checked" in result.summary


async def test_lying_resolver_that_lists_everything_is_unknown(serve: Serve) -> None:
    zone = {"*.bl.spamcop.net": [("A", "127.0.0.2")]}
    result = await check_blocklist(client_for(serve(zone)), IP, ["bl.spamcop.net"])
    assert result.status is Status.UNKNOWN
    assert "blocklist.untrustworthy_answers" in codes(result)


async def test_resolver_that_hides_the_list_is_unknown_not_clean(serve: Serve) -> None:
    result = await check_blocklist(client_for(serve({})), IP, ["bl.spamcop.net"])
    assert result.status is Status.UNKNOWN
    assert "127.0.0.2" in result.findings[0].message


async def test_nxdomain_rewriting_resolver_is_unknown(serve: Serve) -> None:
    zone = blocklist_zone(["bl.spamcop.net"], {f"{REV}.bl.spamcop.net": ["198.51.100.80"]})
    result = await check_blocklist(client_for(serve(zone)), IP, ["bl.spamcop.net"])
    assert result.status is Status.UNKNOWN


async def test_listing_with_delisting_route(serve: Serve) -> None:
    zone = blocklist_zone(
        ["b.barracudacentral.org"], {f"{REV}.b.barracudacentral.org": ["127.0.0.2"]}
    )
    result = await check_blocklist(client_for(serve(zone)), IP, ["b.barracudacentral.org"])
    assert result.status is Status.FAIL
    assert "barracudacentral.org/rbl/removal-request" in result.findings[0].message


async def test_dqs_key_is_used_and_never_shown(serve: Serve) -> None:
    key = "abcdef0123456789secret"
    dqs = f"{key}.zen.dq.spamhaus.net"
    zone = blocklist_zone([dqs], {f"{REV}.{dqs}": ["127.0.0.4"]})
    result = await check_blocklist(client_for(serve(zone)), IP, ["zen.spamhaus.org"], dqs_key=key)
    assert result.status is Status.FAIL
    assert key not in json.dumps(result.to_json())


async def test_dqs_key_redacted_from_timeouts(serve: Serve) -> None:
    key = "abcdef0123456789secret"
    server = serve({}, Faults(timeout={"*"}))
    result = await check_blocklist(
        client_for(server, timeout=0.2), IP, ["zen.spamhaus.org"], dqs_key=key
    )
    assert result.status is Status.UNKNOWN
    text = json.dumps(result.to_json())
    assert key not in text and "<DQS key>" in text


async def test_ipv6_uses_nibbles_and_only_ipv6_lists(serve: Serve) -> None:
    ip = "2001:db8::1"
    nibbles = ".".join(reversed("20010db8000000000000000000000001"))
    zone = blocklist_zone(
        ["zen.spamhaus.org"], {f"{nibbles}.zen.spamhaus.org": ["127.0.0.3"]}, ipv6=True
    )
    result = await check_blocklist(
        client_for(serve(zone)), ip, ["zen.spamhaus.org", "bl.spamcop.net"]
    )
    assert result.status is Status.FAIL
    assert result.details["skipped"] == ["SpamCop"]


async def test_slow_list_times_out_as_unknown_while_others_answer(serve: Serve) -> None:
    zone = blocklist_zone(["bl.spamcop.net", "psbl.surriel.com"])
    server = serve(zone, Faults(timeout={"*.psbl.surriel.com"}))
    result = await check_blocklist(
        client_for(server, timeout=0.3), IP, ["bl.spamcop.net", "psbl.surriel.com"]
    )
    assert result.status is Status.UNKNOWN
    assert result.details["unknown"] == ["PSBL"]
    assert server.address in result.findings[0].message
