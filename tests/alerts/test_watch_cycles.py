"""Watch cycles against the loopback DNS server, time injected: a zone edit between two cycles is
exactly one alert, its revert exactly one recovery; a resolver outage is no false alert."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime

from bot.alerts import Alerts
from bot.alerts.scheduler import run_checks
from handlers.card import ActionKind
from handlers.checks import Status
from handlers.events import Command
from handlers.watch.model import Watch, WatchKind
from tests.alerts import zones
from tests.alerts.conftest import FakeClock
from tests.dns.conftest import client_for
from tests.dns.server import LoopbackDns
from tests.test_router import ExplodingDns

Serve = Callable[..., LoopbackDns]
SIX_HOURS_AND_MORE = 7 * 3600  # past a domain watch's interval with any jitter
AN_HOUR = 3600  # past an IP watch's 30 minutes with any jitter


async def add(alerts: Alerts, args: str) -> None:
    card = await alerts.watch_commands.handle(
        Command("slack", "C1", "UADMIN", "ndrwatch", args, is_admin=True)
    )
    assert card.title.startswith("Watching"), card


async def cycle(alerts: Alerts, server: LoopbackDns, clock: FakeClock, seconds: float) -> list[str]:
    """Let ``seconds`` pass, run what is due, and return the titles of the alerts it queued.

    Each cycle gets a fresh DnsClient: the loopback server's answers carry a 300 s TTL and the
    client's cache runs on the real monotonic clock, which the fake clock cannot move.
    """
    before = len(alerts.store.alerts())
    clock.advance(seconds)
    alerts.dns = client_for(server, timeout=0.3)
    report = await alerts.run_due()
    assert report.watches >= 1
    return [card.title for _kind, _subject, card in alerts.store.alerts()[before:]]


async def test_a_spf_edit_alerts_once_and_its_revert_recovers_once(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    healthy = zones.healthy_domain()
    server = serve(copy.deepcopy(healthy))
    alerts = alerts_factory()
    await add(alerts, f"add domain {zones.DOMAIN}")

    assert await cycle(alerts, server, clock, 61) == []  # the baseline: all well, nothing said
    zones.spf_over_the_limit(server.zone)
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "contoso.test: SPF record over the 10-lookup limit (permerror)"
    ]
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == []  # nothing changed
    server.zone.clear()
    server.zone.update(copy.deepcopy(healthy))
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "Fixed: contoso.test: SPF record within the 10-lookup limit again",
        "Resolved: contoso.test: SPF record over the 10-lookup limit (permerror)",  # an edit
    ]
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == []

    (alert, _recovery, _resolved) = [card for _k, _s, card in alerts.store.alerts()]
    assert "11 DNS lookups" in alert.sections[0].text  # the check's own sentence, with the count
    assert {row["target"] for row in alerts.store.outbox()} == {"CALERTS"}
    assert len(alerts.store.outbox()) == 3


async def test_dmarc_removed_and_mx_changed_in_one_edit_make_one_card(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.healthy_domain())
    alerts = alerts_factory()
    await add(alerts, f"add domain {zones.DOMAIN}")
    assert await cycle(alerts, server, clock, 61) == []
    del server.zone["_dmarc.contoso.test"]
    server.zone[zones.DOMAIN][1] = ("MX", [20, "mx2.contoso.test"])
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "contoso.test: 2 new problems"
    ]
    card = alerts.store.alerts()[-1][2]
    assert [s.title for s in card.sections] == [
        "DMARC record removed",
        "MX changed from 10 mx1.contoso.test to 20 mx2.contoso.test",
    ]


async def test_an_ip_listed_then_delisted(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.clean_ip())
    alerts = alerts_factory()
    await add(alerts, f"add ip {zones.IP}")
    assert await cycle(alerts, server, clock, 61) == []
    server.zone[zones.LISTING] = [("A", "127.0.0.2")]
    assert await cycle(alerts, server, clock, AN_HOUR) == ["203.0.113.5: listed on Spamhaus ZEN"]
    # A problem alert can be taken ("I'm on it"), on any replica: it is stored for the click.
    card = alerts.store.alerts()[-1][2]
    assert [a.kind for a in card.actions] == [ActionKind.TAKE]
    stored = alerts.chat.load_card(card.id)
    assert stored is not None and stored.actions == card.actions
    del server.zone[zones.LISTING]
    assert await cycle(alerts, server, clock, AN_HOUR) == [
        "Fixed: 203.0.113.5: no longer listed on Spamhaus ZEN",
        "Resolved: 203.0.113.5: listed on Spamhaus ZEN",
    ]
    (_, fixed), (_, resolved) = [(k, c) for k, _s, c in alerts.store.alerts()[-2:]]
    assert fixed.actions == resolved.actions == ()  # nothing to take any more


async def test_a_resolver_outage_is_no_false_alert_until_it_lasts(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.healthy_domain())
    alerts = alerts_factory()  # unknown_alert_after=3
    await add(alerts, f"add domain {zones.DOMAIN}")
    assert await cycle(alerts, server, clock, 61) == []
    server.faults.timeout = {"*"}  # the resolver stops answering anything
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == []
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == []
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "contoso.test: cannot be checked"
    ]
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == []  # said once
    server.faults.timeout = set()
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "contoso.test: can be checked again",
        "Resolved: contoso.test: cannot be checked",
    ]
    cannot = alerts.store.alerts()[0][2]
    assert "timed out" in cannot.sections[0].text and server.address in cannot.sections[0].text
    assert "not a finding about the records" in cannot.summary


async def test_an_outage_that_hides_a_change_reports_the_change_when_dns_is_back(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.healthy_domain())
    alerts = alerts_factory()
    await add(alerts, f"add domain {zones.DOMAIN}")
    assert await cycle(alerts, server, clock, 61) == []
    server.faults.timeout = {"_dmarc.*"}
    del server.zone["_dmarc.contoso.test"]
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == []  # unknown, not "removed"
    server.faults.timeout = set()
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "contoso.test: DMARC record removed"
    ]


async def test_watches_are_spread_and_not_run_before_they_are_due(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.healthy_domain())
    alerts = alerts_factory()
    await add(alerts, f"add domain {zones.DOMAIN}")
    await add(alerts, "add ip 198.51.100.7")
    await cycle(alerts, server, clock, 61)
    runs = {w.target: w.next_run_at - w.last_run_at for w in alerts.store.watches()}  # type: ignore[operator]
    assert 0.9 * 6 * 3600 <= runs[zones.DOMAIN].total_seconds() <= 1.1 * 6 * 3600
    assert 0.9 * 1800 <= runs["198.51.100.7"].total_seconds() <= 1.1 * 1800
    clock.advance(60)
    assert (await alerts.run_due()).watches == 0


async def test_a_dkim_key_removed_then_restored_and_later_runs_ask_only_known_selectors(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.healthy_domain())
    alerts = alerts_factory()
    await add(alerts, f"add domain {zones.DOMAIN}")
    assert await cycle(alerts, server, clock, 61) == []
    assert ("google._domainkey.contoso.test", "TXT", "udp") in server.log  # first run: guesses
    key = server.zone.pop("selector1._domainkey.contoso.test")
    server.log.clear()
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "contoso.test: DKIM selector selector1 gone (missing)"
    ]
    dkim_questions = {name for name, _t, _p in server.log if "._domainkey." in name}
    assert dkim_questions == {"selector1._domainkey.contoso.test"}
    server.zone["selector1._domainkey.contoso.test"] = key
    assert await cycle(alerts, server, clock, SIX_HOURS_AND_MORE) == [
        "Fixed: contoso.test: DKIM selector selector1 published again",
        "Resolved: contoso.test: DKIM selector selector1 gone (missing)",
    ]


async def test_a_check_that_crashes_in_a_watch_is_unknown_not_a_change() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    watch = Watch(1, WatchKind.DOMAIN, "contoso.test", "cli:pat", now, now)
    results = await run_checks(ExplodingDns([("127.0.0.1", 9)], timeout=0.2), watch, dqs_key=None)
    assert [r.check for r in results] == ["spf", "dmarc", "dkim", "mx"]
    assert {r.status for r in results} == {Status.UNKNOWN}
    assert all(r.details["error"] == "RuntimeError" for r in results)
