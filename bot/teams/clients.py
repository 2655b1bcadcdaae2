"""botbuilder's Bot Connector and token clients, made once per bot and service, not per activity.

``CloudAdapter`` asks its ``BotFrameworkAuthentication`` for a new ``ConnectorClient`` and a new
``UserTokenClient`` on every activity and every proactive post. Each is an msrest client whose
retry settings are built by testing 999 status codes against a list of 500 (msrest's
``ClientRetryPolicy``): about 2.5 ms of the event loop per client, 5 ms per activity, while
Slack and Teams acknowledgements wait behind it. Apart from their credentials (which keep their
own token) the clients hold nothing of a turn, and botbuilder never closes them, so one per
(bot, service URL, audience) serves every turn. :class:`ReusedClients` wraps the authentication
the adapter is given and keeps them.

The clients a proactive post is made with (``create_connector_factory``: ``continue_conversation``,
``create_conversation``) are kept apart from those that answer an activity (the factory of an
authenticated request): the poster turns msrest's own retries off on its clients, as the outbox
retries on its own schedule, and replies keep them.
"""

from __future__ import annotations

from typing import Any

from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
)
from botframework.connector.auth.user_token_client import UserTokenClient

__all__ = ["ReusedClients"]

# Bots and service URLs one process talks to: one bot, a service URL per Teams region. A bound
# all the same (the oldest goes first), so unusual traffic cannot grow it.
MOST_KEPT = 64


def _app_id(claims: ClaimsIdentity) -> str | None:
    """The bot the activity is for, as botbuilder's own authentication reads it: the token's
    audience, else its appid claim (the Emulator); None when authentication is off."""
    found = claims.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if found is None:
        found = claims.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return None if found is None else str(found)


def _keep(kept: dict[Any, Any], key: Any, value: Any) -> None:
    if len(kept) >= MOST_KEPT:
        del kept[next(iter(kept))]
    kept[key] = value


class _Connectors(ConnectorFactory):
    """The inner factory's clients, one per (bot, service URL, audience)."""

    def __init__(
        self, inner: ConnectorFactory, kept: dict[Any, ConnectorClient], app_id: str | None
    ) -> None:
        self.inner = inner
        self.kept = kept
        self.app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self.app_id, service_url, audience)
        client = self.kept.get(key)
        if client is None:
            client = await self.inner.create(service_url, audience)
            _keep(self.kept, key, client)
        return client


class ReusedClients(BotFrameworkAuthentication):
    """``inner`` (the authentication itself, unchanged), with its clients made once."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self.inner = inner
        self._replying: dict[Any, ConnectorClient] = {}  # answers to an activity
        self._posting: dict[Any, ConnectorClient] = {}  # proactive posts
        self._tokens: dict[str | None, UserTokenClient] = {}

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        return self._reusing(await self.inner.authenticate_request(activity, auth_header))

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return self._reusing(
            await self.inner.authenticate_streaming_request(auth_header, channel_id_header)
        )

    def _reusing(self, result: Any) -> Any:
        """An authenticated request's result, its connector factory (the one the adapter makes
        the turn's client with) keeping its clients."""
        factory = getattr(result, "connector_factory", None)
        if factory is not None and not isinstance(factory, _Connectors):
            identity = result.claims_identity or ClaimsIdentity({}, is_authenticated=False)
            result.connector_factory = _Connectors(factory, self._replying, _app_id(identity))
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self.inner.create_connector_factory(claims_identity)
        return _Connectors(inner, self._posting, _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = _app_id(claims_identity)
        client = self._tokens.get(key)
        if client is None:
            client = await self.inner.create_user_token_client(claims_identity)
            _keep(self._tokens, key, client)
        return client

    def create_bot_framework_client(self) -> Any:
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self.inner.authenticate_channel_request(auth_header)
