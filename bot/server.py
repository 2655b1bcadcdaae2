"""``ndrbot serve``: one aiohttp server for Slack, Teams, the intake API and health, with the
alert scheduler and outbox worker running in the same process.

    /slack/events   Slack Events API, slash commands, interactivity (HTTP mode)
    /api/messages   Bot Framework Activities (Teams)
    /api/ndr        bounce intake (bearer token)
    /api/dmarc      DMARC aggregate report intake (same token)
    /healthz        liveness
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiohttp import web

from bot.dmarc import DmarcIntake
from bot.doctor.quick import StartupCheck
from bot.logs import request_ids
from bot.metrics import METRICS_PATH, Metrics
from bot.platform import Poster
from bot.reading import drained, off_loop
from bot.services import Services, build_alerts, build_dmarc, build_router, build_services
from bot.settings import Settings, SettingsError
from bot.slack import SlackIntegration
from bot.store import is_postgres_url
from bot.store.sqlite import ServeLock, network_filesystem
from bot.teams import TeamsIntegration
from handlers.ndr.lazyre import compile_all
from handlers.router import Router
from handlers.variants import prepare_index

__all__ = ["Server", "build_server"]

log = logging.getLogger("ndrbot.server")


class Part(Protocol):
    """One piece of the server (alerts, Teams, Slack): routes, then a life in the event loop."""

    def attach(self, app: web.Application) -> None:
        """Add its routes to ``app``."""

    async def start(self) -> None:
        """Start background work (after the server is listening)."""

    async def stop(self) -> None:
        """Stop background work and close clients (before the database closes)."""


@dataclass
class Server:
    """Everything ``ndrbot serve`` runs, built but not yet started. Parts start in the order
    they were added and stop in reverse."""

    app: web.Application
    services: Services
    parts: dict[str, Part] = field(default_factory=dict)
    router: Router | None = None  # what every platform's adapter talks to

    def add(self, name: str, part: Part) -> None:
        """Attach ``part``'s routes and keep it for start and stop."""
        part.attach(self.app)
        self.parts[name] = part


SERVER_KEY: web.AppKey[Server] = web.AppKey("ndrbot", Server)


def single_host_guard(db_path: str) -> ServeLock | None:
    """An SQLite ``NDRBOT_DB`` is for one host: refuse one on a network filesystem (its locks
    do not hold there) and warn when another ``ndrbot serve`` has the same file open."""
    if db_path == ":memory:" or is_postgres_url(db_path):
        return None
    kind = network_filesystem(db_path)
    if kind is not None:
        raise SettingsError(
            f"NDRBOT_DB {db_path} is on a network filesystem ({kind}), where SQLite's locks do not"
            " hold: put it on a local disk (one host), or use PostgreSQL"
            " (NDRBOT_DB=postgresql://...) for replicas or a shared volume"
        )
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    lock = ServeLock(db_path)
    if not lock.acquire():
        log.warning(
            "another ndrbot serve (pid %s) has %s open: two servers on one SQLite file each"
            " sweep every watch and run an outbox; run one, or use PostgreSQL for replicas",
            lock.other,
            db_path,
        )
    return lock


async def _healthz(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    return web.json_response({"status": "ok", "parts": sorted(server.parts)})


def build_server(settings: Settings, *, services: Services | None = None) -> Server:
    """Wire the router, the platform adapters and the alerts into one aiohttp application."""
    TeamsIntegration.check_binding(settings)  # before anything opens a socket or a file
    lock = single_host_guard(settings.db_path)
    services = services or build_services(settings)
    compile_all()  # the reader's patterns now, not during the first burst of requests
    prepare_index(services.catalogue)  # and the catalogue's
    metrics = Metrics() if settings.metrics else None
    app = web.Application(
        client_max_size=settings.max_paste_bytes + 64 * 1024,
        middlewares=[request_ids, *([metrics.middleware] if metrics else [])],
    )
    server = Server(app, services)
    app[SERVER_KEY] = server
    app.router.add_get("/healthz", _healthz)

    posters: dict[str, Poster] = {}  # filled as the platform adapters are built
    alerts = build_alerts(services, posters)
    dmarc = build_dmarc(services)
    router = build_router(
        services,
        watches=alerts.watch_commands,
        alerts_here=alerts.alerts_here,
        observe=alerts.observe,
        cases=alerts.case_book,
        dmarc=dmarc,
        offload=off_loop,  # cards are built and saved on the reader thread, not the acking loop
    )
    server.router = router
    teams = TeamsIntegration(settings, router, services.chat)
    server.add("teams", teams)
    posters["teams"] = teams.poster

    if settings.slack_enabled:
        slack = SlackIntegration(settings, router, services.chat)
        server.add("slack", slack)
        posters["slack"] = slack.poster
    dmarc.enqueue = alerts.enqueue_card
    server.add(
        "dmarc",
        DmarcIntake(dmarc, token=settings.intake_token, max_bytes=settings.max_paste_bytes),
    )
    # Last to start, first to stop: alerts post through the adapters above.
    server.add("alerts", alerts)
    server.add("startup-check", StartupCheck(settings))
    if metrics is not None:
        app.router.add_get(METRICS_PATH, metrics.handler(settings.metrics_token))
        services.dns.observe = metrics.observe_dns
        router.on_card = lambda platform: metrics.cards.labels(platform).inc()
        alerts.outbox.on_sent = lambda platform: metrics.alerts.labels(platform).inc()
        alerts.scheduler.on_sweep = metrics.sweeps.observe
        metrics.watch_outbox(alerts.store.pending_deliveries, services.clock)

    async def on_startup(_app: web.Application) -> None:
        for part in server.parts.values():
            await part.start()
        log.info(
            "ndrbot serving on %s:%s (%s)",
            settings.host,
            settings.port,
            ", ".join(sorted(server.parts)),
        )

    async def on_cleanup(_app: web.Application) -> None:
        for part in reversed(server.parts.values()):
            await part.stop()
        await drained()  # work a stopped answer left on the reader thread writes to the database
        services.close()
        if lock is not None:
            lock.release()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return server
