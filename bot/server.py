"""``ndrbot serve``: one aiohttp server for Slack, Teams, the intake API and health, with the
alert scheduler and outbox worker running in the same process.

    /slack/events   Slack Events API, slash commands, interactivity (HTTP mode)
    /api/messages   Bot Framework Activities (Teams)
    /api/ndr        bounce intake (bearer token)
    /healthz        liveness
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.alerts import Alerts
from bot.platform import Poster
from bot.services import Services, build_router, build_services
from bot.settings import Settings
from bot.slack import SlackIntegration
from bot.teams import TeamsIntegration

__all__ = ["Server", "build_server"]

log = logging.getLogger("ndrbot.server")


@dataclass
class Server:
    """Everything ``ndrbot serve`` runs, built but not yet started."""

    app: web.Application
    services: Services
    parts: dict[str, Any] = field(default_factory=dict)


SERVER_KEY: web.AppKey[Server] = web.AppKey("ndrbot", Server)


async def _healthz(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    return web.json_response({"status": "ok", "parts": sorted(server.parts)})


def build_server(settings: Settings, *, services: Services | None = None) -> Server:
    """Wire the router, the platform adapters and the alerts into one aiohttp application."""
    TeamsIntegration.check_binding(settings)  # before anything opens a socket or a file
    services = services or build_services(settings)
    app = web.Application(client_max_size=settings.max_paste_bytes + 64 * 1024)
    server = Server(app, services)
    app[SERVER_KEY] = server
    app.router.add_get("/healthz", _healthz)

    posters: dict[str, Poster] = {}
    alerts = Alerts(
        settings,
        services.db,
        services.chat,
        services.dns,
        services.catalogue,
        posters,
        clock=services.clock,
    )
    router = build_router(
        services,
        watches=alerts.watch_commands,
        alerts_here=alerts.alerts_here,
        observe=alerts.observe,
    )
    server.parts["alerts"] = alerts
    alerts.attach(app)

    teams = TeamsIntegration(settings, router, services.chat)
    teams.attach(app)
    posters["teams"] = teams.poster
    server.parts["teams"] = teams

    if settings.slack_enabled:
        slack = SlackIntegration(settings, router, services.chat)
        slack.attach(app)
        posters["slack"] = slack.poster
        server.parts["slack"] = slack

    async def on_startup(_app: web.Application) -> None:
        for name in ("slack", "alerts"):
            part = server.parts.get(name)
            if part is not None:
                await part.start()
        log.info(
            "ndrbot serving on %s:%s (%s)",
            settings.host,
            settings.port,
            ", ".join(sorted(server.parts)),
        )

    async def on_cleanup(_app: web.Application) -> None:
        for name in ("alerts", "slack"):
            part = server.parts.get(name)
            if part is not None:
                await part.stop()
        services.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return server
