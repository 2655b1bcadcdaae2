"""Watch facts from real check results (loopback DNS): the values compared run to run, and DNS
trouble kept apart as unknown, never read as "missing" or "clean"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.alerts.scheduler import run_checks
from handlers.checks.dnsbl_lists import DEFAULT_IP_LISTS
from handlers.watch import Watch, WatchKind, snapshot
from tests.alerts import zones
from tests.dns.conftest import client_for
from tests.dns.server import Faults, LoopbackDns

Serve = Callable[..., LoopbackDns]
NOW = datetime(2026, 3, 2, tzinfo=UTC)
DOMAIN = Watch(1, WatchKind.DOMAIN, zones.DOMAIN, "t", NOW, NOW)
IP = Watch(2, WatchKind.IP, zones.IP, "t", NOW, NOW)


async def test_a_healthy_domain(serve: Serve) -> None:
    results = await run_checks(client_for(serve(zones.healthy_domain())), DOMAIN, dqs_key=None)
    snap = snapshot(results)
    assert snap.unknown == {}
    facts = dict(snap.facts)
    assert {k: v for k, v in facts.items() if not k.startswith("dkim.")} == {
        "spf.record": "present",
        "spf.permerror": "no",
        "spf.lookup_limit": "within",
        "dmarc.record": "present",
        "dmarc.policy": "reject",
        "dmarc.pct": "100",
        "mx": "10 mx1.contoso.test",
    }
    assert facts["dkim.selector1"] == "present" and facts["dkim.google"] == "missing"


async def test_a_clean_ip(serve: Serve) -> None:
    snap = snapshot(await run_checks(client_for(serve(zones.clean_ip())), IP, dqs_key=None))
    assert snap.unknown == {}
    assert snap.facts["rdns"] == "confirmed"
    assert sum(1 for k in snap.facts if k.startswith("blocklist.")) == len(DEFAULT_IP_LISTS)
    assert {v for k, v in snap.facts.items() if k.startswith("blocklist.")} == {"clean"}


async def test_timeouts_are_unknown_not_missing(serve: Serve) -> None:
    server = serve(zones.healthy_domain(), Faults(timeout={"_dmarc.*", "_spf.contoso.test"}))
    snap = snapshot(await run_checks(client_for(server, timeout=0.2), DOMAIN, dqs_key=None))
    assert snap.facts["spf.record"] == "present"  # the record itself answered
    assert {"spf.permerror", "spf.lookup_limit", "dmarc.record", "dmarc.policy"} <= set(
        snap.unknown
    )
    assert "dmarc.record" not in snap.facts and "spf.lookup_limit" not in snap.facts
    assert "timed out" in snap.unknown["dmarc.record"]


async def test_a_list_that_lies_is_unknown_for_that_list_only(serve: Serve) -> None:
    zone = zones.clean_ip()
    del zone["2.0.0.127.zen.spamhaus.org"]  # ZEN's "always listed" test point is missing
    snap = snapshot(await run_checks(client_for(serve(zone)), IP, dqs_key=None))
    assert list(snap.unknown) == ["blocklist.Spamhaus ZEN"]
    assert "cannot be trusted" in snap.unknown["blocklist.Spamhaus ZEN"]
