"""``ndrbot watch ...`` and ``ndrbot ingest PATH``: the watch list and NDR intake from a terminal.

The CLI acts as an administrator and is recorded as ``cli:<os user>``. It shares the database
(``NDRBOT_DB``) with ``ndrbot serve``: alerts it queues are posted by the server's outbox worker,
or by the CLI itself when Slack is configured here too (``run-once``, ``ingest``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import mailbox
import sys
from collections.abc import Iterator
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from bot.alerts import Alerts
from bot.cli_table import help_for
from bot.render.text import render_text
from bot.services import build_alerts, build_posters, build_services
from bot.settings import Settings
from bot.store.alerts import NewAlert
from handlers.checks.result import InvalidTarget
from handlers.refusals import Refusal
from handlers.watch.cards import unreadable_card
from handlers.watch.commands import WatchRequest, parse_target
from handlers.watch.model import WatchKind

__all__ = ["cli_user", "messages_in", "register"]


def cli_user() -> str:
    """``cli:<os user>``: how changes made from the terminal are recorded."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in a bare container
        return "cli:unknown"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``watch`` (add, remove, list, run-once) and ``ingest``."""
    watch = sub.add_parser(
        "watch",
        help=help_for("watch"),
        description="Manage watches. Changes are recorded as made by cli:<your user name>.",
    )
    wsub = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    p = wsub.add_parser("add", help="watch a domain (SPF, DMARC, DKIM, MX) or an IP (blocklists)")
    p.add_argument("kind", choices=("domain", "ip"))
    p.add_argument("target")
    p.add_argument("selectors", nargs="*", metavar="SELECTOR", help="DKIM selectors to check")
    p.set_defaults(func=_change, action="add")
    p = wsub.add_parser("remove", help="stop watching a domain or IP")
    p.add_argument("kind", choices=("domain", "ip"))
    p.add_argument("target")
    p.set_defaults(func=_change, action="remove", selectors=[])
    p = wsub.add_parser("list", help="what is watched, by whom, and its state")
    p.set_defaults(func=_list)
    p = wsub.add_parser("run-once", help="check every watch now and queue (and send) alerts")
    p.set_defaults(func=_run_once)

    ingest = sub.add_parser(
        "ingest",
        help=help_for("ingest"),
        description="Each message is kept, diagnosed and counted for trends like POST /api/ndr.",
    )
    ingest.add_argument("path", metavar="PATH")
    ingest.set_defaults(func=_ingest)


def _change(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    try:
        kind = WatchKind(args.kind)
        target = parse_target(kind, args.target)
    except InvalidTarget as bad:
        print(f"ndrbot watch: {bad}", file=sys.stderr)
        return 2
    request = WatchRequest(args.action, kind, target, tuple(s.lower() for s in args.selectors))
    card = build_alerts(services).commands.apply(request, cli_user())
    print(render_text(card))
    services.close()
    return 0 if card.tone in ("success", "info") else 1


def _list(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    print(render_text(build_alerts(services).commands.apply(WatchRequest("list"), cli_user())))
    services.close()
    return 0


async def _deliver_and_report(alerts: Alerts, before: int) -> None:
    new = alerts.store.alerts()[before:]
    for _kind, _subject, card in new:
        print(render_text(card), end="\n\n")
    if not new:
        return
    if not alerts.destinations():
        print("No alert channel is set (NDRBOT_ALERT_SLACK_CHANNEL, or /ndrbot alerts here).")
        return
    sent = await alerts.deliver_once()
    pending = sum(1 for row in alerts.store.outbox() if not row["sent_at"] and not row["failed_at"])
    print(f"{sent} alert post(s) sent; {pending} waiting for `ndrbot serve` to deliver.")


def _run_once(args: argparse.Namespace, settings: Settings) -> int:
    services = build_services(settings)
    alerts = build_alerts(services, build_posters(settings))

    async def run() -> None:
        """Sweep, then print and deliver what it queued."""
        before = len(alerts.store.alerts())
        report = await alerts.run_once()
        print(f"Checked {report.watches} watch(es); {report.alerts} new alert(s).")
        await _deliver_and_report(alerts, before)

    asyncio.run(run())
    services.close()
    return 0


def messages_in(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, raw bytes)`` of each message in a file, an mbox, a Maildir or a folder of files."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield f"{path.name}/{key}", box.get_bytes(key)
            return
        for child in sorted(p for p in path.iterdir() if p.is_file()):
            yield child.name, child.read_bytes()
        return
    with path.open("rb") as handle:
        head = handle.read(5)
    if head == b"From ":  # mboxrd/mboxo: each message starts with a "From " line
        mbox = mailbox.mbox(path, factory=None, create=False)
        for number, key in enumerate(mbox.keys(), start=1):
            yield f"{path.name}#{number}", mbox.get_bytes(key)
        mbox.close()
        return
    yield path.name, path.read_bytes()


def _date(raw: bytes) -> datetime | None:
    """When a bounce was sent (its Date header), so an old mailbox does not look like a burst."""
    value = BytesHeaderParser().parsebytes(raw[:65536]).get("Date")
    try:
        when = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    return when if when is not None and when.tzinfo is not None else None


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.path)
    if not path.exists():
        print(f"ndrbot ingest: {path} does not exist", file=sys.stderr)
        return 2
    services = build_services(settings)
    alerts = build_alerts(services, build_posters(settings))
    before = len(alerts.store.alerts())
    counts: dict[str, int] = {}
    unreadable: list[int] = []
    for name, raw in messages_in(path):
        try:
            result = alerts.intake.take(
                raw, source=f"ingest:{path.name}", at=_date(raw), alert=False
            )
        except Refusal as refusal:
            print(f"{name}: skipped: {refusal}")
            counts["skipped"] = counts.get("skipped", 0) + 1
            continue
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status == "unreadable":
            unreadable.append(result.intake_id)
        print(
            f"{name}: {result.status} {result.family or ''} (intake #{result.intake_id})".rstrip()
        )
    if unreadable:
        # One alert for the whole run, not one per message.
        card = unreadable_card(
            intake_id=unreadable[0],
            size=0,
            source=f"ingest:{path.name}",
            subject=None,
            reason=f"{len(unreadable)} message(s) from {path.name}",
            others=len(unreadable) - 1,
        )
        alerts.store.enqueue(
            NewAlert(
                key=f"unreadable:ingest:{unreadable[0]}",
                kind="unreadable",
                subject=f"ingest {path.name}",
                card=card,
                destinations=alerts.destinations(),
            ),
            at=services.clock(),
        )
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no messages")
    asyncio.run(_deliver_and_report(alerts, before))
    services.close()
    return 1 if unreadable or counts.get("skipped") or counts.get("garbage") else 0
