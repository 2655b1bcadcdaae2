"""The DMARC commands' answers: ``/dmarcreport`` and ``/dmarcready`` as cards, and report files
sent to the bot in a personal chat. The router calls these with its ports (the reports, its
check runner, its clock); nothing here touches a platform."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date

from handlers.card import Card, Picture
from handlers.checks import CheckPlan, CheckResult
from handlers.checks.dmarc_record import parse_dmarc
from handlers.checks.plan import Step
from handlers.dmarc.cards import chart_alt, readiness_card, report_card, taken_card
from handlers.dmarc.readiness import assess
from handlers.dmarc.unpack import looks_like_report
from handlers.events import Attachment
from handlers.ports import DmarcReports

__all__ = ["READINESS_DAYS", "readiness_answer", "report_answer", "uploads_answer"]

READINESS_DAYS = 90  # /dmarcready reads this many days of reports (the gates ask for 30)

RunPlan = Callable[[CheckPlan], Awaitable[list[CheckResult]]]


async def report_answer(dmarc: DmarcReports, domain: str, days: int) -> Card:
    """What the reports say about ``domain``: sources named and bucketed, with their fixes,
    and the chart when one can be drawn."""
    summary = await dmarc.summary(domain, days)
    card = report_card(summary)
    png = await dmarc.chart(summary)
    if png:
        card = replace(card, picture=Picture(chart_alt(summary), base64.b64encode(png).decode()))
    return card


async def readiness_answer(
    dmarc: DmarcReports, run_plan: RunPlan, domain: str, today: date
) -> Card:
    """Whether ``domain`` can take its next step towards enforcement, with every gate's
    evidence and the record to publish (the live record and SPF checked now)."""
    summary = await dmarc.summary(domain, READINESS_DAYS)
    results = await run_plan(
        CheckPlan((Step("dmarc", domain), Step("spf", domain)), from_person=True)
    )
    by_check = {r.check: r for r in results}
    live = by_check.get("dmarc")
    text = live.details.get("record") if live is not None else None
    record = parse_dmarc(text) if isinstance(text, str) else None
    verdict = assess(summary, record, live, by_check.get("spf"), today=today, gates=dmarc.gates)
    return readiness_card(verdict)


def uploads_answer(
    dmarc: DmarcReports, attachments: Sequence[Attachment], source: str
) -> Card | None:
    """The card for report files among ``attachments`` (taken in, not diagnosed); None when
    there are none."""
    reports = [a.data for a in attachments if a.data is not None and looks_like_report(a.data)]
    if not reports:
        return None
    return taken_card([r for data in reports for r in dmarc.take(data, source=source)])
