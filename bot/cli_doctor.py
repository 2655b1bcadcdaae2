"""``ndrbot doctor [--json] [--send-test]``: what is wrong with this setup, and how to fix it.

Every setting is read and validated first (a bad one stops here with its name, as for every
command); then the resolvers, the database, Slack, Teams and the alert destinations are checked live.
Exit status 0 when nothing failed, 1 when something did.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli_table import help_for
from bot.doctor import Finding, Verdict, exit_status, render_json, render_text
from bot.services import utc_now
from bot.settings import Settings

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``doctor`` subcommand."""
    parser = sub.add_parser("doctor", help=help_for("doctor"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--send-test",
        action="store_true",
        help="also post a short test message to each alert destination (Slack, Teams)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run every check and print the findings; 0 when nothing failed."""
    findings = asyncio.run(_doctor(settings, send_test=bool(args.send_test)))
    print(render_json(findings) if args.json else render_text(findings))
    sys.stdout.flush()
    return exit_status(findings)


async def _doctor(settings: Settings, *, send_test: bool) -> list[Finding]:
    from bot.doctor.alerts import check_alerts
    from bot.doctor.quick import resolver_checks
    from bot.doctor.slack import check_slack
    from bot.doctor.storage import check_storage
    from bot.doctor.teams import check_teams

    findings = [*_settings(settings)]
    findings += await resolver_checks(
        settings, blocklists=True, timeout=settings.dns_timeout, deadline=settings.check_deadline
    )
    findings += check_storage(settings.db_path)
    findings += await check_slack(settings, utc_now())
    findings += await check_teams(settings)
    findings += await check_alerts(settings, send_test=send_test)
    return findings


def _settings(settings: Settings) -> list[Finding]:
    platforms = []
    if settings.slack_enabled:
        platforms.append("Slack")
    if settings.microsoft_app_id:
        platforms.append("Teams")
    found = ", ".join(platforms) or "no chat platform (the console and the CLI work without one)"
    return [Finding("settings", "read and valid", Verdict.PASS, f"configured: {found}")]
