"""A running ndrbot Slack integration for scenario tests, and the means to talk to it as Slack.

``slack_bot`` is the real :class:`SlackIntegration` (bolt's ``AsyncApp`` and ndrbot's listeners)
on an aiohttp test server, with the router on an in-memory store, pointed at the fake Slack Web
API (``slack_bot.slack``). Requests are signed the way Slack signs them (v0 HMAC-SHA256 over
``v0:{timestamp}:{body}``) and posted over HTTP to ``/slack/events``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from bot.slack import SlackIntegration
from bot.store import open_database
from bot.store.chat import ChatStore
from handlers.card import Card
from handlers.cards import error_card
from handlers.checks import DnsClient
from handlers.events import Command
from handlers.limits import RateLimiter
from handlers.router import Router
from knowledge import Catalogue
from tests.dns.server import LoopbackDns
from tests.fakes.slack_api import FakeSlackApi, fake_slack_api

__all__ = ["fake_slack_api"]  # the fixture, for tests that need only the fake

PAYLOADS = Path(__file__).parent / "payloads"
SAMPLES = Path(__file__).parents[1] / "ndr" / "samples"
TOKEN = "xoxb-test-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ZONE = {"contoso.com": [("TXT", "v=spf1 include:spf.protection.outlook.com -all")]}
ZONE["spf.protection.outlook.com"] = [("TXT", "v=spf1 ip4:40.92.0.0/15 -all")]
ZONE["_dmarc.contoso.com"] = [("TXT", "v=DMARC1; p=none; rua=mailto:dmarc@contoso.com; pct=100")]
# A null MX beside a real one (RFC 7505 forbids it): once crashed /mailcheck without an answer.
ZONE["mixed.example"] = [("MX", (0, ".")), ("MX", (10, "mx.mixed.example"))]
ZONE["mx.mixed.example"] = [("A", "192.0.2.25")]


def payload(name: str, **fill: str) -> dict[str, Any]:
    """A recorded Slack payload from ``payloads/``, with ``PLACEHOLDER`` strings filled in."""
    data = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return _fill(data, fill)


def _fill(node: Any, fill: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, fill) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, fill) for v in node]
    if isinstance(node, str):
        for key, value in fill.items():
            node = node.replace(key, value)
    return node


def sign(body: str, timestamp: int, secret: str = SECRET) -> str:
    """Slack's ``X-Slack-Signature`` for ``body`` sent at ``timestamp``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class FakeClock:
    """The router's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingWatches:
    """The ``/ndrwatch`` port: remembers the commands it got (is_admin included)."""

    commands: list[Command] = field(default_factory=list)

    async def handle(self, command: Command) -> Card:
        self.commands.append(command)
        return error_card("Watch list", "admin" if command.is_admin else "not admin")


@dataclass
class SlackBot:
    """The integration under test and a Slack-shaped client for it."""

    slack: FakeSlackApi
    server: TestServer
    router: Router
    store: ChatStore
    watches: RecordingWatches
    http: aiohttp.ClientSession
    integration: SlackIntegration

    async def send(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """POST a signed request to ``/slack/events``; returns the read response."""
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(body, ts, secret),
            **(headers or {}),
        }
        url = self.server.make_url("/slack/events")
        async with self.http.post(url, data=body.encode(), headers=all_headers) as response:
            await response.read()
            return response

    async def event(self, data: dict[str, Any], **kw: Any) -> aiohttp.ClientResponse:
        """An Events API request (JSON)."""
        return await self.send(json.dumps(data), "application/json", **kw)

    async def command(self, fields: dict[str, Any], **kw: Any) -> aiohttp.ClientResponse:
        """A slash command (form-encoded)."""
        return await self.send(urlencode(fields), "application/x-www-form-urlencoded", **kw)

    async def interaction(self, data: dict[str, Any], **kw: Any) -> aiohttp.ClientResponse:
        """An interactivity request (``payload=`` JSON in a form)."""
        body = urlencode({"payload": json.dumps(data)})
        return await self.send(body, "application/x-www-form-urlencoded", **kw)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait for the work bolt started in the background (listeners after ack, lazies)."""
        names = {"run_ack_function_asynchronously", "to_runnable_function"}
        while True:
            tasks = [
                t
                for t in asyncio.all_tasks()
                if not t.done() and getattr(t.get_coro(), "__name__", "") in names
            ]
            if not tasks:
                return
            await asyncio.wait(tasks, timeout=timeout)


@pytest.fixture
def dns_server() -> Iterator[LoopbackDns]:
    """The loopback DNS server with contoso.com's SPF record."""
    with LoopbackDns(ZONE) as server:
        yield server


@pytest.fixture
def watches() -> RecordingWatches:
    """The ``/ndrwatch`` port the router is given."""
    return RecordingWatches()


@pytest.fixture
def slack_bot_parts(
    catalogue: Catalogue, dns_server: LoopbackDns, watches: RecordingWatches
) -> tuple[Router, ChatStore]:
    """The router (real catalogue, loopback DNS, in-memory store) and its store."""
    store = ChatStore(open_database(":memory:"))
    clock = FakeClock()
    ids = iter(f"card{n:03d}" for n in range(1000))
    router = Router(
        catalogue=catalogue,
        dns=DnsClient([dns_server.nameserver], timeout=0.5, deadline=5.0),
        seen=store,
        cards=store,
        clock=clock,
        limiter=RateLimiter(clock, capacity=5, per_minute=5),
        max_paste_bytes=256 * 1024,
        watches=watches,
        run_checks=False,
        new_id=lambda: next(ids),
    )
    return router, store


@pytest.fixture
async def slack_bot(
    slack_bot_parts: tuple[Router, ChatStore], watches: RecordingWatches
) -> AsyncIterator[SlackBot]:
    """ndrbot's Slack integration on a test server, talking to a fake Slack Web API."""
    router, store = slack_bot_parts
    async with FakeSlackApi(token=TOKEN) as slack, aiohttp.ClientSession() as http:
        settings = Settings(
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            admins=("U0BOSS", "S0ADMINS"),
            max_paste_bytes=256 * 1024,
            workers=2,  # small, so that a burst queues
        )
        settings.validate()
        app = web.Application()
        integration = SlackIntegration(settings, router, store)
        integration.attach(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        await integration.start()  # as ndrbot serve does on startup
        bot = SlackBot(slack, server, router, store, watches, http, integration)
        try:
            yield bot
        finally:
            await bot.settle()
            await integration.stop()
            await server.close()


def bounce_text() -> str:
    """The restricted-sender bounce, as plain text."""
    return (SAMPLES / "restricted_sender_quoted.txt").read_text(encoding="utf-8")


def deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a payload to change without touching the original."""
    return copy.deepcopy(data)


def header(params: Mapping[str, Any]) -> str:
    """The header text of a posted card (a chat.* call or a response_url post)."""
    blocks = params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return next(b["text"]["text"] for b in blocks if b["type"] == "header")


def blocks_of(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The blocks of a posted card."""
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)
