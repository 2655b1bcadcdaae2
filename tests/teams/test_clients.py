"""botbuilder's Bot Connector and token clients are made once per bot and service URL, not for
every activity (each costs the event loop about 2.5 ms), and every activity is still answered at
its own service URL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
)

from bot.settings import Settings
from bot.store import open_database
from bot.store.chat import ChatStore
from bot.teams import TeamsIntegration
from bot.teams.clients import ReusedClients
from handlers.checks.resolver import DnsClient
from knowledge import Catalogue
from tests.dns.server import LoopbackDns
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.teams.conftest import load_activity, make_router


class _Counting(BotFrameworkAuthentication):
    """botbuilder's own authentication, counting the clients it is asked to make."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self.inner = inner
        self.connectors: list[tuple[str, str | None]] = []
        self.token_clients = 0

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        result = await self.inner.authenticate_request(activity, auth_header)
        result.connector_factory = self._counted(result.connector_factory)
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel: str) -> Any:
        return await self.inner.authenticate_streaming_request(auth_header, channel)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._counted(self.inner.create_connector_factory(claims_identity))

    def _counted(self, factory: ConnectorFactory) -> ConnectorFactory:
        made = self.connectors

        class Counted(ConnectorFactory):
            async def create(self, service_url: str, audience: Any = None) -> Any:
                made.append((service_url, audience))
                return await factory.create(service_url, audience)

        return Counted()

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        self.token_clients += 1
        return await self.inner.create_user_token_client(claims_identity)


async def test_many_activities_share_one_connector_client_and_each_is_answered(
    catalogue: Catalogue, dns_server: LoopbackDns, fake_teams_connector: FakeTeamsConnector
) -> None:
    settings = Settings(max_paste_bytes=256 * 1024)
    counting = _Counting(TeamsIntegration.authentication_for(settings))
    store = ChatStore(open_database(":memory:"))
    dns = DnsClient([dns_server.nameserver], timeout=0.5, deadline=3.0)
    teams = TeamsIntegration(
        settings, make_router(catalogue, store, dns, []), store, authentication=counting
    )
    app = Application()
    teams.attach(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for n in range(4):
            activity = load_activity("channel_bounce_paste", fake_teams_connector.service_url)
            activity["id"] = f"1700000000{n:03d}"
            response = await client.post("/api/messages", json=activity)
            assert response.status == 200
            await teams.idle()
    await teams.stop()
    replies = [c for c in fake_teams_connector.calls if c.card is not None]
    assert len(replies) >= 4  # every paste was answered (a card each, in its thread)
    assert {c.kind for c in replies} <= {"reply", "send", "update"}
    assert len(counting.connectors) == 1  # not one per activity
    assert counting.token_clients == 1


class _Inner(BotFrameworkAuthentication):
    """Makes a new, distinct client each time it is asked."""

    def __init__(self) -> None:
        self.made = 0

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        result = AuthenticateRequestResult()
        result.claims_identity = _claims(auth_header)
        result.audience = "https://api.botframework.com"
        result.connector_factory = self.create_connector_factory(result.claims_identity)
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel: str) -> Any:
        raise NotImplementedError

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self

        class Factory(ConnectorFactory):
            async def create(self, service_url: str, audience: Any = None) -> Any:
                inner.made += 1
                return ("client", service_url, audience, inner.made)

        return Factory()

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        self.made += 1
        return ("tokens", self.made)


def _claims(app_id: str | None) -> ClaimsIdentity:
    claims = {AuthenticationConstants.AUDIENCE_CLAIM: app_id} if app_id else {}
    return ClaimsIdentity(claims, is_authenticated=app_id is not None)


async def test_a_client_is_kept_per_bot_service_url_and_audience() -> None:
    reused = ReusedClients(_Inner())
    emea, amer = "https://smba.trafficmanager.net/emea/", "https://smba.trafficmanager.net/amer/"
    bot = _claims("0f3c9a52-6d1e-4b7a-9c83-2e5f4a1b7d60")
    first = await reused.create_connector_factory(bot).create(emea, "api://botframework")
    again = await reused.create_connector_factory(bot).create(emea, "api://botframework")
    assert again is first
    other_region = await reused.create_connector_factory(bot).create(amer, "api://botframework")
    other_bot = await reused.create_connector_factory(_claims("another-bot")).create(
        emea, "api://botframework"
    )
    anonymous = await reused.create_connector_factory(_claims(None)).create(emea, None)
    assert len({id(first), id(other_region), id(other_bot), id(anonymous)}) == 4
    assert other_region[1] == amer  # each answer goes to its own activity's service URL
    tokens = await reused.create_user_token_client(bot)
    assert await reused.create_user_token_client(bot) is tokens
    assert await reused.create_user_token_client(_claims("another-bot")) is not tokens


async def test_a_proactive_post_s_client_is_not_the_one_that_answers_activities() -> None:
    """The poster turns msrest's retries off on the clients it posts with (the outbox has its own
    schedule); answers to activities keep them, so they never share a client."""
    reused = ReusedClients(_Inner())
    service, audience = "https://smba.trafficmanager.net/emea/", "https://api.botframework.com"
    bot = "0f3c9a52-6d1e-4b7a-9c83-2e5f4a1b7d60"
    answering = await reused.authenticate_request(None, bot)
    replies = await answering.connector_factory.create(service, answering.audience)
    again = await (await reused.authenticate_request(None, bot)).connector_factory.create(
        service, audience
    )
    posting = await reused.create_connector_factory(_claims(bot)).create(service, audience)
    assert again is replies
    assert posting is not replies
    assert await reused.create_connector_factory(_claims(bot)).create(service, audience) is posting
