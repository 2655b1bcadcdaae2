"""Slack: the bot token works (``auth.test``), it has every scope the app needs (Slack lists the
granted ones in the ``X-OAuth-Scopes`` response header), the mode's other secret is set, and this
machine's clock agrees with Slack's (request signatures allow five minutes)."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bot.doctor import Finding, Verdict
from bot.settings import Settings
from bot.slack.scopes import BOT_SCOPES

__all__ = ["check_slack", "slack_error_code"]

CLOCK_WARN_SECONDS = 60.0


def slack_error_code(error: Any) -> str | None:
    """The ``error`` of a refused Slack call (``invalid_auth``), or None when Slack gave none."""
    data = getattr(error.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else None


async def _socket_mode(settings: Settings) -> Finding:
    """Socket Mode: the app-level token can open a connection (``apps.connections.open``)."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(base_url=settings.slack_api_url)
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token or "")
    except SlackApiError as error:
        code = slack_error_code(error)
        return Finding(
            "slack",
            "mode",
            Verdict.FAIL,
            f"Socket Mode: apps.connections.open refused the app token ({code})",
            "create an app-level token with connections:write (Basic Information > App-Level "
            "Tokens) and enable Socket Mode",
        )
    except Exception as error:
        return Finding(
            "slack", "mode", Verdict.FAIL, f"Socket Mode: no answer ({type(error).__name__})"
        )
    return Finding("slack", "mode", Verdict.PASS, "Socket Mode: the app token opens a connection")


async def check_slack(settings: Settings, now: datetime) -> list[Finding]:
    """The Slack checks; skipped as a whole when no bot token is set."""
    if not settings.slack_bot_token:
        return [Finding("slack", "bot token", Verdict.SKIPPED, "SLACK_BOT_TOKEN is not set")]
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        response = await client.auth_test()
    except SlackApiError as error:
        code = slack_error_code(error)
        return [
            Finding(
                "slack",
                "bot token",
                Verdict.FAIL,
                f"auth.test refused the token ({code or error.response.status_code})",
                "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
            )
        ]
    except Exception as error:  # the API cannot be reached at all
        return [
            Finding(
                "slack",
                "bot token",
                Verdict.FAIL,
                f"{settings.slack_api_url} could not be reached ({type(error).__name__})",
                "check outbound HTTPS to slack.com (proxy, firewall), or SLACK_API_URL",
            )
        ]
    out = [
        Finding(
            "slack",
            "bot token",
            Verdict.PASS,
            f"works for team {response.get('team')} as {response.get('user')}",
        )
    ]
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    granted = {s.strip() for s in str(headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    if not granted:
        out.append(
            Finding("slack", "scopes", Verdict.WARN, "Slack did not list the granted scopes")
        )
    elif missing:
        out.append(
            Finding(
                "slack",
                "scopes",
                Verdict.FAIL,
                "missing " + "; ".join(f"{s} ({BOT_SCOPES[s]})" for s in missing),
                "add them under OAuth & Permissions (or re-create the app from "
                "deploy/slack/manifest.yaml), then reinstall the app to the workspace",
            )
        )
    else:
        out.append(Finding("slack", "scopes", Verdict.PASS, f"all {len(BOT_SCOPES)} granted"))
    if settings.slack_app_token:
        out.append(await _socket_mode(settings))
    elif settings.slack_signing_secret:
        out.append(Finding("slack", "mode", Verdict.PASS, "HTTP (SLACK_SIGNING_SECRET set)"))
    date = headers.get("date")
    if date:
        try:
            skew = abs((parsedate_to_datetime(str(date)) - now).total_seconds())
        except (TypeError, ValueError):
            skew = None
        if skew is not None and skew > CLOCK_WARN_SECONDS:
            out.append(
                Finding(
                    "slack",
                    "clock",
                    Verdict.WARN,
                    f"this machine's clock is {skew:.0f} s away from Slack's; signatures fail "
                    "beyond 300 s",
                    "run time synchronisation (chrony, systemd-timesyncd)",
                )
            )
        elif skew is not None:
            out.append(Finding("slack", "clock", Verdict.PASS, f"within {skew:.0f} s of Slack's"))
    return out
