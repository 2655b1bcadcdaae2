"""The composition root: one place that turns settings into the objects the handlers need.

Nothing below ``bot`` builds its own DNS client, opens the database or reads settings; they get
what is made here. Every front end builds from these functions: ``build_dns`` (``ndrbot check``),
``build_services`` (catalogue, DNS, database), ``build_router`` (Slack, Teams, the console),
``build_posters`` and ``build_alerts`` (``ndrbot serve`` and ``ndrbot watch``).

What a command may not need is made (and imported) on first use: the DNS client, the database,
the router's stack, the alerts and the Slack SDK, so ``ndrbot diagnose --no-checks`` starts
without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.settings import Settings
from bot.store import Database, open_database
from bot.store.chat import ChatStore
from handlers.ports import CaseBook, Clock, DmarcReports, Offload, WatchCommands, inline
from knowledge import Catalogue, load_catalogue

if TYPE_CHECKING:
    from bot.alerts import Alerts
    from bot.dmarc import Dmarc
    from bot.platform import Poster
    from handlers.checks.resolver import DnsClient
    from handlers.diagnosis import Diagnosis
    from handlers.router import AlertsHere, Router

__all__ = [
    "Services",
    "build_alerts",
    "build_dmarc",
    "build_dns",
    "build_posters",
    "build_router",
    "build_services",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time, aware, in UTC (the production clock)."""
    return datetime.now(UTC)


@dataclass
class Services:
    """Shared, long-lived objects (one per process)."""

    settings: Settings
    catalogue: Catalogue
    clock: Clock = utc_now
    _dns: DnsClient | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)
    _chat: ChatStore | None = field(default=None, repr=False)

    @property
    def dns(self) -> DnsClient:
        """The DNS client every check uses, built on first use."""
        if self._dns is None:
            self._dns = build_dns(self.settings)
        return self._dns

    @property
    def db(self) -> Database:
        """The database ``NDRBOT_DB`` names (SQLite file or PostgreSQL URL), opened on first use."""
        if self._db is None:
            self._db = open_database(self.settings.db_path)
        return self._db

    @property
    def chat(self) -> ChatStore:
        """The chat state store (answered messages, cards, ticks, references, settings)."""
        if self._chat is None:
            self._chat = ChatStore(self.db)
        return self._chat

    def close(self) -> None:
        """Close the database if it was opened."""
        if self._db is not None:
            self._db.close()
            self._db = None
            self._chat = None


def build_dns(settings: Settings) -> DnsClient:
    """The DNS client every check uses: the configured resolvers, timeout and deadline."""
    from handlers.checks.resolver import DnsClient  # dnspython loads only when checks run

    return DnsClient(
        settings.nameservers,
        timeout=settings.dns_timeout,
        deadline=settings.check_deadline,
        probe=settings.dns_probe or None,
    )


def build_services(settings: Settings, *, clock: Clock = utc_now) -> Services:
    """Wire the catalogue and the DNS client from ``settings`` (the database opens on use)."""
    return Services(settings=settings, catalogue=load_catalogue(), clock=clock)


def build_posters(settings: Settings) -> dict[str, Poster]:
    """The posters a process without a server can use: Slack's Web API when configured.

    (Teams posts need the server's Bot Framework adapter; ``ndrbot serve`` adds its own.)
    """
    if not settings.slack_enabled:
        return {}
    # Imported here: the Slack SDK is only worth loading when Slack is configured.
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.poster import SlackPoster

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    return {"slack": SlackPoster(client)}


def build_alerts(services: Services, posters: dict[str, Poster] | None = None) -> Alerts:
    """Watches, intake, trends and the outbox on the shared database; ``posters`` may be
    filled in later (the server adds each platform's poster once its adapter is built)."""
    from bot.alerts import Alerts  # the alert stack loads only for the commands that use it

    return Alerts(
        services.settings,
        services.db,
        services.chat,
        services.dns,
        services.catalogue,
        posters if posters is not None else {},
        clock=services.clock,
    )


def build_router(
    services: Services,
    *,
    watches: WatchCommands | None = None,
    alerts_here: AlertsHere | None = None,
    observe: Callable[[Diagnosis, str], None] | None = None,
    run_checks: bool = True,
    cases: CaseBook | None = None,
    dmarc: DmarcReports | None = None,
    offload: Offload | None = None,
) -> Router:
    """The router every front end (Slack, Teams, the console) talks to; ``offload`` is where it
    builds and saves cards (the server's reader thread; inline by default)."""
    from handlers.limits import RateLimiter
    from handlers.router import Router

    settings = services.settings
    return Router(
        catalogue=services.catalogue,
        dns=services.dns,
        seen=services.chat,
        cards=services.chat,
        clock=services.clock,
        limiter=RateLimiter(
            services.clock,
            capacity=settings.commands_per_minute,
            per_minute=settings.commands_per_minute,
        ),
        max_paste_bytes=settings.max_paste_bytes,
        dqs_key=settings.spamhaus_dqs_key,
        watches=watches,
        alerts_here=alerts_here,
        observe=observe,
        run_checks=run_checks,
        cases=cases,
        dmarc=dmarc,
        offload=offload or inline,
    )


def build_dmarc(services: Services) -> Dmarc:
    """DMARC aggregate reports on the shared database, source names from the shared resolver."""
    from bot.dmarc.service import Dmarc
    from handlers.dmarc.alerts import AlertRules
    from handlers.dmarc.readiness import Gates

    s = services.settings
    gates = Gates(
        min_days=s.dmarc_min_days,
        min_messages=s.dmarc_min_messages,
        quarantine_share=min(s.dmarc_quarantine_share, 100.0) / 100,
        reject_share=min(s.dmarc_reject_share, 100.0) / 100,
        source_share=min(s.dmarc_source_share, 100.0) / 100,
        quiet_days=s.dmarc_quiet_days,
    )
    rules = AlertRules(min_messages=s.dmarc_new_source_messages, points=s.dmarc_drop_points)
    return Dmarc(
        services.db,
        services.catalogue,
        services.dns,
        clock=services.clock,
        gates=gates,
        rules=rules,
    )
