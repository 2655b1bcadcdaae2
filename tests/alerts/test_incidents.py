"""Alerts as living messages: an incident is one message in the channel and its thread.

A watch's first problem is posted in the channel; its fix, a "cannot be checked" during it and
"can be checked again" are replies in that message's thread; when nothing is left open, the
message itself is edited to say it is resolved (keeping who took it). A reply written before its
message was sent waits for it, across a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.alerts import Alerts
from handlers.events import Command
from tests.alerts import zones
from tests.alerts.conftest import FakeClock, RecordingPoster, down
from tests.dns.conftest import client_for
from tests.dns.server import LoopbackDns

Serve = Callable[..., LoopbackDns]
AN_HOUR = 3600
SIX_HOURS_AND_MORE = 7 * 3600


async def _watch(alerts: Alerts, what: str) -> None:
    await alerts.watch_commands.handle(
        Command("slack", "C1", "UADMIN", "ndrwatch", f"add {what}", is_admin=True)
    )


async def _run(alerts: Alerts, server: LoopbackDns, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    alerts.dns = client_for(server, timeout=0.3)
    await alerts.run_due()


async def test_a_listing_and_its_delisting_are_one_message_and_its_thread(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.clean_ip())
    poster = RecordingPoster()
    alerts = alerts_factory(posters={"slack": poster})
    await _watch(alerts, f"ip {zones.IP}")
    await _run(alerts, server, clock, 61)
    server.zone[zones.LISTING] = [("A", "127.0.0.2")]
    await _run(alerts, server, clock, AN_HOUR)
    assert await alerts.deliver_once() == 1
    (listed,) = poster.posts
    assert listed.thread is None and listed.card.title == "203.0.113.5: listed on Spamhaus ZEN"
    stored = alerts.chat.load_card(listed.card.id)  # someone clicks "I'm on it"
    assert stored is not None
    alerts.chat.save_card(listed.card.id, replace(stored, taken_by="U0PAT", actions=()))

    del server.zone[zones.LISTING]
    await _run(alerts, server, clock, AN_HOUR)
    assert await alerts.deliver_once() == 2
    _, fixed = poster.posts
    assert fixed.thread == "msg-1"  # in the alert's thread, not a new channel message
    assert fixed.card.title == "Fixed: 203.0.113.5: no longer listed on Spamhaus ZEN"
    ((edited, resolved),) = poster.edits
    assert edited == "msg-1"
    assert resolved.title == "Resolved: 203.0.113.5: listed on Spamhaus ZEN"
    assert resolved.taken_by == "U0PAT" and resolved.actions == ()

    # A new listing later is a new incident: a new message in the channel.
    server.zone[zones.LISTING] = [("A", "127.0.0.2")]
    await _run(alerts, server, clock, AN_HOUR)
    assert await alerts.deliver_once() == 1
    assert poster.posts[-1].thread is None


async def test_an_outage_and_its_end_are_one_message_and_its_thread(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.healthy_domain())
    poster = RecordingPoster()
    alerts = alerts_factory(posters={"slack": poster})  # unknown_alert_after=3
    await _watch(alerts, f"domain {zones.DOMAIN}")
    await _run(alerts, server, clock, 61)
    server.faults.timeout = {"*"}
    for _ in range(3):
        await _run(alerts, server, clock, SIX_HOURS_AND_MORE)
    server.faults.timeout = set()
    await _run(alerts, server, clock, SIX_HOURS_AND_MORE)
    assert await alerts.deliver_once() == 3
    cannot, again = poster.posts
    assert cannot.thread is None and cannot.card.title == "contoso.test: cannot be checked"
    assert again.thread == "msg-1" and again.card.title == "contoso.test: can be checked again"
    ((edited, resolved),) = poster.edits
    assert edited == "msg-1" and resolved.title == "Resolved: contoso.test: cannot be checked"


async def test_a_fix_written_before_its_alert_was_sent_waits_for_it_across_a_restart(
    serve: Serve, alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.clean_ip())
    first = alerts_factory(posters={"slack": RecordingPoster()})
    await _watch(first, f"ip {zones.IP}")
    await _run(first, server, clock, 61)
    server.zone[zones.LISTING] = [("A", "127.0.0.2")]
    await _run(first, server, clock, AN_HOUR)
    del server.zone[zones.LISTING]
    await _run(first, server, clock, AN_HOUR)  # listed and delisted before anything was sent
    first.store.db.close()

    poster = RecordingPoster()
    poster.fail(down())  # the alert's first try fails: its fix and edit must wait for it
    second = alerts_factory(posters={"slack": poster})
    assert await second.deliver_once() == 0
    assert poster.posts == [] and poster.edits == []
    for _ in range(10):
        clock.advance(second.outbox.seconds_to_next())
        await second.deliver_once()
    listed, fixed = poster.posts
    assert listed.thread is None and fixed.thread == "msg-1"
    assert [message for message, _card in poster.edits] == ["msg-1"]
    assert all(row["sent_at"] for row in second.store.outbox())
