"""``/metrics`` in the Prometheus text format, off unless ``NDRBOT_METRICS=1`` or a
``NDRBOT_METRICS_TOKEN`` (then a bearer token is required).

What is counted: requests and their ack latency per platform; DNS questions and their outcome
(answered, nodata, nxdomain, timeout, servfail, refused, error) per resolver and blocklist; alerts
sent per platform; watch sweep durations; the outbox's depth and the age of its oldest row. Labels
are fixed vocabularies, configured resolvers and known list zones: never a paste, a name queried
or a secret. prometheus_client (the Prometheus project's own library) does the format.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.alerts import INTAKE_PATH
from bot.slack.integration import EVENTS_PATH
from bot.teams.integration import MESSAGES_PATH
from handlers.checks.dnsbl_lists import KNOWN_LISTS

__all__ = ["METRICS_PATH", "Metrics"]

METRICS_PATH = "/metrics"
_PLATFORM = {EVENTS_PATH: "slack", MESSAGES_PATH: "teams", INTAKE_PATH: "intake"}
_ZONES = tuple(sorted((b.zone for b in KNOWN_LISTS), key=len, reverse=True))
_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Outbox(Collector):
    """The outbox's depth and the age of its oldest unsent row, read at scrape time."""

    def __init__(
        self, pending: Callable[[], tuple[int, datetime | None]], clock: Callable[[], datetime]
    ) -> None:
        self.pending, self.clock = pending, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        count, oldest = self.pending()
        yield GaugeMetricFamily(
            "ndrbot_outbox_pending", "alert deliveries not sent yet", value=count
        )
        age = (self.clock() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "ndrbot_outbox_oldest_seconds", "age of the oldest unsent delivery", value=max(age, 0.0)
        )


class Metrics:
    """The counters, and the aiohttp pieces that feed and serve them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ndrbot_requests",
            "HTTP requests by platform and status",
            ["platform", "status"],
            registry=self.registry,
        )
        self.ack = Histogram(
            "ndrbot_ack_seconds",
            "time to answer a request",
            ["platform"],
            buckets=_ACK_BUCKETS,
            registry=self.registry,
        )
        self.dns = Counter(
            "ndrbot_dns_queries",
            "DNS questions by resolver, blocklist and outcome",
            ["resolver", "list", "outcome"],
            registry=self.registry,
        )
        self.cards = Counter(
            "ndrbot_cards",
            "cards answered (a paste's, a command's)",
            ["platform"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "ndrbot_alerts_sent", "alerts posted", ["platform"], registry=self.registry
        )
        self.sweeps = Histogram(
            "ndrbot_watch_sweep_seconds", "duration of one watch sweep", registry=self.registry
        )

    def watch_outbox(
        self, pending: Callable[[], tuple[int, datetime | None]], clock: Callable[[], datetime]
    ) -> None:
        """Report the outbox's depth and oldest age (``pending()`` is read at each scrape)."""
        self.registry.register(_Outbox(pending, clock))

    def observe_dns(self, resolver: str, name: str, outcome: str) -> None:
        """One DNS question's outcome; ``name`` only picks the blocklist label."""
        zone = next((z for z in _ZONES if name == z or name.endswith("." + z)), "-")
        self.dns.labels(resolver, zone, outcome).inc()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count and time the platform endpoints (nothing else)."""
        platform = _PLATFORM.get(request.path)
        if platform is None:
            return await handler(request)
        started = time.monotonic()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            self.ack.labels(platform).observe(time.monotonic() - started)
            self.requests.labels(platform, str(status)).inc()

    def handler(self, token: str | None) -> Handler:
        """``GET /metrics``; with ``token``, only for ``Authorization: Bearer <token>``."""

        async def metrics(request: web.Request) -> web.Response:
            if token:
                given = request.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    return web.Response(status=401, text="unauthorized\n")
            body = generate_latest(self.registry)
            return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

        return metrics
