"""The outbox worker: posts queued alerts through each platform's Poster, exactly once.

Every alert is in the outbox (the store) before anything is sent. A delivery is claimed with a lease
(so a second process or replica does not post it too), posted with its idempotency key, and marked
sent only when the platform accepted it. A retryable failure (5xx, 429, a network error) is tried again with
exponential backoff, or after the platform's ``Retry-After`` when it gave one; a failure that
retrying cannot fix (unknown channel, revoked token) is given up at once and logged. A restart
loses nothing: unsent rows are still there, and the next worker picks them up.

An alert can belong to an earlier one's message (a watch's incident is one thread): a reply waits
until that message is posted, then goes in its thread (in the channel if it was never posted);
an edit replaces that message (and is given up if it was never posted).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.alerts._timing import Sleep, nap
from bot.platform import DeliveryError, Poster
from bot.store.alerts import AlertStore, Delivery
from handlers.ports import Clock

__all__ = ["OutboxWorker", "backoff"]

log = logging.getLogger("ndrbot.alerts.outbox")

BASE_DELAY = 10.0  # seconds before the first retry
MAX_DELAY = 15 * 60.0  # the longest wait between two tries
GIVE_UP_AFTER = timedelta(days=3)  # an alert older than this is history, not news
LEASE = timedelta(minutes=2)  # longer than any one post takes (NDRBOT_OUTBOX_LEASE)
POLL = 30.0  # seconds: the longest the loop sleeps (rows written by another process)
WAIT_FOR_PARENT = 15.0  # seconds before looking again for the message a reply belongs to


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before retry number ``attempts``: 10, 20, 40 ... capped at 15 minutes, +-20%."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(attempts - 1, 0))
    return delay * rng.uniform(0.8, 1.2)


class OutboxWorker:
    """Delivers due outbox rows; ``run_forever`` is the background loop of ``ndrbot serve``."""

    def __init__(
        self,
        store: AlertStore,
        posters: Mapping[str, Poster],
        *,
        clock: Clock,
        sleep: Sleep,
        rng: random.Random | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.lease = lease
        self.posters = posters
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.wake = asyncio.Event()
        self.hold_until: dict[str, datetime] = {}  # platform -> its Retry-After ends
        self.on_sent: Callable[[str], None] = lambda platform: None  # metrics

    async def deliver_due(self) -> int:
        """Try every delivery that is due now; return how many were sent.

        Platform by platform, in batches, oldest first; a platform that answers with
        Retry-After is left alone until then, and one without a poster in this process keeps
        its rows for a process that has one (``ndrbot serve``).
        """
        sent = 0
        for platform, poster in list(self.posters.items()):
            # One row claimed at a time, just before it is posted: a claim never waits behind
            # other posts, so it cannot lapse while it waits (and be taken over and posted twice).
            while not self._held(platform):
                now = self.clock()
                claimed = self.store.claim_deliveries(now, platform, until=now + self.lease)
                if not claimed:
                    break
                sent += await self._deliver(claimed[0], poster)
        return sent

    def _held(self, platform: str) -> bool:
        """Whether a platform asked to wait (a 429's Retry-After, kept in the store so every
        replica honours it)."""
        stored = self.store.hold(platform)
        if stored is not None:
            self.hold_until[platform] = max(stored, self.hold_until.get(platform, stored))
        hold = self.hold_until.get(platform)
        return hold is not None and hold > self.clock()

    async def _deliver(self, delivery: Delivery, poster: Poster) -> int:
        now = self.clock()
        if now - delivery.created_at > GIVE_UP_AFTER:
            self.store.mark_failed(delivery.id, at=now, error="gave up: too old to be news")
            return 0
        parent = delivery.edit_of or delivery.reply_to
        where, parent_id = self.store.posted_message(parent) if parent else ("none", None)
        if parent is None and delivery.thread_id:
            parent_id = delivery.thread_id  # a card of ours, posted as a reply to a person
        if where == "pending":  # its message is not posted yet: the reply waits for it
            self.store.mark_retry(
                delivery.id,
                next_attempt_at=now + timedelta(seconds=WAIT_FOR_PARENT),
                error="waiting for the message it belongs to",
            )
            return 0
        if delivery.edit_of and parent_id is None:
            self.store.mark_failed(
                delivery.id, at=now, error="the message to edit was never posted"
            )
            return 0
        if not self.store.count_attempt(delivery.id):
            return 0  # the claim lapsed and another process took the row over
        attempts = delivery.attempts + 1
        try:
            if delivery.edit_of and parent_id is not None:
                await poster.update(delivery.target, parent_id, delivery.card)
                message_id = parent_id
            else:
                message_id = await poster.post(
                    delivery.target,
                    delivery.card,
                    idempotency_key=delivery.idempotency_key,
                    thread=parent_id,
                )
        except DeliveryError as error:
            self._failed(delivery, attempts, error)
            return 0
        except Exception as error:  # a bug or an unmapped network error: retry, loudly
            log.exception("posting alert %s failed unexpectedly", delivery.idempotency_key)
            self._retry(delivery, attempts, f"{type(error).__name__}: {error}", None)
            return 0
        self.store.mark_sent(delivery.id, at=self.clock(), message_id=message_id)
        self.on_sent(delivery.platform)
        log.info("alert %s sent to %s", delivery.idempotency_key, delivery.platform)
        return 1

    def _failed(self, delivery: Delivery, attempts: int, error: DeliveryError) -> None:
        if not error.retryable:
            log.error(
                "alert %s to %s %s given up: %s",
                delivery.idempotency_key,
                delivery.platform,
                delivery.target,
                error,
            )
            self.store.mark_failed(delivery.id, at=self.clock(), error=str(error))
            return
        self._retry(delivery, attempts, str(error), error.retry_after)

    def _retry(
        self, delivery: Delivery, attempts: int, error: str, retry_after: float | None
    ) -> None:
        now = self.clock()
        if retry_after is not None:
            # Retry-After applies to the whole platform (Slack rate-limits per method and app).
            delay = max(retry_after, 1.0)
            self.hold_until[delivery.platform] = now + timedelta(seconds=delay)
            self.store.set_hold(delivery.platform, now + timedelta(seconds=delay))
        else:
            delay = backoff(attempts, self.rng)
        log.warning(
            "alert %s to %s failed (attempt %d), retrying in %.0f s: %s",
            delivery.idempotency_key,
            delivery.platform,
            attempts,
            delay,
            error,
        )
        self.store.mark_retry(
            delivery.id, next_attempt_at=now + timedelta(seconds=delay), error=error
        )

    def seconds_to_next(self) -> float:
        """How long the loop may sleep before something could be due."""
        now = self.clock()
        upcoming = []
        for platform in self.posters:
            due = self.store.next_delivery_at(platform)
            if due is not None:
                upcoming.append(max(due, self.hold_until.get(platform, due)))
        if not upcoming:
            return POLL
        return min(max((min(upcoming) - now).total_seconds(), 0.05), POLL)

    async def run_forever(self) -> None:
        """Deliver, then sleep until the next delivery is due (or a wake-up), forever."""
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive a bad pass (a locked database, say)
                log.exception("outbox pass failed; trying again shortly")
            await nap(self.sleep, self.seconds_to_next(), self.wake)
