"""End to end: a watch alert through the outbox and the real Slack poster to the fake Slack Web
API, which fails with 500 and 429 + Retry-After, with a restart between write and send. Every
alert arrives exactly once."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from bot.alerts import Alerts
from handlers.cases import Case
from handlers.events import Command
from tests.alerts import zones
from tests.alerts.conftest import FakeClock
from tests.dns.conftest import blocklist_zone, client_for
from tests.dns.server import LoopbackDns
from tests.fakes.slack_api import FakeSlackApi, fake_slack_api

__all__ = ["fake_slack_api"]  # the fixture, used by name below

slack_poster = pytest.importorskip("bot.slack.poster", reason="the Slack adapter is not there yet")
async_client = pytest.importorskip("slack_sdk.web.async_client")

TOKEN = "xoxb-test-token"


def poster_for(api: FakeSlackApi) -> object:
    client = async_client.AsyncWebClient(token=TOKEN, base_url=api.api_url)
    return slack_poster.SlackPoster(client)


async def test_every_alert_arrives_exactly_once_through_failures_and_a_restart(
    serve: Callable[..., LoopbackDns],
    alerts_factory: Callable[..., Alerts],
    clock: FakeClock,
    fake_slack_api: FakeSlackApi,
) -> None:
    healthy = zones.healthy_domain()
    server = serve(copy.deepcopy(healthy))
    first = alerts_factory(posters={"slack": poster_for(fake_slack_api)})
    await first.watch_commands.handle(
        Command("slack", "C1", "UADMIN", "ndrwatch", f"add domain {zones.DOMAIN}", is_admin=True)
    )
    clock.advance(61)
    first.dns = client_for(server)
    await first.run_due()  # the baseline
    zones.spf_over_the_limit(server.zone)
    clock.advance(7 * 3600)
    first.dns = client_for(server)
    assert (await first.run_due()).alerts == 1
    first.store.db.close()  # written, never sent: the process is restarted here

    second = alerts_factory(posters={"slack": poster_for(fake_slack_api)})
    fake_slack_api.fail("chat.postMessage", status=500)
    fake_slack_api.fail("chat.postMessage", status=429, retry_after=7)
    assert await second.deliver_once() == 0  # 500
    clock.advance(second.outbox.seconds_to_next())
    assert await second.deliver_once() == 0  # 429, Retry-After: 7
    wait = second.outbox.seconds_to_next()
    assert wait == 7
    clock.advance(wait)
    assert await second.deliver_once() == 1

    server.zone.clear()
    server.zone.update(copy.deepcopy(healthy))
    clock.advance(7 * 3600)
    second.dns = client_for(server)
    assert (await second.run_due()).alerts == 2  # the fix, and the alert marked resolved
    assert await second.deliver_once() == 2
    assert await second.deliver_once() == 0

    calls = fake_slack_api.calls_to("chat.postMessage")
    assert len(calls) == 4  # 500, 429, the alert, the fix
    assert {c.params["channel"] for c in calls} == {"CALERTS"}
    alert, fix = calls[2:]
    assert "SPF record over the 10-lookup limit" in alert.params["text"]
    # The fix is a reply in the alert's thread, not a second message in the channel ...
    (top,) = [m for m in fake_slack_api.history["CALERTS"] if "thread_ts" not in m]
    assert "thread_ts" not in alert.params and fix.params["thread_ts"] == top["ts"]
    assert "within the 10-lookup limit again" in fix.params["text"]
    # ... and the alert itself now says it is resolved.
    (edit,) = fake_slack_api.calls_to("chat.update")
    assert edit.params["ts"] == top["ts"] and edit.params["channel"] == "CALERTS"
    assert top["text"].startswith("Resolved: contoso.test: SPF record over")
    rows = second.store.outbox()
    assert [r["attempts"] for r in rows] == [3, 1, 1] and all(r["sent_at"] for r in rows)


async def test_a_case_reminder_lands_in_the_pastes_thread_once_across_a_restart(
    serve: Callable[..., LoopbackDns],
    alerts_factory: Callable[..., Alerts],
    clock: FakeClock,
    fake_slack_api: FakeSlackApi,
) -> None:
    listing = "80.2.0.192.zen.spamhaus.org"
    server = serve(blocklist_zone(["zen.spamhaus.org"], {listing: ["127.0.0.4"]}))
    first = alerts_factory(posters={"slack": poster_for(fake_slack_api)})
    case = Case(
        card_id="card-1",
        platform="slack",
        conversation="C0HELPDESK",
        thread="1741140600.000200",  # the pasted bounce the card answered
        route="spamhaus_removal",
        title="Ask Spamhaus to remove the listing",
        ip="192.0.2.80",
        domain="contoso.com",
        zone="zen.spamhaus.org",
        opened_by="U0PAT",
        opened_at=clock(),
    )
    assert first.store.open_case(case)
    clock.advance(49 * 3600)
    first.dns = client_for(server)
    assert await first.follow_cases() == 1  # still listed after two days: one reminder
    first.store.db.close()  # queued, not sent: restarted here

    second = alerts_factory(posters={"slack": poster_for(fake_slack_api)})
    second.dns = client_for(server)
    assert await second.follow_cases() == 0  # already decided: not queued again
    assert await second.deliver_once() == 1
    assert await second.deliver_once() == 0
    (posted,) = fake_slack_api.calls_to("chat.postMessage")
    assert posted.params["channel"] == "C0HELPDESK"
    assert posted.params["thread_ts"] == "1741140600.000200"
    assert posted.params["text"].startswith("Reminder: delisting of 192.0.2.80")
