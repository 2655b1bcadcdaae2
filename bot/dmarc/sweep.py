"""The DMARC sweep: once an hour, for each domain with reports, the alerts that need no new
report to trigger them: silence, a known sender that started failing, legitimate mail failing
more since a policy change, and the weekly digest. Each alert's key makes it once (per silence,
per sender and week, per change, per week)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.alerts._timing import Sleep, repeat
from bot.dmarc.service import Dmarc
from bot.store.dmarc import since_day
from handlers.dmarc.alerts import (
    after_change_card,
    digest_due,
    failing_after_change,
    failing_card,
    failing_services,
    policy_change,
    silent,
    silent_card,
)
from handlers.dmarc.cards import report_card
from handlers.dmarc.sources import minus, name_sources
from handlers.failures import log_failure

__all__ = ["DmarcSweeper"]

log = logging.getLogger("ndrbot.dmarc")
EVERY = 3600.0  # seconds between sweeps


class DmarcSweeper:
    """Runs :meth:`run_due` every hour (the outbox posts what it queues)."""

    def __init__(self, dmarc: Dmarc, *, sleep: Sleep = asyncio.sleep) -> None:
        self.dmarc = dmarc
        self.sleep = sleep
        self.wake = asyncio.Event()

    async def run_due(self) -> int:
        """One sweep over every watched domain; the number of alerts offered (repeats are
        ignored by the outbox's keys). A domain whose sweep fails is logged and skipped."""
        offered = 0
        if self.dmarc.enqueue is not None:
            now = self.dmarc.clock()
            for domain in self.dmarc.watched(self.dmarc.store.domains()):
                try:
                    offered += await self._sweep(domain, now)
                except Exception as error:  # one broken domain does not stop the others
                    log_failure(log, f"DMARC sweep of {domain}", error)
        try:  # after the alerts, and within its own time budget: naming never delays them
            await self.dmarc.enrich()
        except Exception as error:
            log_failure(log, "naming DMARC sources", error)
        return offered

    async def _sweep(self, domain: str, now: datetime) -> int:
        enqueue = self.dmarc.enqueue
        if enqueue is None:
            return 0
        store, rules, services = self.dmarc.store, self.dmarc.rules, self.dmarc.catalogue.senders
        today = now.date()
        year, week, _ = today.isocalendar()
        offered = 0
        last = store.last_day(domain)
        if silent(last, today, rules):
            card = silent_card(domain, last, rules)
            enqueue(f"dmarc-silent:{domain}:{last}", "dmarc_silent", domain, card)
            offered += 1
        recent = store.sources(domain, since_day(now, rules.recent_days))
        whole = store.sources(domain, since_day(now, rules.recent_days + rules.before_days))
        named_recent = name_sources(recent, {}, services.values(), domain)
        named_before = name_sources(minus(whole, recent), {}, services.values(), domain)
        for key, name, n, before, share in failing_services(named_recent, named_before, rules):
            enqueue(
                f"dmarc-failing:{domain}:{key}:{year}-W{week:02d}",
                "dmarc_sender_failing",
                f"{domain} {name}",
                failing_card(domain, name, n, before, share),
            )
            offered += 1
        offered += self._after_change(domain, now)
        if recent and digest_due(now.weekday(), now.hour, rules):
            summary = await self.dmarc.summary(domain, 7)
            card = replace(report_card(summary), title=f"Weekly DMARC digest: {domain}")
            enqueue(f"dmarc-digest:{domain}:{year}-W{week:02d}", "dmarc_digest", domain, card)
            offered += 1
        return offered

    def _after_change(self, domain: str, now: datetime) -> int:
        """Alert once per policy change when legitimate mail fails more since it."""
        enqueue = self.dmarc.enqueue
        store, rules, services = self.dmarc.store, self.dmarc.rules, self.dmarc.catalogue.senders
        if enqueue is None:
            return 0
        reports = store.policies(domain, since_day(now, rules.watch_days + rules.before_days))
        change = policy_change(reports)
        if change is None:
            return 0
        start = date.fromisoformat(change.day) - timedelta(days=rules.before_days)
        since = store.sources(domain, change.day)
        before = minus(store.sources(domain, start.isoformat()), since)
        found = failing_after_change(
            name_sources(before, {}, services.values(), domain),
            name_sources(since, {}, services.values(), domain),
            change,
            today=now.date(),
            rules=rules,
        )
        if found is None:
            return 0
        # Once per change: late reports may move its first day by a day or two.
        if not store.announce_change(
            domain, change.before, change.after, change.day, near=7, at=now
        ):
            return 0
        enqueue(
            f"dmarc-after-change:{domain}:{change.day}:{change.after}",
            "dmarc_after_change",
            domain,
            after_change_card(domain, found),
        )
        return 1

    async def run_forever(self) -> None:
        """Sweep, then sleep an hour (or until woken), forever."""
        await repeat(
            self.run_due,
            next_due=lambda: None,
            clock=self.dmarc.clock,
            sleep=self.sleep,
            wake=self.wake,
            idle=EVERY,
            least=60.0,
            log=log,
            what="DMARC sweep",
        )
