"""Delivery: written before sending, retried with backoff, Retry-After honoured, sent once, and
nothing lost or doubled across a restart. Time is injected; nothing here sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from bot.alerts import Alerts
from bot.platform import DeliveryError
from bot.store.alerts import NewAlert
from handlers.card import Card, Tone
from tests.alerts.conftest import FakeClock, RecordingPoster, down


def queue(alerts: Alerts, key: str = "test:1", destinations=(("slack", "CALERTS"),)) -> None:
    card = Card(title=f"alert {key}", tone=Tone.ERROR)
    assert alerts.store.enqueue(
        NewAlert(key=key, kind="test", subject=key, card=card, destinations=destinations),
        at=alerts.outbox.clock(),
    )


def pending(alerts: Alerts) -> list[dict[str, object]]:
    return [r for r in alerts.store.outbox() if not r["sent_at"] and not r["failed_at"]]


async def test_a_queued_alert_is_sent_once_with_its_idempotency_key(
    alerts_factory: Callable[..., Alerts],
) -> None:
    poster = RecordingPoster()
    alerts = alerts_factory(posters={"slack": poster})
    queue(alerts)
    assert await alerts.deliver_once() == 1
    assert await alerts.deliver_once() == 0
    (post,) = poster.posts
    assert (post.target, post.card.title, post.key) == (
        "CALERTS",
        "alert test:1",
        "test:1|slack|CALERTS",
    )
    again = NewAlert("test:1", "test", "x", post.card, (("slack", "CALERTS"),))
    assert not alerts.store.enqueue(again, at=alerts.outbox.clock())  # one key, one alert


async def test_a_down_platform_is_retried_with_growing_backoff(
    alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    poster = RecordingPoster()
    poster.fail(down(), down(), down())
    alerts = alerts_factory(posters={"slack": poster})
    queue(alerts)
    waits = []
    while not poster.posts:
        await alerts.deliver_once()
        wait = alerts.outbox.seconds_to_next()
        waits.append(round(wait))
        clock.advance(wait)
    assert poster.attempts == 4 and len(poster.posts) == 1
    assert waits[0] < waits[1] < waits[2]  # about 10, 20, 40 seconds
    assert 8 <= waits[0] <= 12
    (row,) = alerts.store.outbox()
    assert row["attempts"] == 4 and row["sent_at"] and row["last_error"] == "platform is down"


async def test_retry_after_is_honoured_for_the_whole_platform(
    alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    poster = RecordingPoster()
    poster.fail(down(retry_after=7))
    alerts = alerts_factory(posters={"slack": poster})
    queue(alerts, "test:1")
    queue(alerts, "test:2")
    assert await alerts.deliver_once() == 0
    assert poster.attempts == 1  # the second alert was not tried into the rate limit
    assert alerts.outbox.seconds_to_next() == 7
    clock.advance(6.5)
    assert await alerts.deliver_once() == 0 and poster.attempts == 1
    clock.advance(0.5)
    assert await alerts.deliver_once() == 2
    assert [p.card.title for p in poster.posts] == ["alert test:1", "alert test:2"]


async def test_a_retry_after_one_replica_got_holds_the_other_replica_too(
    alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    limited = RecordingPoster()
    limited.fail(down(retry_after=30))
    first = alerts_factory(posters={"slack": limited})
    queue(first, "test:1")
    queue(first, "test:2")
    assert await first.deliver_once() == 0  # Slack said: wait 30 s
    other = RecordingPoster()
    second = alerts_factory(posters={"slack": other})  # another replica, same store
    clock.advance(10)
    assert await second.deliver_once() == 0 and other.attempts == 0
    assert second.outbox.seconds_to_next() == 20
    clock.advance(20)
    assert await second.deliver_once() == 2


async def test_a_refusal_that_retrying_cannot_fix_is_given_up_and_kept(
    alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    poster = RecordingPoster()
    poster.fail(DeliveryError("channel_not_found", retryable=False))
    alerts = alerts_factory(posters={"slack": poster})
    queue(alerts)
    await alerts.deliver_once()
    clock.advance(3600)
    await alerts.deliver_once()
    assert poster.attempts == 1
    (row,) = alerts.store.outbox()
    assert row["failed_at"] and row["last_error"] == "channel_not_found"
    assert alerts.store.alerts()[0][2].title == "alert test:1"  # still in the history


async def test_an_unexpected_error_is_retried_not_lost(
    alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    poster = RecordingPoster()
    poster.fail(ConnectionResetError("peer reset"))
    alerts = alerts_factory(posters={"slack": poster})
    queue(alerts)
    assert await alerts.deliver_once() == 0
    clock.advance(alerts.outbox.seconds_to_next())
    assert await alerts.deliver_once() == 1


async def test_a_restart_between_write_and_send_loses_nothing_and_sends_once(
    alerts_factory: Callable[..., Alerts],
) -> None:
    first = alerts_factory(posters={"slack": RecordingPoster()})
    queue(first, "test:1")
    queue(first, "test:2")
    first.store.db.close()  # the process dies before its worker ran

    poster = RecordingPoster()
    second = alerts_factory(posters={"slack": poster})
    assert await second.deliver_once() == 2
    third = alerts_factory(posters={"slack": poster})  # and once more, after everything was sent
    assert await third.deliver_once() == 0
    assert sorted(p.card.title for p in poster.posts) == ["alert test:1", "alert test:2"]


async def test_a_process_that_died_mid_send_is_retried_only_after_its_lease(
    alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    first = alerts_factory(posters={"slack": RecordingPoster()})
    queue(first)
    claimed = first.store.claim_deliveries(clock(), "slack", until=clock() + timedelta(minutes=2))
    assert [d.idempotency_key for d in claimed] == ["test:1|slack|CALERTS"]
    first.store.db.close()  # claimed, then killed before the answer came back

    poster = RecordingPoster()
    second = alerts_factory(posters={"slack": poster})
    assert await second.deliver_once() == 0  # someone may be sending it right now
    clock.advance(121)
    assert await second.deliver_once() == 1
    assert poster.posts[0].key == "test:1|slack|CALERTS"  # same key: a platform can dedupe


async def test_alerts_go_to_every_configured_platform_and_wait_for_a_missing_poster(
    alerts_factory: Callable[..., Alerts],
) -> None:
    slack = RecordingPoster()
    alerts = alerts_factory(posters={"slack": slack})
    queue(alerts, destinations=(("slack", "CALERTS"), ("teams", "19:abc@thread.tacv2")))
    assert await alerts.deliver_once() == 1
    assert [r["platform"] for r in pending(alerts)] == ["teams"]  # kept for when Teams is up
    teams = RecordingPoster(platform="teams")
    later = alerts_factory(posters={"slack": slack, "teams": teams})
    assert await later.deliver_once() == 1
    assert teams.posts[0].target == "19:abc@thread.tacv2" and len(slack.posts) == 1


async def test_the_background_worker_delivers_through_failures_without_sleeping(
    alerts_factory: Callable[..., Alerts],
) -> None:
    poster = RecordingPoster()
    poster.fail(down(), down(retry_after=30), down())
    alerts = alerts_factory(posters={"slack": poster})
    await alerts.start()
    try:
        queue(alerts)
        alerts.outbox.wake.set()
        async with asyncio.timeout(5):
            while not poster.posts:
                await asyncio.sleep(0.01)
    finally:
        await alerts.stop()
    assert poster.attempts == 4 and len(poster.posts) == 1


async def test_a_backlog_longer_than_a_batch_goes_out_in_one_pass(
    alerts_factory: Callable[..., Alerts],
) -> None:
    poster = RecordingPoster()
    alerts = alerts_factory(posters={"slack": poster})
    for n in range(120):
        queue(alerts, f"test:{n}")
    assert await alerts.deliver_once() == 120
    assert [p.card.title for p in poster.posts] == [f"alert test:{n}" for n in range(120)]
