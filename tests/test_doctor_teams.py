"""``ndrbot doctor`` for Teams and the alert destinations: the app registration gets a token from
Microsoft Entra ID (a fake token service on loopback, over HTTPS, answered by real MSAL), each way
that goes wrong is named with its fix, and ``--send-test`` really posts to Slack and to Teams."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.doctor import Finding, Verdict
from bot.doctor.alerts import TEST_TEXT, check_alerts
from bot.doctor.teams import BOT_FRAMEWORK_SCOPE, check_teams
from bot.settings import Settings
from bot.store import open_database
from bot.store.chat import ChatStore
from tests.fakes.entra import FakeEntra
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.teams.openid import TokenIssuer
from tests.teams.test_auth import APP_ID as AUTH_APP_ID
from tests.teams.test_auth import OUTBOUND, loopback_authentication

APP_ID = "0f3c9a52-6d1e-4b7a-9c83-2e5f4a1b7d60"
SECRET = "app-secret-value-never-shown"
TENANT = "5d2a7c1e-8b4f-4e6a-9f3d-1c0b2a3e4d5f"
CHANNEL = "19:3a5b7c9d1e2f4a6b8c0d2e4f6a8b0c2d@thread.tacv2"


@pytest.fixture
async def entra(tmp_path: Path) -> AsyncIterator[FakeEntra]:
    async with FakeEntra(tmp_path) as fake:
        yield fake


def _token(found: list[Finding]) -> Finding:
    (token,) = [f for f in found if f.check == "token"]
    return token


async def _teams(entra: FakeEntra, **settings: object) -> list[Finding]:
    configured = Settings(microsoft_app_id=APP_ID, microsoft_app_password=SECRET).with_overrides(
        **settings
    )
    found = await check_teams(
        configured, login_url=entra.login_url, http_client=entra.session(), timeout=3.0
    )
    assert SECRET not in json.dumps([f.__dict__ for f in found], default=str)
    return found


async def test_a_multitenant_bot_gets_its_token_from_the_bot_framework_tenant(
    entra: FakeEntra,
) -> None:
    entra.register(APP_ID, SECRET, "botframework.com")
    found = await _teams(entra)
    assert _token(found).verdict is Verdict.PASS
    (asked,) = entra.requests
    assert (asked.tenant, asked.client_id, asked.scope) == (
        "botframework.com",
        APP_ID,
        BOT_FRAMEWORK_SCOPE,
    )
    endpoint = found[0]
    assert endpoint.check == "messaging endpoint" and "/api/messages" in endpoint.found


async def test_a_singletenant_bot_asks_its_own_tenant(entra: FakeEntra) -> None:
    entra.register(APP_ID, SECRET, TENANT)
    found = await _teams(entra, microsoft_app_type="SingleTenant", microsoft_app_tenant_id=TENANT)
    assert _token(found).verdict is Verdict.PASS
    assert [r.tenant for r in entra.requests] == [TENANT]


async def test_a_singletenant_app_configured_as_multitenant_is_named(entra: FakeEntra) -> None:
    entra.register(APP_ID, SECRET, TENANT)  # registered in its own tenant only
    token = _token(await _teams(entra))  # but MICROSOFT_APP_TYPE is left at MultiTenant
    assert token.verdict is Verdict.FAIL
    assert "not registered in tenant botframework.com" in token.found
    assert "MICROSOFT_APP_TYPE=SingleTenant" in token.fix


@pytest.mark.parametrize(
    ("expired", "found", "fix"),
    [
        (False, "refused the client secret", "not its Secret ID"),
        (True, "has expired", "create a new client secret"),
    ],
    ids=["wrong", "expired"],
)
async def test_a_bad_secret_is_a_failure_and_never_shown(
    entra: FakeEntra, expired: bool, found: str, fix: str
) -> None:
    entra.register(APP_ID, "the-current-secret" if not expired else SECRET, expired=expired)
    token = _token(await _teams(entra))
    assert token.verdict is Verdict.FAIL
    assert found in token.found and fix in token.fix


async def test_an_unknown_tenant_is_named(entra: FakeEntra) -> None:
    entra.register(APP_ID, SECRET, TENANT)
    token = _token(
        await _teams(
            entra, microsoft_app_type="SingleTenant", microsoft_app_tenant_id="contoso.invalid"
        )
    )
    assert token.verdict is Verdict.FAIL
    assert "does not know tenant contoso.invalid" in token.found
    assert "MICROSOFT_APP_TENANT_ID" in token.fix


async def test_an_unreachable_token_service_is_a_failure_not_a_hang() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"https://127.0.0.1:{probe.getsockname()[1]}/"
    settings = Settings(microsoft_app_id=APP_ID, microsoft_app_password=SECRET)
    token = _token(await check_teams(settings, login_url=dead, timeout=2.0))
    assert token.verdict is Verdict.FAIL and "could not be reached" in token.found


async def test_without_an_app_id_the_endpoint_must_stay_on_loopback() -> None:
    local = await check_teams(Settings())
    assert [f.verdict for f in local] == [Verdict.PASS, Verdict.SKIPPED]
    exposed = await check_teams(Settings(host="0.0.0.0"))
    assert exposed[0].verdict is Verdict.FAIL
    assert "refuses to start" in exposed[0].found and "MICROSOFT_APP_ID" in exposed[0].fix


async def test_a_managed_identity_is_skipped_with_the_reason() -> None:
    settings = Settings(
        microsoft_app_id=APP_ID,
        microsoft_app_type="UserAssignedMSI",
        microsoft_app_tenant_id=TENANT,
    )
    token = _token(await check_teams(settings))
    assert token.verdict is Verdict.SKIPPED and "Azure host" in token.found


def _teams_reference(connector: FakeTeamsConnector) -> dict[str, object]:
    return {
        "activityId": "1763629960000",
        "bot": {"id": f"28:{APP_ID}", "name": "ndrbot"},
        "conversation": {"id": CHANNEL, "conversationType": "channel", "isGroup": True},
        "channelId": "msteams",
        "serviceUrl": connector.service_url,
    }


def _both_destinations(db: str, slack: FakeSlackApi) -> Settings:
    """Alerts configured for a Slack channel (on the fake) and a Teams channel."""
    return Settings(
        db_path=db,
        slack_bot_token="xoxb-doctor",
        slack_signing_secret="s3cret",
        slack_api_url=slack.api_url,
        alert_slack_channel="C0ALERTS",
        alert_teams_conversation=CHANNEL,
    )


async def test_send_test_posts_to_slack_and_teams(tmp_path: Path) -> None:
    db = str(tmp_path / "ndrbot.sqlite3")
    async with FakeSlackApi(token="xoxb-doctor") as slack, FakeTeamsConnector() as connector:
        chat = ChatStore(open_database(str(db)))
        chat.save_reference("teams", CHANNEL, _teams_reference(connector))
        chat.db.close()
        settings = _both_destinations(db, slack)
        quiet = await check_alerts(settings, send_test=False)
        assert [f.verdict for f in quiet] == [Verdict.PASS, Verdict.SKIPPED]
        assert slack.calls_to("chat.postMessage") == [] and connector.calls == []
        found = {f.check: f for f in await check_alerts(settings, send_test=True)}
        (post,) = slack.calls_to("chat.postMessage")
        (sent,) = connector.calls_of("send")
    assert found["Slack test post"].verdict is Verdict.PASS
    assert found["Teams test post"].verdict is Verdict.PASS
    assert post.params["channel"] == "C0ALERTS" and post.params["text"] == TEST_TEXT
    assert sent.conversation_id == CHANNEL and TEST_TEXT in json.dumps(sent.card)


async def test_send_test_names_what_stops_each_post(tmp_path: Path) -> None:
    db = str(tmp_path / "ndrbot.sqlite3")
    ChatStore(
        open_database(str(db))
    ).db.close()  # served before, but never added to the Teams channel
    async with FakeSlackApi(token="xoxb-doctor") as slack:
        slack.fail("chat.postMessage", error="not_in_channel")
        settings = _both_destinations(db, slack)
        found = {f.check: f for f in await check_alerts(settings, send_test=True)}
    slack_post, teams_post = found["Slack test post"], found["Teams test post"]
    assert slack_post.verdict is Verdict.FAIL and "not_in_channel" in slack_post.found
    assert "/invite @ndrbot" in slack_post.fix
    assert teams_post.verdict is Verdict.FAIL and "add ndrbot to that team" in teams_post.found


async def test_no_destination_is_a_warning(tmp_path: Path) -> None:
    (found,) = await check_alerts(Settings(db_path=str(tmp_path / "x.sqlite3")), send_test=True)
    assert found.verdict is Verdict.WARN and "/ndrbot alerts" in found.fix


async def test_the_alert_checks_change_nothing_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "never-served.sqlite3"
    settings = Settings(db_path=str(db), alert_teams_conversation=CHANNEL)
    found = {f.check: f for f in await check_alerts(settings, send_test=True)}
    assert found["destination"].verdict is Verdict.PASS  # from the settings
    assert found["Teams test post"].verdict is Verdict.FAIL
    assert "never been added" in found["Teams test post"].found
    opened = open_database(str(db))
    applied = opened.conn.execute("SELECT name FROM schema_migrations").fetchall()
    assert applied == []  # no migration ran, so nothing could be pruned either


async def test_an_authenticated_test_post_carries_the_bot_token(tmp_path: Path) -> None:
    db = str(tmp_path / "ndrbot.sqlite3")
    async with FakeTeamsConnector() as connector:
        chat = ChatStore(open_database(str(db)))
        chat.save_reference("teams", CHANNEL, _teams_reference(connector))
        chat.db.close()
        settings = Settings(
            db_path=db,
            microsoft_app_id=AUTH_APP_ID,
            microsoft_app_password=SECRET,
            alert_teams_conversation=CHANNEL,
        )
        with TokenIssuer() as issuer:
            found = await check_alerts(
                settings, send_test=True, teams_authentication=loopback_authentication(issuer)
            )
        (sent,) = connector.calls_of("send")
    assert found[-1].verdict is Verdict.PASS
    assert sent.headers.get("Authorization") == f"Bearer {OUTBOUND}"
