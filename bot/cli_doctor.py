"""``ndrbot doctor [--json] [--send-test]``: what is wrong with this setup, and how to fix it.

Every setting is read and validated first (a bad one stops here with its name, as for every
command); then the resolvers, the database, Slack and the alert destination are checked live.
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
        help="also post a short test message to the Slack alert channel",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run every check and print the findings; 0 when nothing failed."""
    findings = asyncio.run(_doctor(settings, send_test=bool(args.send_test)))
    print(render_json(findings) if args.json else render_text(findings))
    sys.stdout.flush()
    return exit_status(findings)


async def _doctor(settings: Settings, *, send_test: bool) -> list[Finding]:
    from bot.doctor.quick import resolver_checks
    from bot.doctor.slack import check_slack
    from bot.doctor.storage import check_storage

    findings = [*_settings(settings)]
    findings += await resolver_checks(
        settings, blocklists=True, timeout=settings.dns_timeout, deadline=settings.check_deadline
    )
    findings += check_storage(settings.db_path)
    findings += await check_slack(settings, utc_now())
    findings += _teams(settings)
    findings += await _alerts(settings, send_test=send_test)
    return findings


def _settings(settings: Settings) -> list[Finding]:
    platforms = []
    if settings.slack_enabled:
        platforms.append("Slack")
    if settings.microsoft_app_id:
        platforms.append("Teams")
    found = ", ".join(platforms) or "no chat platform (the console and the CLI work without one)"
    return [Finding("settings", "read and valid", Verdict.PASS, f"configured: {found}")]


def _teams(settings: Settings) -> list[Finding]:
    if not settings.microsoft_app_id:
        return [
            Finding("teams", "app registration", Verdict.SKIPPED, "MICROSOFT_APP_ID is not set")
        ]
    return [
        Finding(
            "teams",
            "token",
            Verdict.SKIPPED,
            "obtaining a Bot Framework token is not checked by this version",
        )
    ]


async def _alerts(settings: Settings, *, send_test: bool) -> list[Finding]:
    from bot.alerts.commands import ALERT_CHANNEL_SETTING
    from bot.store import Database
    from bot.store.chat import ChatStore

    chat = ChatStore(Database(settings.db_path))
    chosen = chat.setting(ALERT_CHANNEL_SETTING.format(platform="slack"))
    chosen = chosen or settings.alert_slack_channel
    teams = chat.setting(ALERT_CHANNEL_SETTING.format(platform="teams"))
    teams = teams or settings.alert_teams_conversation
    chat.db.close()
    if not chosen and not teams:
        return [
            Finding(
                "alerts",
                "destination",
                Verdict.WARN,
                "no alert channel is set: watch alerts and trends have nowhere to go",
                "type /ndrbot alerts here in the IT channel, or set NDRBOT_ALERT_SLACK_CHANNEL",
            )
        ]
    where = ", ".join(
        x for x in (f"Slack {chosen}" if chosen else "", f"Teams {teams}" if teams else "") if x
    )
    out = [Finding("alerts", "destination", Verdict.PASS, where)]
    if not (send_test and chosen and settings.slack_bot_token):
        out.append(
            Finding("alerts", "test post", Verdict.SKIPPED, "run with --send-test to post one")
        )
        return out
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        await client.chat_postMessage(
            channel=chosen, text="ndrbot doctor: a test post. Alerts will arrive here."
        )
    except SlackApiError as error:
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        out.append(
            Finding(
                "alerts",
                "test post",
                Verdict.FAIL,
                f"Slack refused the post to {chosen} ({code})",
                "invite ndrbot to that channel (/invite @ndrbot), or choose another",
            )
        )
        return out
    out.append(Finding("alerts", "test post", Verdict.PASS, f"posted to {chosen}"))
    return out
