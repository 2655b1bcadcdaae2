"""Alerts: a destination is set (chosen in chat with ``/ndrbot alerts`` or by setting), and, only
with ``--send-test``, the bot can really post there: ``chat.postMessage`` to the Slack channel, a
proactive message through the Bot Framework to the Teams conversation."""

from __future__ import annotations

from typing import Any

from bot.doctor import Finding, Verdict
from bot.settings import Settings
from bot.store.chat import ChatStore

__all__ = ["check_alerts"]

TEST_TEXT = "ndrbot doctor: a test post. Alerts will arrive here."


def _destinations(settings: Settings, chat: ChatStore) -> tuple[str | None, str | None]:
    """The channels chosen in chat (``/ndrbot alerts``) over those in the settings."""
    from bot.alerts.commands import ALERT_CHANNEL_SETTING

    if chat.db.has_table("settings"):
        slack = chat.setting(ALERT_CHANNEL_SETTING.format(platform="slack"))
        teams = chat.setting(ALERT_CHANNEL_SETTING.format(platform="teams"))
    else:  # ndrbot serve never opened this database: none chosen
        slack = teams = None
    return slack or settings.alert_slack_channel, teams or settings.alert_teams_conversation


async def _slack_post(settings: Settings, channel: str) -> Finding:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.doctor.slack import slack_error_code

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        await client.chat_postMessage(channel=channel, text=TEST_TEXT)
    except SlackApiError as error:
        code = slack_error_code(error)
        return Finding(
            "alerts",
            "Slack test post",
            Verdict.FAIL,
            f"Slack refused the post to {channel} ({code})",
            "invite ndrbot to that channel (/invite @ndrbot), or choose another",
        )
    except Exception as error:
        return Finding(
            "alerts",
            "Slack test post",
            Verdict.FAIL,
            f"{settings.slack_api_url} could not be reached ({type(error).__name__})",
        )
    return Finding("alerts", "Slack test post", Verdict.PASS, f"posted to {channel}")


async def _teams_post(
    settings: Settings, chat: ChatStore, conversation: str, authentication: Any
) -> Finding:
    from botbuilder.integration.aiohttp import CloudAdapter

    from bot.platform import DeliveryError
    from bot.teams import TeamsIntegration, TeamsPoster
    from handlers.card import Card, Tone

    shown = conversation[:60]
    if not chat.db.has_table("conversation_refs"):  # a database ndrbot serve never opened
        return Finding(
            "alerts",
            "Teams test post",
            Verdict.FAIL,
            f"ndrbot has never been added to {shown}, so it may not post there",
            "start ndrbot serve, add ndrbot to that team or chat and @mention it once there",
        )
    try:
        auth = authentication or TeamsIntegration.authentication_for(settings)
    except Exception as error:  # settings botbuilder cannot use
        return Finding("alerts", "Teams test post", Verdict.FAIL, str(error)[:200])
    poster = TeamsPoster(CloudAdapter(auth), chat, settings.microsoft_app_id)
    card = Card(title="ndrbot doctor", tone=Tone.INFO, summary=TEST_TEXT)
    try:
        await poster.post(conversation, card)
    except DeliveryError as error:
        return Finding(
            "alerts",
            "Teams test post",
            Verdict.FAIL,
            f"the post to {shown} failed: {error}"[:300],
            "add ndrbot to that team or chat and @mention it once there; if the token failed, "
            "see the teams section above",
        )
    return Finding("alerts", "Teams test post", Verdict.PASS, f"posted to {shown}")


async def check_alerts(
    settings: Settings, *, send_test: bool, teams_authentication: Any = None
) -> list[Finding]:
    """Where alerts go, and (with ``send_test``) a real post to each destination.

    ``teams_authentication`` is botbuilder's authentication to post with (a seam for tests; by
    default it is built from the settings, as ``ndrbot serve`` builds it)."""
    from bot.store import StoreUnavailable, open_database

    try:
        chat = ChatStore.read_only(open_database(settings.db_path))  # the doctor changes nothing
    except StoreUnavailable as error:  # the storage check says why; here: nothing to read
        return [
            Finding(
                "alerts",
                "destination",
                Verdict.FAIL,
                f"the alert channel chosen in chat cannot be read: {error}",
                "fix NDRBOT_DB first (see the storage checks above)",
            )
        ]
    try:
        slack, teams = _destinations(settings, chat)
        if not slack and not teams:
            return [
                Finding(
                    "alerts",
                    "destination",
                    Verdict.WARN,
                    "no alert channel is set: watch alerts and trends have nowhere to go",
                    "type /ndrbot alerts here in the IT channel, or set "
                    "NDRBOT_ALERT_SLACK_CHANNEL / NDRBOT_ALERT_TEAMS_CONVERSATION",
                )
            ]
        where = ", ".join(
            x for x in (f"Slack {slack}" if slack else "", f"Teams {teams}" if teams else "") if x
        )
        out = [Finding("alerts", "destination", Verdict.PASS, where)]
        if not send_test:
            out.append(
                Finding("alerts", "test post", Verdict.SKIPPED, "run with --send-test to post one")
            )
            return out
        if slack and settings.slack_bot_token:
            out.append(await _slack_post(settings, slack))
        elif slack:
            out.append(
                Finding("alerts", "Slack test post", Verdict.SKIPPED, "SLACK_BOT_TOKEN is not set")
            )
        if teams:
            out.append(await _teams_post(settings, chat, teams, teams_authentication))
        return out
    finally:
        chat.db.close()
