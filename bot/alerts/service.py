"""``Alerts``: watches, trends, intake and delivery wired together for ``ndrbot serve``.

    alerts = Alerts(settings, db, chat, dns, catalogue, posters={"slack": slack.poster})
    alerts.attach(app)                  # POST /api/ndr
    router = build_router(services, watches=alerts.watch_commands,
                          alerts_here=alerts.alerts_here, observe=alerts.observe)
    await alerts.start()                # scheduler + outbox worker as background tasks
    ...
    await alerts.stop()

Alerts go to the conversation set with ``/ndrbot alerts here`` on each platform, else to
``NDRBOT_ALERT_SLACK_CHANNEL`` / ``NDRBOT_ALERT_TEAMS_CONVERSATION``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import timedelta

from aiohttp import web

from bot.alerts._timing import Sleep
from bot.alerts.cases import CaseFollower
from bot.alerts.commands import ALERT_CHANNEL_SETTING, AlertsHereHandler, WatchCommandHandler
from bot.alerts.http import intake_handler
from bot.alerts.intake import Intake
from bot.alerts.outbox import OutboxWorker
from bot.alerts.scheduler import Scheduler, SweepReport
from bot.alerts.trends import TrendWatcher
from bot.platform import Poster
from bot.services import utc_now
from bot.settings import Settings
from bot.store import Database
from bot.store.alerts import AlertStore, NewAlert
from bot.store.chat import ChatStore
from handlers.card import Card
from handlers.checks.resolver import DnsClient
from handlers.diagnosis import Diagnosis
from handlers.ports import CaseBook, Clock, WatchCommands
from handlers.router import AlertsHere
from handlers.watch.model import WatchKind
from knowledge import Catalogue

__all__ = ["INTAKE_PATH", "Alerts"]

log = logging.getLogger("ndrbot.alerts")

INTAKE_PATH = "/api/ndr"


class Alerts:
    """Everything proactive: watches, bounce trends, NDR intake, and the outbox."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        chat: ChatStore,
        dns: DnsClient,
        catalogue: Catalogue,
        posters: Mapping[str, Poster],
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.chat = chat
        self.dns = dns  # read at every run, so a new client (new resolvers) applies next sweep
        self.posters = posters
        self.store = AlertStore(db)
        self._clock = clock
        rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        intervals = {
            WatchKind.IP: float(settings.ip_watch_interval),
            WatchKind.DOMAIN: float(settings.domain_watch_interval),
        }
        window = timedelta(seconds=settings.burst_window)
        self.outbox = OutboxWorker(
            self.store,
            posters,
            clock=clock,
            sleep=sleep,
            rng=rng,
            lease=timedelta(seconds=settings.outbox_lease),
        )
        self.scheduler = Scheduler(
            self.store,
            dns=lambda: self.dns,
            clock=clock,
            sleep=sleep,
            intervals=intervals,
            concurrency=settings.watch_concurrency,
            unknown_alert_after=settings.unknown_alert_after,
            destinations=self.destinations,
            dqs_key=settings.spamhaus_dqs_key,
            rng=rng,
            on_alert=self.wake_outbox,
            cards=chat,
        )
        self.cases = CaseFollower(
            self.store,
            dns=lambda: self.dns,
            clock=clock,
            sleep=sleep,
            dqs_key=settings.spamhaus_dqs_key,
            on_alert=self.wake_outbox,
        )
        self.commands = WatchCommandHandler(
            self.store,
            clock=clock,
            first_run_at=self.scheduler.first_run_at,
            intervals=intervals,
            on_change=self.scheduler.wake.set,
        )
        self._alerts_here = AlertsHereHandler(self.store, chat, clock=clock)
        self.trends = TrendWatcher(
            self.store,
            chat,
            catalogue,
            clock=clock,
            window=window,
            threshold=settings.burst_threshold,
            destinations=self.destinations,
            on_alert=self.wake_outbox,
        )
        self.intake = Intake(
            self.store,
            catalogue,
            self.trends,
            clock=clock,
            max_bytes=settings.max_paste_bytes,
            alert_quiet=window,
            destinations=self.destinations,
            on_alert=self.wake_outbox,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what the router takes --------------------------------------------------------------

    @property
    def watch_commands(self) -> WatchCommands:
        """``/ndrwatch`` (the router's ``watches=``)."""
        return self.commands

    @property
    def case_book(self) -> CaseBook:
        """Delisting requests marked sent (the router's ``cases=``); followed up here."""
        return self.store

    @property
    def alerts_here(self) -> AlertsHere:
        """``/ndrbot alerts here`` (the router's ``alerts_here=``)."""
        return self._alerts_here

    @property
    def observe(self) -> Callable[[Diagnosis, str], None]:
        """Counts every bounce diagnosed in a channel (the router's ``observe=``)."""

        def observe(diagnosis: Diagnosis, source: str) -> None:
            """Count one bounce diagnosed in ``source`` (``slack:C123``)."""
            self.trends.observe(diagnosis, source)

        return observe

    # -- where alerts go ------------------------------------------------------------------------

    def destinations(self) -> tuple[tuple[str, str], ...]:
        """``(platform, conversation)`` pairs an alert is posted to right now."""
        configured = {
            "slack": self.settings.alert_slack_channel,
            "teams": self.settings.alert_teams_conversation,
        }
        out = []
        for platform, default in configured.items():
            chosen = self.chat.setting(ALERT_CHANNEL_SETTING.format(platform=platform)) or default
            if chosen:
                out.append((platform, chosen))
        return tuple(out)

    # -- the server side ------------------------------------------------------------------------

    def attach(self, app: web.Application) -> None:
        """Add ``POST /api/ndr`` to the server's application."""
        app.router.add_post(
            INTAKE_PATH,
            intake_handler(
                self.intake,
                token=self.settings.intake_token,
                max_bytes=self.settings.max_paste_bytes,
                workers=self.settings.workers,
            ),
        )

    def enqueue_card(self, key: str, kind: str, subject: str, card: Card) -> None:
        """Queue ``card`` for the alert channels, once per ``key`` (a repeat is ignored), and
        wake the outbox; safe from a worker thread (DMARC reports are read in one)."""
        alert = NewAlert(
            key=key, kind=kind, subject=subject, card=card, destinations=self.destinations()
        )
        if self.store.enqueue(alert, at=self._clock()):
            self.wake_outbox()

    def wake_outbox(self) -> None:
        """Wake the outbox worker; safe from a worker thread (a paste is read in one, and its
        trend alert is queued there)."""
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(self.outbox.wake.set)
                return
        self.outbox.wake.set()

    async def start(self) -> None:
        """Start the scheduler and the outbox worker as background tasks."""
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        for platform, target in self.destinations():
            if platform not in self.posters:
                log.warning(
                    "alerts for %s go to %s, but %s is not configured", platform, target, platform
                )
        self._tasks = [
            asyncio.create_task(self.scheduler.run_forever(), name="ndrbot-watch-scheduler"),
            asyncio.create_task(self.outbox.run_forever(), name="ndrbot-alert-outbox"),
            asyncio.create_task(self.cases.run_forever(), name="ndrbot-case-follow-up"),
        ]

    async def stop(self) -> None:
        """Stop both background tasks (what is queued stays queued for the next start)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- one-shot use (the CLI, tests) --------------------------------------------------------

    async def run_once(self) -> SweepReport:
        """Run every active watch now, whether due or not."""
        return await self.scheduler.run(self.store.watches())

    async def run_due(self) -> SweepReport:
        """Run the watches that are due now."""
        return await self.scheduler.run_due()

    async def follow_cases(self) -> int:
        """Follow up the delisting cases that are due; return how many messages were queued."""
        return await self.cases.run_due()

    async def deliver_once(self) -> int:
        """Post every alert that is due now; return how many were sent."""
        return await self.outbox.deliver_due()
