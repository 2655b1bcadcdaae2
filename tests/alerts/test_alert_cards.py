"""Every kind of alert card renders for Slack, Teams and the terminal, and carries no secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import Alerts
from bot.render.adaptive import render_adaptive
from bot.render.blockkit import render_blockkit
from bot.render.text import render_text
from handlers.card import Card, card_from_json, card_to_json
from handlers.diagnosis import diagnose
from handlers.events import Command
from handlers.ndr import read
from handlers.watch import Event, EventKind, TrendKey, Watch, WatchKind, WatchState
from handlers.watch.cards import event_cards, trend_card, unreadable_card, watch_list_card
from knowledge import Catalogue
from tests.alerts import zones
from tests.alerts.conftest import FakeClock, make_settings
from tests.dns.conftest import client_for
from tests.dns.server import Faults, LoopbackDns

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WATCH = Watch(7, WatchKind.DOMAIN, "contoso.com", "slack:UADMIN", NOW, NOW)
SAMPLE = Path(__file__).parents[1] / "ndr" / "samples" / "banned_ip_postfix.eml"


def all_cards(catalogue: Catalogue) -> list[Card]:
    events = [
        Event(EventKind.ALERT, "blocklist.Spamhaus ZEN", "clean", "listed", "clean", "listed"),
        Event(EventKind.ALERT, "mx", "10 a.test", "10 b.test", "10 a.test"),
        Event(EventKind.RECOVERY, "spf.lookup_limit", "over", "within", "within"),
        Event(EventKind.CANNOT_CHECK, detail="mx: timed out"),
        Event(EventKind.CAN_CHECK_AGAIN),
    ]
    cards = [card for _kind, card in event_cards(WATCH, events, NOW, unknown_runs=3)]
    diagnosis = diagnose(read(SAMPLE.read_bytes()), catalogue)
    cards.append(
        trend_card(
            diagnosis,
            catalogue,
            key=TrendKey("exo_banned_sending_ip", "contoso.com"),
            count=5,
            window=timedelta(minutes=15),
            sources=["slack:C1", "intake"],
            card_id="trend-1",
        )
    )
    cards.append(
        unreadable_card(
            intake_id=3, size=900, source="intake", subject="<@U1> hi", reason="x", others=2
        )
    )
    cards.append(watch_list_card([WATCH], {7: WatchState({"mx": "10 a"}, {"mx": "10 a"})}))
    return cards


def test_every_alert_card_renders_on_every_platform(catalogue: Catalogue) -> None:
    cards = all_cards(catalogue)
    assert len(cards) == 7
    for card in cards:
        assert render_blockkit(card)["blocks"]
        assert render_adaptive(card)["body"]
        assert card.title in render_text(card)


async def test_a_dqs_key_never_reaches_an_alert(
    serve: Callable[..., LoopbackDns], alerts_factory: Callable[..., Alerts], clock: FakeClock
) -> None:
    server = serve(zones.clean_ip(), Faults(timeout={"*"}))
    alerts = alerts_factory(
        settings=make_settings(spamhaus_dqs_key="dqs-secret-key-123", unknown_alert_after=1)
    )
    await alerts.watch_commands.handle(
        Command("slack", "C1", "UADMIN", "ndrwatch", f"add ip {zones.IP}", is_admin=True)
    )
    clock.advance(61)
    alerts.dns = client_for(server, timeout=0.2)
    await alerts.run_due()
    ((_kind, _subject, card),) = alerts.store.alerts()
    assert card.title == "203.0.113.5: cannot be checked"
    text = json.dumps(render_blockkit(card)) + render_text(card)
    assert "<DQS key>" in text and "dqs-secret-key-123" not in text


@pytest.mark.parametrize("card_index", range(7))
def test_alert_cards_survive_the_card_store(catalogue: Catalogue, card_index: int) -> None:
    card = all_cards(catalogue)[card_index]
    assert card_from_json(json.loads(json.dumps(card_to_json(card)))) == card
