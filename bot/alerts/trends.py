"""Counting bounces seen in channels and through intake; one trend alert per burst.

The router calls :meth:`TrendWatcher.observe` for every bounce it diagnoses in a channel (a plain
function call, not awaited); intake calls it for every bounce it reads. A burst's alert carries
the diagnosis card of the bounce that completed it, saved in the chat store so its checklist can
be ticked like any other card.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.alerts.scheduler import takeable
from bot.store.alerts import AlertStore, NewAlert, iso
from bot.store.chat import ChatStore
from handlers.diagnosis import Diagnosis
from handlers.ports import Clock
from handlers.watch.cards import trend_card
from handlers.watch.trends import TrendState, decide, trend_key
from knowledge import Catalogue

__all__ = ["TrendWatcher"]

log = logging.getLogger("ndrbot.alerts.trends")


class TrendWatcher:
    """Counts bounces per family and sender domain; queues one alert per burst."""

    def __init__(
        self,
        store: AlertStore,
        chat: ChatStore,
        catalogue: Catalogue,
        *,
        clock: Clock,
        window: timedelta,
        threshold: int,
        destinations: Callable[[], tuple[tuple[str, str], ...]],
        on_alert: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.catalogue = catalogue
        self.clock = clock
        self.window = window
        self.threshold = threshold
        self.destinations = destinations
        self.on_alert = on_alert

    def observe(self, diagnosis: Diagnosis, source: str, at: datetime | None = None) -> bool:
        """Count one diagnosed bounce (seen at ``at``, default now); True if it made an alert.

        Never raises: counting is a side line of answering a user, and must not break it.
        """
        try:
            return self._observe(diagnosis, source, at)
        except Exception:
            log.exception("counting a bounce for trends failed")
            return False

    def _observe(self, diagnosis: Diagnosis, source: str, at: datetime | None) -> bool:
        key = trend_key(diagnosis)
        if key is None:
            return False
        now = self.clock()
        at = min(at or now, now)

        def step(
            last_seen: datetime | None, alerted: bool, count: int
        ) -> tuple[datetime, bool, bool]:
            state, fire = decide(
                TrendState(last_seen, alerted),
                at=at,
                count_in_window=count,
                now=now,
                window=self.window,
                threshold=self.threshold,
            )
            assert state.last_seen is not None
            return state.last_seen, state.alerted, fire

        count, sources, fire = self.store.count_and_decide(
            key.family,
            key.sender_domain,
            at=at,
            source=source,
            since=at - self.window,
            decide=step,
        )
        if not fire:
            return False
        alert_key = f"trend:{key.family}:{key.sender_domain}:{iso(at)}"
        card_id = "trend-" + hashlib.sha256(alert_key.encode()).hexdigest()[:20]
        card = trend_card(
            diagnosis,
            self.catalogue,
            key=key,
            count=count,
            window=self.window,
            sources=[place_name(source) for source in sources],
            card_id=card_id,
        )
        card = takeable(card, alert_key)
        self.chat.save_card(card.id, card)  # so ticks and "I'm on it" find it
        self.store.enqueue(
            NewAlert(
                key=alert_key,
                kind="trend",
                subject=f"{key.family} {key.sender_domain}",
                card=card,
                destinations=self.destinations(),
            ),
            at=now,
        )
        self.store.prune(before=now - 4 * self.window)
        self.on_alert()
        return True


_PLACES = {
    "slack": "Slack channel {}",
    "teams": "a Teams conversation",  # its id (19:...@thread.tacv2) means nothing to a reader
    "console": "the console",
    "intake": "intake ({})",
    "ingest": "ingest of {}",
}


def place_name(source: str) -> str:
    """Where a bounce was seen, for a person: ``slack:C0123`` is "Slack channel C0123"."""
    kind, _, rest = source.partition(":")
    template = _PLACES.get(kind)
    if template is None:
        return source
    if "{}" in template and not rest:
        return kind
    return template.format(rest)
