"""ndrbot in Slack: bolt's ``AsyncApp`` with ndrbot's listeners, over HTTP or Socket Mode.

Wiring, in the composition root (``ndrbot serve``)::

    slack = SlackIntegration(settings, router, store)
    slack.attach(web_app)              # POST /slack/events (HTTP mode only)
    posters["slack"] = slack.poster    # for alerts
    # ... and await slack.start() / slack.stop() in the web app's startup / cleanup.

With ``SLACK_APP_TOKEN`` set it connects with Socket Mode instead (no public URL needed) and adds
no route. The Web API base is ``SLACK_API_URL``. Slack's libraries log request and response
bodies at DEBUG, so their loggers are held at INFO or above here: pasted bounces and tokens do
not reach the logs even when an operator turns debugging on.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import Poster
from bot.settings import Settings, SettingsError
from bot.slack.admins import AdminCheck
from bot.slack.files import FileFetcher
from bot.slack.http import SignatureGate, events_handler
from bot.slack.listeners import Listeners
from bot.slack.poster import SlackPoster
from bot.store.chat import ChatStore
from handlers.router import Router

__all__ = ["EVENTS_PATH", "SlackIntegration"]

EVENTS_PATH = "/slack/events"
STOP_GRACE = 10.0  # seconds a stop waits for answers already acknowledged

log = logging.getLogger(__name__)
_AUTH_WAIT = 2.0  # seconds start() waits for auth.test before going on without it


class _DropTokenNotice(logging.Filter):
    # bolt reads SLACK_BOT_TOKEN from the environment itself and then says it will not use it,
    # since it gets a client; that is what we want, so the notice is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        """False for bolt's "`token` will be unused" notice."""
        return "`token` will be unused" not in record.getMessage()


def _quiet_loggers() -> logging.Logger:
    floor = max(logging.INFO, logging.getLogger().getEffectiveLevel())
    for name in ("slack_bolt", "slack_sdk"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)
    bolt = logging.getLogger("ndrbot.slack.bolt")
    bolt.setLevel(floor)
    bolt.addFilter(_DropTokenNotice())
    return bolt


class SlackIntegration:
    """The Slack side of ndrbot: one per process."""

    def __init__(self, settings: Settings, router: Router, store: ChatStore) -> None:
        if not settings.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is missing: Slack cannot be started without it")
        self.settings = settings
        self.router = router
        self.store = store
        bolt_logger = _quiet_loggers()
        self.client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, logger=bolt_logger
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret or "",
            logger=bolt_logger,
            name="ndrbot",
        )
        # Our own Web API calls (cards, alerts, downloads) go through one connection pool once
        # started; bolt's client stays without one, as bolt copies it for lazy listeners.
        self.web = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, logger=bolt_logger
        )
        self.is_admin = AdminCheck(self.client, settings.admins)
        self.poster: Poster = SlackPoster(self.web)
        self._session: aiohttp.ClientSession | None = None
        self._authorizing: asyncio.Future[None] | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.listeners = Listeners(
            router,
            files=self._files,
            is_admin=self.is_admin,
            api_url=settings.slack_api_url,
            workers=settings.workers,
            first_event=lambda team, event_id: store.first_time("slack-event", team, event_id),
            web=lambda: self.web if self.web.session is not None else None,
        )
        self.listeners.register(self.app)

    @property
    def socket_mode(self) -> bool:
        """True when Slack is reached over Socket Mode (``SLACK_APP_TOKEN`` is set)."""
        return bool(self.settings.slack_app_token)

    def attach(self, app: web.Application) -> None:
        """Add ``POST /slack/events`` to ``app`` (HTTP mode; Socket Mode needs no route)."""
        if self.socket_mode:
            return
        secret = self.settings.slack_signing_secret
        if not secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is missing: Slack's requests cannot be verified"
            )
        app.router.add_post(EVENTS_PATH, events_handler(self.app, SignatureGate(secret)))

    async def start(self) -> None:
        """Connect with Socket Mode when configured (HTTP mode needs nothing started).
        Call it from the web app's startup; calling it twice does nothing more."""
        if self.web.session is None:
            # One connection pool for our Web API calls, response_url answers and downloads:
            # without it the SDK opens and closes a connection, TLS and all, per call.
            self.web.session = self._shared_session()
        if self._authorizing is None:
            # In the background, waited for 2 s at most: a Slack that does not answer must not
            # hold up the server's start (its port, /healthz, Teams) for the call's 30 s.
            self._authorizing = asyncio.ensure_future(self._authorize_once())
            await asyncio.wait({self._authorizing}, timeout=_AUTH_WAIT)
        if not self.socket_mode:
            log.info("slack: receiving events at %s", EVENTS_PATH)
            return
        if self._socket is None:
            self._socket = AsyncSocketModeHandler(
                self.app,
                app_token=self.settings.slack_app_token,
                logger=self.app.logger,
                web_client=self.client,
            )
            await self._socket.connect_async()
            log.info("slack: connected with Socket Mode")

    async def stop(self) -> None:
        """Disconnect Socket Mode, let the answers under way finish (for up to ``STOP_GRACE``
        seconds: a deploy's restart should not lose a card already acknowledged), then close
        the connection pool."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        under_way = set(self.listeners.running)
        if under_way:
            _done, late = await asyncio.wait(under_way, timeout=STOP_GRACE)
            if late:
                log.warning("slack: %d acknowledged answers left unsent at stop", len(late))
                for task in late:  # not left to run on a closed pool and database
                    task.cancel()
                await asyncio.wait(late, timeout=1.0)
        if self._authorizing is not None and not self._authorizing.done():
            self._authorizing.cancel()
        if self._session is not None:
            self.web.session = None
            await self._session.close()
            self._session = None

    async def _authorize_once(self) -> None:
        """Ask Slack who the bot is (``auth.test``) now, for bolt's authorization to keep.

        Bolt asks on the first request otherwise, and every request that arrives before the
        answer asks again: after a restart the first burst of events waits on those calls for
        its acks. If Slack cannot be reached now, bolt asks on the first request as before."""
        for middleware in getattr(self.app, "_async_middleware_list", ()):
            if (
                isinstance(middleware, AsyncSingleTeamAuthorization)
                and middleware.auth_test_result is None
            ):
                try:
                    middleware.auth_test_result = await self.client.auth_test()
                except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
                    log.warning(
                        "slack: auth.test at start failed (%s: %s); bolt asks on a request",
                        type(error).__name__,
                        error,
                    )

    def _shared_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # The SDK's own limit per call (30 s): a session given to it replaces its default.
            timeout = aiohttp.ClientTimeout(total=self.web.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def _files(self) -> FileFetcher:
        return FileFetcher(
            self.web,
            self._shared_session(),
            token=self.settings.slack_bot_token or "",
            api_url=self.settings.slack_api_url,
            max_bytes=self.settings.max_paste_bytes,
        )
