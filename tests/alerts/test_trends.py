"""Bursts: bounces pasted in channels are counted per family and sender domain; a burst posts
one trend alert with the diagnosis card, and a later burst posts another."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import Alerts
from bot.alerts.trends import place_name
from handlers.checks import DnsClient
from handlers.events import Message
from handlers.limits import RateLimiter
from handlers.router import Router
from handlers.watch import TrendState, decide
from knowledge import Catalogue
from tests.alerts.conftest import FakeClock

SAMPLES = Path(__file__).parents[1] / "ndr" / "samples"
WINDOW = timedelta(minutes=15)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_decide_fires_once_per_burst_and_again_after_a_quiet_window() -> None:
    state, fires = TrendState(), []
    times = [T0 + timedelta(minutes=m) for m in (0, 1, 2, 3, 4, 5, 6, 14, 40, 41, 42, 43, 44)]
    for n, at in enumerate(times):
        count = sum(1 for t in times[: n + 1] if at - WINDOW < t <= at)
        state, fire = decide(
            state, at=at, count_in_window=count, now=at, window=WINDOW, threshold=5
        )
        fires.append(fire)
    assert [times[i].minute for i, f in enumerate(fires) if f] == [4, 44]


def test_an_old_burst_being_ingested_is_counted_but_not_news() -> None:
    state, fire = decide(
        TrendState(),
        at=T0,
        count_in_window=9,
        now=T0 + timedelta(days=3),
        window=WINDOW,
        threshold=5,
    )
    assert not fire and state.last_seen == T0


@pytest.fixture
def router(alerts_factory: Callable[..., Alerts], catalogue: Catalogue, clock: FakeClock):
    alerts = alerts_factory()
    router = Router(
        catalogue=catalogue,
        dns=DnsClient([("127.0.0.1", 9)], timeout=0.2),
        seen=alerts.chat,
        cards=alerts.chat,
        clock=clock,
        limiter=RateLimiter(clock),
        max_paste_bytes=64 * 1024,
        run_checks=False,
        observe=alerts.observe,
    )
    return router, alerts


async def paste(router: Router, sample: str, n: int, channel: str = "CHELP") -> None:
    text = (SAMPLES / sample).read_text()
    reply = await router.on_message(Message("slack", channel, f"m{sample}{n}", "U1", text))
    assert reply is not None


async def test_five_bounces_of_a_kind_in_a_channel_make_one_trend_alert(
    router: tuple[Router, Alerts], clock: FakeClock
) -> None:
    chat, alerts = router
    for n in range(4):
        await paste(chat, "exo_dmarc_reject.txt", n, channel=f"C{n % 2}")
        clock.advance(60)
    await paste(chat, "gmail_unauthenticated.txt", 0)  # another family: counted apart
    assert alerts.store.alerts() == []
    for n in range(4, 12):
        await paste(chat, "exo_dmarc_reject.txt", n)
        clock.advance(60)
    ((kind, _subject, card),) = alerts.store.alerts()
    assert kind == "trend"
    assert card.title.startswith("Trend: 5 bounces in 15 min - ")
    seen = {f.label: f.value for f in card.facts}["Seen in"]
    assert seen == "Slack channel C0, Slack channel C1, Slack channel CHELP"
    assert [r["target"] for r in alerts.store.outbox()] == ["CALERTS"]
    # The card is stored like any other, so its checklist (if any) can be ticked.
    assert alerts.chat.load_card(card.id) == card

    clock.advance(16 * 60)  # a quiet window: the burst is over
    for n in range(12, 17):
        await paste(chat, "exo_dmarc_reject.txt", n)
    assert [k for k, _s, _c in alerts.store.alerts()] == ["trend", "trend"]


def test_where_a_bounce_was_seen_is_said_for_a_person() -> None:
    assert place_name("slack:C0HELP") == "Slack channel C0HELP"
    assert place_name("teams:19:abc@thread.tacv2") == "a Teams conversation"
    assert place_name("intake:helpdesk-mailbox") == "intake (helpdesk-mailbox)"
    assert place_name("intake") == "intake" and place_name("console:console") == "the console"
