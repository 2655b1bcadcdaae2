"""Fixtures for the alert tests: an injected clock and sleep, recording posters, Alerts on a
SQLite file (so a "restart" is a second Alerts on the same file), and the loopback DNS server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import Alerts
from bot.platform import DeliveryError, Poster
from bot.settings import Settings
from bot.store import open_database
from bot.store.chat import ChatStore
from handlers.card import Card
from handlers.checks import DnsClient
from knowledge import Catalogue
from tests.dns.conftest import serve  # the loopback DNS server fixture, shared

__all__ = ["FakeClock", "Posted", "RecordingPoster", "make_alerts", "serve"]


class FakeClock:
    """An aware UTC clock that moves only when told (or when the fake sleep sleeps)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """The injected sleep: time passes at once; other tasks get a turn."""
        self.advance(seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Posted:
    target: str
    card: Card
    key: str | None
    thread: str | None = None  # the message it replied under


@dataclass
class RecordingPoster:
    """A Poster that records posts and edits, and fails on demand (the next N calls raise
    ``failures``). Messages are ``msg-1``, ``msg-2``... in the order posted."""

    platform: str = "slack"
    posts: list[Posted] = field(default_factory=list)
    edits: list[tuple[str, Card]] = field(default_factory=list)  # (message id, new card)
    failures: list[BaseException] = field(default_factory=list)
    attempts: int = 0

    async def post(
        self,
        target: str,
        card: Card,
        *,
        idempotency_key: str | None = None,
        thread: str | None = None,
    ) -> str:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append(Posted(target, card, idempotency_key, thread))
        return f"msg-{len(self.posts)}"

    async def update(self, target: str, message_id: str, card: Card) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.edits.append((message_id, card))

    def fail(self, *errors: BaseException) -> None:
        self.failures.extend(errors)


def down(retry_after: float | None = None) -> DeliveryError:
    """What a poster raises for a 5xx (or, with ``retry_after``, a 429)."""
    return DeliveryError("platform is down", retryable=True, retry_after=retry_after)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(database_target: str) -> str:
    """The store of an alert test: an SQLite file, or a PostgreSQL schema (each test runs on
    both)."""
    return database_target


def make_settings(**changes: object) -> Settings:
    """Settings for alert tests: one admin, a Slack alert channel, an intake token."""
    base = Settings(
        admins=("UADMIN",),
        alert_slack_channel="CALERTS",
        intake_token="intake-secret-token",
        max_paste_bytes=64 * 1024,
        unknown_alert_after=3,
        burst_threshold=5,
        burst_window=15 * 60,
    )
    return base.with_overrides(**changes) if changes else base


def make_alerts(
    db_path: str,
    catalogue: Catalogue,
    clock: FakeClock,
    *,
    dns: DnsClient | None = None,
    posters: dict[str, Poster] | None = None,
    settings: Settings | None = None,
) -> Alerts:
    """An Alerts on ``db_path`` (a new one on the same path is a restarted process)."""
    db = open_database(db_path)
    return Alerts(
        settings or make_settings(),
        db,
        ChatStore(db),
        dns or DnsClient([("127.0.0.1", 9)], timeout=0.2),
        catalogue,
        posters if posters is not None else {},
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(5),
    )


@pytest.fixture
def alerts_factory(
    db_path: str, catalogue: Catalogue, clock: FakeClock
) -> Iterator[Callable[..., Alerts]]:
    made: list[Alerts] = []

    def build(*, catalogue: object = catalogue, **kw: object) -> Alerts:
        alerts = make_alerts(db_path, catalogue, clock, **kw)  # type: ignore[arg-type]
        made.append(alerts)
        return alerts

    yield build
    for alerts in made:
        alerts.store.db.close()
