"""The watch scheduler: run due watches with bounded concurrency, spread with jitter.

Each run reads the watch's remembered state, runs its checks (a domain: SPF, DMARC, DKIM, MX;
an IP: blocklists and reverse DNS), turns the results into facts, and saves the new state with
the alerts it produced in one transaction (see :meth:`AlertStore.record_run`). The alert key is
the watch id and the state version it creates, so a run redone after a crash cannot announce the
same transition twice. Time and sleep are injected: tests run many cycles without waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.alerts._timing import Sleep, repeat
from bot.store.alerts import AlertStore, NewAlert
from handlers.card import Action, ActionKind, Card
from handlers.checks import CheckResult, DnsClient, plan_for_domain, plan_for_ip, run_plan
from handlers.ports import CardStore, Clock
from handlers.watch.cards import event_cards, resolved_card
from handlers.watch.model import Watch, WatchKind
from handlers.watch.snapshot import Snapshot, snapshot
from handlers.watch.transitions import EventKind, WatchState, advance

__all__ = ["Scheduler", "SweepReport", "known_selectors", "run_checks"]

log = logging.getLogger("ndrbot.alerts.scheduler")

JITTER = 0.1  # each next run lands within +-10% of the interval, so watches drift apart
FIRST_RUN_SPREAD = 60.0  # seconds: a new watch runs within a minute, not all at one instant
SWEEP_CLAIM = timedelta(minutes=10)  # a claimed watch is this process's to check until then
IDLE_WAKE = 60.0  # seconds: the longest the loop sleeps (a watch added elsewhere is seen)


def known_selectors(watch: Watch, state: WatchState) -> tuple[str, ...]:
    """DKIM selectors to check: those given on add and those found on earlier runs.

    Selectors cannot be listed from DNS, so the first run also tries the common ones; once
    some are known, later runs ask only for them (a new selector appearing is no alert, a
    known one vanishing is), which saves most of a domain watch's queries.
    """
    # A selector that vanished stays on the list (its alert is open) so its return is seen.
    found = [
        key.removeprefix("dkim.")
        for key, value in state.facts.items()
        if key.startswith("dkim.") and (value == "present" or key in state.open)
    ]
    return tuple(dict.fromkeys([*watch.selectors, *sorted(found)]))


async def run_checks(
    dns: DnsClient, watch: Watch, *, dqs_key: str | None, selectors: tuple[str, ...] = ()
) -> list[CheckResult]:
    """The checks of one watch, concurrently (a domain's four, or an IP's two).

    ``selectors``: the DKIM selectors known for the domain; none means try the common ones.
    """
    if watch.kind is WatchKind.IP:
        plan = plan_for_ip(watch.target)
    else:
        plan = plan_for_domain(
            watch.target,
            selectors=selectors or watch.selectors,
            common_selectors=not selectors,
            blocklists=False,
        )
    return await run_plan(dns, plan, dqs_key=dqs_key)


@dataclass
class SweepReport:
    """What one sweep did."""

    watches: int = 0
    alerts: int = 0
    lost_races: int = 0  # runs discarded because another process saved a newer one


class Scheduler:
    """Runs watches when due; ``run_forever`` is the background loop of ``ndrbot serve``."""

    def __init__(
        self,
        store: AlertStore,
        *,
        dns: Callable[[], DnsClient],
        clock: Clock,
        sleep: Sleep,
        intervals: Mapping[WatchKind, float],
        concurrency: int,
        unknown_alert_after: int,
        destinations: Callable[[], tuple[tuple[str, str], ...]],
        dqs_key: str | None = None,
        rng: random.Random | None = None,
        on_alert: Callable[[], None] = lambda: None,
        cards: CardStore | None = None,
    ) -> None:
        self.store = store
        self.cards = cards
        self.dns = dns
        self.clock = clock
        self.sleep = sleep
        self.intervals = intervals
        self.concurrency = concurrency
        self.unknown_alert_after = unknown_alert_after
        self.destinations = destinations
        self.dqs_key = dqs_key
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.on_alert = on_alert
        self.on_sweep: Callable[[float], None] = lambda seconds: None  # metrics
        self.wake = asyncio.Event()

    def first_run_at(self, now: datetime) -> datetime:
        """When a newly added watch first runs."""
        return now + timedelta(seconds=self.rng.uniform(0, FIRST_RUN_SPREAD))

    def next_run_at(self, kind: WatchKind, started: datetime) -> datetime:
        """The run after one that started at ``started``: the interval, jittered."""
        interval = self.intervals[kind] * self.rng.uniform(1 - JITTER, 1 + JITTER)
        return started + timedelta(seconds=interval)

    async def run_due(self) -> SweepReport:
        """Run every watch that is due now: ``concurrency`` workers, each claiming the most
        overdue watch no one holds, running it, and claiming the next.

        Replicas sharing a database claim disjoint watches, so a watch is checked once per
        interval however many run; a claim lapses if its process dies (``SWEEP_CLAIM``)."""
        report = SweepReport()
        started = time.monotonic()

        async def worker() -> None:
            while True:
                now = self.clock()
                claimed = self.store.claim_due_watches(now, until=now + SWEEP_CLAIM, limit=1)
                if not claimed:
                    return
                await self._run_one(claimed[0], report)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.concurrency):
                    group.create_task(worker())
        finally:  # a sweep cut short (shutdown) or a run saved elsewhere: due again at once
            self.store.release_watch_claims()
        if report.alerts:
            self.on_alert()
        if report.watches:
            self.on_sweep(time.monotonic() - started)
        return report

    async def run(self, watches: Sequence[Watch]) -> SweepReport:
        """Run ``watches``, at most ``concurrency`` at a time (so a thousand do not stampede)."""
        report = SweepReport()
        limit = asyncio.Semaphore(self.concurrency)
        started = time.monotonic()

        async def one(watch: Watch) -> None:
            """Run one watch when a slot is free."""
            async with limit:
                await self._run_one(watch, report)

        async with asyncio.TaskGroup() as group:
            for watch in watches:
                group.create_task(one(watch))
        if report.alerts:
            self.on_alert()
        if watches:
            self.on_sweep(time.monotonic() - started)
        return report

    async def _run_one(self, watch: Watch, report: SweepReport) -> None:
        state, version = self.store.state(watch.id)
        started = self.clock()
        try:
            results = await run_checks(
                self.dns(), watch, dqs_key=self.dqs_key, selectors=known_selectors(watch, state)
            )
            snap = snapshot(results)
        except Exception as exc:
            # A bug in one check must not stop the sweep; it counts as "could not check".
            log.exception("watch %s (%s) failed", watch.id, watch.label)
            snap = Snapshot(unknown={"checks": f"internal error ({type(exc).__name__})"})
        new_state, events = advance(state, snap, unknown_alert_after=self.unknown_alert_after)
        cards = event_cards(watch, events, started, unknown_runs=new_state.unknown_runs)
        ends = bool(state.incident) and not new_state.troubled
        destinations = self.destinations() if cards or ends else ()
        alerts, incident = self._threaded(watch, version, cards, state.incident, destinations)
        if ends:
            alerts += self._resolutions(watch, version, incident, started, destinations)
            incident = ()
        new_state = replace(new_state, incident=incident)
        saved = self.store.record_run(
            watch,
            version=version,
            state=new_state,
            checked_at=started,
            next_run_at=self.next_run_at(watch.kind, started),
            alerts=alerts,
        )
        report.watches += 1
        if saved:
            report.alerts += len(alerts)
            for alert in alerts:
                if alert.card.id and self.cards is not None:
                    self.cards.save_card(alert.card.id, alert.card)  # for its "I'm on it" click
        else:
            report.lost_races += 1
        for _kind, card in cards:
            log.info("alert: %s", card.title)

    def _threaded(
        self,
        watch: Watch,
        version: int,
        cards: Sequence[tuple[EventKind, Card]],
        incident: tuple[str, ...],
        destinations: tuple[tuple[str, str], ...],
    ) -> tuple[list[NewAlert], tuple[str, ...]]:
        """One run's alerts placed in their incident: a new problem is a message in the channel
        (the first one opens the thread); a fix, a "cannot be checked" during an incident and
        "can be checked again" are replies in that thread."""
        alerts = []
        for kind, card in cards:
            key = f"watch:{watch.id}:{version + 1}:{kind}"
            if kind in (EventKind.ALERT, EventKind.CANNOT_CHECK):  # something for a person to do
                card = takeable(card, key)
            in_channel = kind is EventKind.ALERT or not incident
            alerts.append(
                NewAlert(
                    key=key,
                    kind=f"watch.{kind}",
                    subject=watch.label,
                    card=card,
                    destinations=destinations,
                    watch_id=watch.id,
                    reply_to=None if in_channel else incident[0],
                )
            )
            if in_channel and kind in (EventKind.ALERT, EventKind.CANNOT_CHECK):
                incident = (*incident, key)
        return alerts, incident

    def _resolutions(
        self,
        watch: Watch,
        version: int,
        incident: tuple[str, ...],
        at: datetime,
        destinations: tuple[tuple[str, str], ...],
    ) -> list[NewAlert]:
        """The incident is over: each of its channel messages edited to say it is resolved."""
        edits = []
        for n, key in enumerate(incident):
            opening = self.store.alert_card(key)
            if opening is None:
                continue
            if opening.id and self.cards is not None:  # as people left it ("I'm on it")
                opening = self.cards.load_card(opening.id) or opening
            edits.append(
                NewAlert(
                    key=f"watch:{watch.id}:{version + 1}:resolved:{n}",
                    kind="watch.resolved",
                    subject=watch.label,
                    card=resolved_card(opening, at),
                    destinations=destinations,
                    watch_id=watch.id,
                    edit_of=key,
                )
            )
        return edits

    async def run_forever(self) -> None:
        """Run due watches, then sleep until the next is due (or a wake-up), forever."""
        await repeat(
            self.run_due,
            next_due=self.store.next_run_at,
            clock=self.clock,
            sleep=self.sleep,
            wake=self.wake,
            idle=IDLE_WAKE,
            least=0.5,
            log=log,
            what="watch sweep",
        )


def takeable(card: Card, key: str) -> Card:
    """An alert card someone can take ("I'm on it"): the button, and an id (its own, or one
    derived from the alert's key, the same on every replica)."""
    card_id = card.id or "alert-" + hashlib.sha256(key.encode()).hexdigest()[:20]
    return replace(card, id=card_id, actions=(*card.actions, Action(ActionKind.TAKE, "I'm on it")))
