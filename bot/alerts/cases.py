"""Following cases up: look each due case's IP address up on its blocklist, then queue the reply
:func:`handlers.cases.next_step` decides, in the card's thread, through the outbox.

A step and its message are saved in one transaction, keyed by the case and the step, so a
restart or a second process never posts a reminder or a "cleared" twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.alerts._timing import Sleep, repeat
from bot.store.alerts import AlertStore, NewAlert
from handlers.cases import Case, Listing, next_step
from handlers.checks import CheckPlan, DnsClient, Status, Step, run_plan
from handlers.ports import Clock

__all__ = ["CaseFollower"]

log = logging.getLogger("ndrbot.alerts.cases")

IDLE_WAKE = 300.0  # seconds: the longest the loop sleeps (a case opened elsewhere is seen)


class CaseFollower:
    """Runs due case follow-ups; ``run_forever`` is a background loop of ``ndrbot serve``."""

    def __init__(
        self,
        store: AlertStore,
        *,
        dns: Callable[[], DnsClient],
        clock: Clock,
        sleep: Sleep,
        dqs_key: str | None = None,
        on_alert: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.dns = dns
        self.clock = clock
        self.sleep = sleep
        self.dqs_key = dqs_key
        self.on_alert = on_alert
        self.wake = asyncio.Event()

    async def run_due(self) -> int:
        """Follow up every due case; return how many messages were queued."""
        queued = 0
        for case in self.store.due_cases(self.clock()):
            queued += await self._follow(case)
        if queued:
            self.on_alert()
        return queued

    async def _follow(self, case: Case) -> int:
        listing = await self._look(case) if case.followed else None
        now = self.clock()
        step = next_step(case, now, listing)
        alert = None
        if step.message is not None:
            alert = NewAlert(
                key=f"case:{case.id}:{step.kind}",
                kind=f"case.{step.kind}",
                subject=case.ip or case.domain,
                card=step.message,
                destinations=((case.platform, case.conversation),),
                thread_id=case.thread,
            )
        if not self.store.record_case_step(case, step, at=now, alert=alert):
            return 0  # another process took this step
        if alert is not None:
            log.info("case %s: %s queued", case.id, step.kind)
        return int(alert is not None)

    async def _look(self, case: Case) -> Listing:
        """Is the case's IP address still on its list? UNKNOWN when no answer can be trusted
        (run_plan makes a check that crashes an unknown one, as everywhere)."""
        plan = CheckPlan((Step("dnsbl", case.ip, lists=(case.zone,)),))
        (result,) = await run_plan(self.dns(), plan, dqs_key=self.dqs_key)
        if result.status is Status.UNKNOWN:
            return Listing.UNKNOWN
        if result.details.get("listed"):
            return Listing.LISTED
        if result.details.get("unknown") or result.details.get("skipped"):
            return Listing.UNKNOWN
        return Listing.CLEAR

    async def run_forever(self) -> None:
        """Follow up due cases, then sleep until the next is due (or a wake-up), forever."""
        await repeat(
            self.run_due,
            next_due=self.store.next_case_check,
            clock=self.clock,
            sleep=self.sleep,
            wake=self.wake,
            idle=IDLE_WAKE,
            least=1.0,
            log=log,
            what="case follow-up",
        )
