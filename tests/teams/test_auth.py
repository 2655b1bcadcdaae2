"""Bot Framework authentication with an app id configured.

Two set-ups, because Microsoft's token service is out of reach here:

- the production configuration (public cloud, built from the settings) for every *rejection*:
  a missing, malformed, foreign or unsigned token never needs the network to be refused;
- botbuilder's own parameterised authentication (``BotFrameworkAuthenticationFactory``), pointed
  at a token issuer on loopback, for the *accepted* path end to end: a signed connector token in,
  the card out to the connector with our outbound token. Outbound tokens come from a
  ``ServiceClientCredentialsFactory`` that returns a fixed bearer token - botbuilder's seam for
  credentials - instead of MSAL asking login.microsoftonline.com.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from botframework.connector.auth import (
    AuthenticationConfiguration,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    ServiceClientCredentialsFactory,
)
from msrest.authentication import Authentication, BasicTokenAuthentication

from bot.settings import Settings
from bot.store import open_database
from bot.store.chat import ChatStore
from bot.teams import TeamsIntegration
from handlers.checks.resolver import DnsClient
from knowledge import Catalogue
from tests.dns.server import LoopbackDns
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.teams.conftest import TeamsBed, make_router
from tests.teams.openid import ISSUER, TokenIssuer

APP_ID = "0f3c9a52-6d1e-4b7a-9c83-2e5f4a1b7d60"
SECRET = "s3cr3t-app-password-value"
OUTBOUND = "outbound-test-token"


class FixedTokenCredentials(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Outbound credentials for our app id: a fixed bearer token, no identity provider."""

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == APP_ID

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Authentication:
        assert app_id == APP_ID
        return BasicTokenAuthentication({"access_token": OUTBOUND})


def loopback_authentication(issuer: TokenIssuer) -> BotFrameworkAuthentication:
    """botbuilder's parameterised authentication, trusting only ``issuer``."""
    return BotFrameworkAuthenticationFactory.create(
        validate_authority=False,
        to_channel_from_bot_login_url="https://login.invalid/botframework.com",
        to_channel_from_bot_oauth_scope="https://api.botframework.com",
        to_bot_from_channel_token_issuer=ISSUER,
        oauth_url="https://token.invalid/",
        to_bot_from_channel_open_id_metadata_url=issuer.metadata_url,
        to_bot_from_emulator_open_id_metadata_url=issuer.metadata_url,
        credential_factory=FixedTokenCredentials(),
        auth_configuration=AuthenticationConfiguration(),
    )


@pytest.fixture
def issuer() -> Iterator[TokenIssuer]:
    with TokenIssuer() as running:
        yield running


async def _bed(
    catalogue: Catalogue,
    dns_server: LoopbackDns,
    connector: FakeTeamsConnector,
    authentication: BotFrameworkAuthentication | None,
) -> AsyncIterator[TeamsBed]:
    store = ChatStore(open_database(":memory:"))
    router = make_router(
        catalogue, store, DnsClient([dns_server.nameserver], timeout=0.5), alert_commands=[]
    )
    settings = Settings(host="0.0.0.0", microsoft_app_id=APP_ID, microsoft_app_password=SECRET)
    teams = TeamsIntegration(settings, router, store, authentication=authentication)
    app = Application()
    teams.attach(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield TeamsBed(client, connector, store, router, teams, [])


@pytest.fixture
async def production(
    catalogue: Catalogue, dns_server: LoopbackDns, fake_teams_connector: FakeTeamsConnector
) -> AsyncIterator[TeamsBed]:
    """The endpoint as ``ndrbot serve`` builds it with an app id (public cloud)."""
    async for bed in _bed(catalogue, dns_server, fake_teams_connector, None):
        yield bed


@pytest.fixture
async def loopback(
    catalogue: Catalogue,
    dns_server: LoopbackDns,
    fake_teams_connector: FakeTeamsConnector,
    issuer: TokenIssuer,
) -> AsyncIterator[TeamsBed]:
    """The endpoint trusting the loopback token issuer."""
    async for bed in _bed(
        catalogue, dns_server, fake_teams_connector, loopback_authentication(issuer)
    ):
        yield bed


def _unsigned(issuer: str) -> str:
    claims = {"iss": issuer, "aud": APP_ID, "exp": int(time.time()) + 600}
    return jwt.encode(claims, "not-the-key-" * 4, algorithm="HS256")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNzd29yZA==",
        f"Bearer {_unsigned('https://evil.example')}",
    ],
)
async def test_without_a_valid_token_activities_get_401_and_no_reply(
    production: TeamsBed, header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {} if header is None else {"Authorization": header}
    with caplog.at_level(logging.DEBUG):
        status = await production.post(production.activity("channel_bounce_paste"), **headers)
    assert status == 401
    assert production.connector.calls == []
    assert SECRET not in caplog.text and "not-a-jwt" not in caplog.text


async def test_a_signed_connector_token_is_accepted_and_replies_carry_our_token(
    loopback: TeamsBed, issuer: TokenIssuer
) -> None:
    activity = loopback.activity("channel_bounce_paste")
    token = issuer.token(audience=APP_ID, service_url=activity["serviceUrl"])
    assert await loopback.post(activity, Authorization=f"Bearer {token}") == 200
    ((reply, card),) = loopback.cards()
    assert reply.headers["Authorization"] == f"Bearer {OUTBOUND}"
    assert card["type"] == "AdaptiveCard"


@pytest.mark.parametrize(
    "problem", ["other app", "other serviceUrl", "expired", "other key", "other channel"]
)
async def test_tokens_for_something_else_are_refused(
    loopback: TeamsBed, issuer: TokenIssuer, problem: str
) -> None:
    activity = loopback.activity("channel_bounce_paste")
    audience, service_url, claims = APP_ID, activity["serviceUrl"], {}
    if problem == "other app":
        audience = "11111111-2222-3333-4444-555555555555"
    elif problem == "other serviceUrl":
        service_url = "https://smba.trafficmanager.net/emea/"
    elif problem == "expired":
        claims = {"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200}
    elif problem == "other channel":
        activity["channelId"] = "slack"  # the signing key is endorsed for msteams only
    token = issuer.token(audience=audience, service_url=service_url, **claims)
    if problem == "other key":
        with TokenIssuer() as stranger:
            token = stranger.token(audience=APP_ID, service_url=service_url)
    assert await loopback.post(activity, Authorization=f"Bearer {token}") == 401
    assert loopback.connector.calls == []


async def test_proactive_posts_are_sent_as_the_bot_with_our_token(
    loopback: TeamsBed, issuer: TokenIssuer
) -> None:
    activity = loopback.activity("team_bot_added")
    token = issuer.token(audience=APP_ID, service_url=activity["serviceUrl"])
    assert await loopback.post(activity, Authorization=f"Bearer {token}") == 200
    channel = activity["conversation"]["id"]
    message_id = await loopback.teams.poster.post(channel, loopback.router.help())
    (post,) = loopback.connector.calls_of("send")
    assert post.headers["Authorization"] == f"Bearer {OUTBOUND}" and message_id


async def test_without_a_token_even_a_malformed_body_gets_401(production: TeamsBed) -> None:
    response = await production.client.post(
        "/api/messages", data=b"{not json", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 401
