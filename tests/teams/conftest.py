"""Fixtures for the Teams tests: the real router and store, the Teams adapter on an aiohttp test
server, a fake Bot Framework connector and a DNS server, all on loopback."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application

from bot.settings import Settings
from bot.store import open_database
from bot.store.chat import ChatStore
from bot.teams import TeamsIntegration
from handlers.card import Card
from handlers.cards import error_card
from handlers.checks.resolver import DnsClient
from handlers.events import Command
from handlers.limits import RateLimiter
from handlers.router import Router
from knowledge import Catalogue
from tests.conftest import SHARED
from tests.dns.server import LoopbackDns
from tests.fakes.teams_connector import Call, FakeTeamsConnector, fake_teams_connector

__all__ = ["TeamsBed", "fake_teams_connector"]

ACTIVITIES = Path(__file__).parent / "activities"
SCHEMA_PATH = SHARED / "reference" / "adaptive-card-1.5.schema.json"
BOT_ID = "28:0f3c9a52-6d1e-4b7a-9c83-2e5f4a1b7d60"
ADMIN_AAD = "6a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9"  # "Helpdesk Pat" in the fixtures
ZONE = {
    "contoso.com": [("TXT", "v=spf1 include:spf.protection.outlook.com -all")],
    "spf.protection.outlook.com": [("TXT", "v=spf1 ip4:40.92.0.0/15 ip4:52.100.0.0/14 -all")],
    "_dmarc.contoso.com": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@contoso.com")],
}


def load_activity(name: str, service_url: str, **changes: Any) -> dict[str, Any]:
    """A recorded Activity from ``activities/``, pointed at ``service_url``."""
    activity: dict[str, Any] = json.loads((ACTIVITIES / f"{name}.json").read_text("utf-8"))
    activity["serviceUrl"] = service_url
    activity.update(copy.deepcopy(changes))
    return activity


def card_validator(schema: dict[str, Any]) -> jsonschema.Draft6Validator:
    """A Draft 6 validator for the Adaptive Card schema that tries, in each ``anyOf``, the
    alternative named by the instance's ``type`` first.

    Same verdicts as the plain validator (``anyOf`` does not depend on the order of its
    alternatives), about ten times faster: the schema lists some thirty element types for every
    element, and the plain validator tries them in turn.
    """
    definitions = schema["definitions"]

    def named(subschema: dict[str, Any]) -> str | None:
        # An alternative is {"required": ["type"], "allOf": [{"$ref": "#/definitions/X"}]}.
        refs = [subschema, *subschema.get("allOf", ())]
        ref = next((r["$ref"] for r in refs if "$ref" in r), "")
        target = definitions.get(ref.removeprefix("#/definitions/"), {})
        enum = target.get("properties", {}).get("type", {}).get("enum", [None])
        return enum[0] if len(enum) == 1 else None

    plain = jsonschema.Draft6Validator.VALIDATORS["anyOf"]

    def any_of(validator: Any, alternatives: list, instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict) and isinstance(instance.get("type"), str):
            alternatives = sorted(alternatives, key=lambda sub: named(sub) != instance["type"])
        yield from plain(validator, alternatives, instance, schema)

    fast = jsonschema.validators.extend(jsonschema.Draft6Validator, {"anyOf": any_of})
    return fast(schema)


@pytest.fixture(scope="session")
def card_schema() -> jsonschema.Draft6Validator | None:
    """A validator for the Adaptive Card 1.5 schema, or None when the reference is absent.

    Without it the scenario and golden tests still run; only the schema part of their check is
    left out (``test_adaptive_card_schema_is_available`` reports that as a skip, saying why).
    """
    if not SCHEMA_PATH.is_file():
        return None
    return card_validator(json.loads(SCHEMA_PATH.read_text("utf-8")))


@pytest.fixture
def strict_card_schema(
    card_schema: jsonschema.Draft6Validator | None,
) -> jsonschema.Draft6Validator:
    """The schema validator, for tests about the schema itself (skips when it is absent)."""
    if card_schema is None:
        pytest.skip(f"Adaptive Card schema not found at {SCHEMA_PATH}")
    return card_schema


@pytest.fixture
def dns_server() -> Iterator[LoopbackDns]:
    """A loopback DNS server holding contoso.com's SPF and DMARC records."""
    with LoopbackDns(ZONE) as server:
        yield server


@dataclass
class TeamsBed:
    """One running ndrbot Teams endpoint and what the tests look at."""

    client: TestClient
    connector: FakeTeamsConnector
    store: ChatStore
    router: Router
    teams: TeamsIntegration
    alert_commands: list[Command]

    def activity(self, name: str, **changes: Any) -> dict[str, Any]:
        """A fixture Activity whose serviceUrl is the fake connector."""
        return load_activity(name, self.connector.service_url, **changes)

    def cards(self, *kinds: str) -> list[tuple[Call, dict[str, Any]]]:
        """The Adaptive Cards ndrbot sent (``reply``, ``send``, ``update``), in order."""
        return [
            (call, call.card)
            for call in self.connector.calls
            if call.card is not None and (not kinds or call.kind in kinds)
        ]

    async def post(self, activity: dict[str, Any], **headers: str) -> int:
        """POST an Activity to /api/messages; return the HTTP status."""
        response = await self.client.post("/api/messages", json=activity, headers=headers)
        await response.read()
        await self.teams.idle()  # acknowledged first, answered after: wait for the answer
        return response.status


def make_router(
    catalogue: Catalogue, store: ChatStore, dns: DnsClient, alert_commands: list[Command]
) -> Router:
    """The real router, without the bounce-triggered DNS checks; ``/ndrbot alerts here`` is
    recorded in ``alert_commands``."""

    def clock() -> datetime:
        return datetime(2026, 11, 20, 9, 15, tzinfo=UTC)

    async def alerts_here(command: Command) -> Card:
        alert_commands.append(command)
        return error_card("Alerts", "Alerts go here now." if command.is_admin else "Admins only.")

    return Router(
        catalogue=catalogue,
        dns=dns,
        seen=store,
        cards=store,
        clock=clock,
        limiter=RateLimiter(clock, capacity=50, per_minute=50),
        max_paste_bytes=256 * 1024,
        alerts_here=alerts_here,
        run_checks=False,
    )


@pytest.fixture
async def bed(
    catalogue: Catalogue, dns_server: LoopbackDns, fake_teams_connector: FakeTeamsConnector
) -> AsyncIterator[TeamsBed]:
    """ndrbot's Teams endpoint, unauthenticated (the Emulator case), on an aiohttp test server."""
    store = ChatStore(open_database(":memory:"))
    dns = DnsClient([dns_server.nameserver], timeout=0.5, deadline=3.0)
    alert_commands: list[Command] = []
    router = make_router(catalogue, store, dns, alert_commands)
    settings = Settings(admins=(ADMIN_AAD,), max_paste_bytes=256 * 1024)
    teams = TeamsIntegration(settings, router, store)
    app = Application()
    teams.attach(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield TeamsBed(client, fake_teams_connector, store, router, teams, alert_commands)
    await teams.stop()  # as ndrbot serve stops: the file download session is closed
