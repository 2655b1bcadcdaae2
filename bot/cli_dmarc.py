"""``ndrbot dmarc ingest PATH...`` and ``ndrbot dmarc report DOMAIN [--days N]``.

``ingest`` takes a report file (XML, .xml.gz, .zip), a message with one attached, a folder of
them, an mbox or a Maildir (the rua mailbox exported or synced), and stores each report once.
``report`` prints what ``/dmarcreport`` shows in chat.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_table import help_for
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.dmarc import Dmarc

__all__ = ["register"]

DEFAULT_DAYS = 30


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``dmarc`` with its actions ``ingest`` and ``report``."""
    dmarc = sub.add_parser("dmarc", help=help_for("dmarc"))
    actions = dmarc.add_subparsers(dest="dmarc_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "ingest", help="store the reports in files, folders, an mbox or a Maildir (once each)"
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=_ingest)
    p = actions.add_parser("report", help="a domain's senders and DMARC results, as in chat")
    p.add_argument("domain")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS, help="how far back (default 30)")
    p.add_argument("--chart", metavar="FILE", help="also write the chart (PNG) to FILE")
    p.set_defaults(func=_report)


def _dmarc(settings: Settings, *, dns: bool) -> Dmarc:
    from bot.dmarc import Dmarc
    from bot.services import build_services

    services = build_services(settings)
    return Dmarc(
        services.db, services.catalogue, services.dns if dns else None, clock=services.clock
    )


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_watch import messages_in

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"ndrbot dmarc ingest: {missing[0]} does not exist", file=sys.stderr)
        return 2
    dmarc = _dmarc(settings, dns=False)
    counts: dict[str, int] = {}
    for path in map(Path, args.paths):
        for name, raw in messages_in(path):
            for result in dmarc.ingest(raw, source=f"ingest:{path.name}"[:100]):
                counts[result.status] = counts.get(result.status, 0) + 1
                print(f"{name}: {result.status}: {result.message}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"\n{summary or 'nothing found'}")
    return 1 if counts.get("refused") and not counts.get("stored") else 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render.text import render_text
    from handlers.checks.names import normalise_domain
    from handlers.checks.result import InvalidTarget
    from handlers.dmarc.cards import report_card

    try:
        domain = normalise_domain(args.domain)
    except InvalidTarget as error:
        print(f"ndrbot dmarc report: {error}", file=sys.stderr)
        return 2
    if not 1 <= args.days <= 366:
        print("ndrbot dmarc report: --days must be between 1 and 366", file=sys.stderr)
        return 2
    dmarc = _dmarc(settings, dns=True)
    summary = asyncio.run(dmarc.summary(domain, args.days))
    print(render_text(report_card(summary)))
    if args.chart:
        from bot.render.charts import dmarc_chart

        if not summary.per_day:
            print(f"ndrbot dmarc report: no reports to chart for {domain}", file=sys.stderr)
            return 1
        Path(args.chart).write_bytes(dmarc_chart(summary))
        print(f"\nChart written to {args.chart}")
    return 0
