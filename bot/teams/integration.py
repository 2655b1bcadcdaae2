"""Teams on ndrbot's aiohttp server: ``POST /api/messages`` through botbuilder's ``CloudAdapter``.

Wiring (in the composition root)::

    TeamsIntegration.check_binding(settings)            # at start-up, before serving
    teams = TeamsIntegration(settings, router, store)
    teams.attach(app)                                    # POST /api/messages
    posters["teams"] = teams.poster                      # proactive alerts

Authentication: with ``MICROSOFT_APP_ID`` set, every Activity must carry a Bot Framework JWT
(validated by botbuilder: issuer, signature, audience = the app id, and the ``serviceurl`` claim
against the Activity's ``serviceUrl``), and replies get an app token from Microsoft Entra ID.
Without an app id nothing is checked and nothing is signed - the Bot Framework Emulator case - and
:meth:`TeamsIntegration.check_binding` refuses that unless the server listens on loopback only,
since an open endpoint would post wherever a caller's ``serviceUrl`` pointed.

The HTTP edge is ours, not ``CloudAdapter.process``: a body that is not an Activity gets a 400 (or
415) naming what is wrong, and a token that fails validation in any way gets a 401, where botbuilder
would let some of those escape as a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, DeliveryModes
from botframework.connector.auth import BotFrameworkAuthentication
from msrest.exceptions import DeserializationError

from bot.settings import Settings, SettingsError
from bot.store.chat import ChatStore
from bot.teams.activities import problems
from bot.teams.bot import NdrTeamsBot
from bot.teams.clients import ReusedClients
from bot.teams.files import FileFetcher
from bot.teams.poster import TeamsPoster
from handlers.router import Router

__all__ = ["TeamsConfigError", "TeamsIntegration"]

log = logging.getLogger("ndrbot.teams")
MESSAGES_PATH = "/api/messages"
STOP_GRACE = 10.0  # seconds ndrbot serve waits at stop for acknowledged Activities


class TeamsConfigError(SettingsError):
    """The Teams settings cannot be used as they are; the message says which and why."""


class _BotConfig:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads."""

    def __init__(self, settings: Settings) -> None:
        self.APP_ID = settings.microsoft_app_id
        self.APP_PASSWORD = settings.microsoft_app_password
        self.APP_TENANTID = settings.microsoft_app_tenant_id
        self.APP_TYPE = settings.microsoft_app_type


def _answered_in_response(activity: Activity) -> bool:
    """An invoke (file consent, Action.Execute) or an expectReplies request carries its answer in
    the HTTP response; everything else is answered through the connector."""
    return activity.type == ActivityTypes.invoke or (
        activity.delivery_mode == DeliveryModes.expect_replies
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": str(status), "message": message}}, status=status)


def _where(error: BaseException) -> str:
    """``TypeError at bot/teams/bot.py:120``: enough to find a bug, without the message (which
    may quote pasted text)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    place = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    return f"{type(error).__name__}{place}"


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    log.error("teams turn failed (%s activity): %s", turn_context.activity.type, _where(error))


class TeamsIntegration:
    """The Teams adapter: HTTP endpoint, activity handler and proactive poster."""

    def __init__(
        self,
        settings: Settings,
        router: Router,
        store: ChatStore,
        *,
        authentication: BotFrameworkAuthentication | None = None,
    ) -> None:
        """``authentication`` is a seam for tests (botbuilder's own parameterised
        authentication pointed at loopback); by default it is built from the settings."""
        self.settings = settings
        self.authentication = ReusedClients(authentication or self.authentication_for(settings))
        self.adapter = CloudAdapter(self.authentication)
        self.adapter.on_turn_error = _on_turn_error
        self.files = FileFetcher(
            settings.max_paste_bytes, allow_http=not settings.teams_authenticated
        )
        self.poster = TeamsPoster(self.adapter, store, settings.microsoft_app_id)
        self.bot = NdrTeamsBot(
            router=router,
            store=store,
            admins=settings.admins,
            files=self.files,
            poster=self.poster,
        )
        # Activities are acknowledged first and worked on after, at most ``workers`` at a time;
        # the rest wait their turn, acknowledged already, and none is dropped.
        self._slots = asyncio.Semaphore(settings.workers)
        self._pending: set[asyncio.Task[None]] = set()

    @staticmethod
    def authentication_for(settings: Settings) -> BotFrameworkAuthentication:
        if (
            settings.microsoft_app_type == "UserAssignedMSI"
            and settings.microsoft_app_id
            and not settings.microsoft_app_tenant_id
        ):
            raise TeamsConfigError(
                "MICROSOFT_APP_TENANT_ID is missing: MICROSOFT_APP_TYPE is UserAssignedMSI"
            )
        return ConfigurationBotFrameworkAuthentication(_BotConfig(settings))

    @staticmethod
    def check_binding(settings: Settings) -> None:
        """Refuse to serve Teams unauthenticated anywhere but on loopback."""
        if settings.teams_authenticated or settings.loopback_only:
            return
        raise TeamsConfigError(
            f"MICROSOFT_APP_ID is not set, so Teams would run without Bot Framework "
            f"authentication, which is only allowed on a loopback address (the Bot Framework "
            f"Emulator case); NDRBOT_HOST is {settings.host!r}. Set MICROSOFT_APP_ID and "
            f"MICROSOFT_APP_PASSWORD, or NDRBOT_HOST=127.0.0.1."
        )

    def attach(self, app: web.Application) -> None:
        """Serve ``POST /api/messages`` on ``app`` (and close the download session with it)."""
        self.check_binding(self.settings)
        app.router.add_post(MESSAGES_PATH, self.handle)

    async def start(self) -> None:
        """Nothing runs in the background: Teams calls in over HTTP."""

    async def stop(self) -> None:
        """Finish the Activities already acknowledged (for up to ``STOP_GRACE`` seconds), then
        close the attachment download session."""
        try:
            await asyncio.wait_for(self.idle(), STOP_GRACE)
        except TimeoutError:
            log.warning(
                "teams: %d acknowledged Activities left unanswered at stop", len(self._pending)
            )
            for task in list(self._pending):
                task.cancel()
        await self.files.close()

    async def idle(self) -> None:
        """Wait until every acknowledged Activity has been worked on."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def _work(self, auth: Any, activity: Activity) -> None:
        async with self._slots:
            try:
                await self.adapter.process_activity(auth, activity, self.bot.on_turn)
            except Exception as error:
                log.error("teams: could not process an Activity: %s", _where(error))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One Activity from the Bot Framework (or the Emulator)."""
        header = ""
        if self.settings.teams_authenticated:
            header = request.headers.get("Authorization", "")
            if not header:  # refused before the body is even read
                return _error(401, "missing Authorization header (a Bot Framework token)")
        if request.content_type != "application/json":
            return _error(415, "expected Content-Type: application/json (a Bot Framework Activity)")
        try:
            body: Any = json.loads(await request.text())
        except ValueError:
            return _error(400, "the body is not valid JSON")
        found = problems(body)
        if found:
            return _error(400, "not a usable Activity: " + "; ".join(found))
        try:
            activity = Activity().deserialize(body)
        except DeserializationError:
            return _error(400, "not a usable Activity: a field has the wrong type")
        try:
            auth = await self.authentication.authenticate_request(activity, header)
        except Exception as error:  # any failure to validate the token means: not authenticated
            log.warning("teams: rejected an Activity: %s", type(error).__name__)
            return _error(401, "the Bot Framework token was not accepted")
        if not _answered_in_response(activity):
            # The reply goes to the connector on its own request, so the HTTP answer need not
            # wait for reading, checks and rendering: acknowledge now, work after.
            task = asyncio.create_task(self._work(auth, activity))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return web.Response(status=200)
        try:
            response = await self.adapter.process_activity(auth, activity, self.bot.on_turn)
        except Exception as error:
            log.error("teams: could not process an Activity: %s", _where(error))
            return _error(500, "ndrbot could not process this Activity")
        if response is None:
            return web.Response(status=200)
        if response.body is None:
            return web.Response(status=int(response.status))
        return web.json_response(serializer_helper(response.body), status=int(response.status))
