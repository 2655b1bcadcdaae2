"""Fixtures for the DNS check tests: a loopback DNS server per test and paths to the corpora."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from handlers.checks.resolver import DnsClient
from tests.dns.server import ZONES, Faults, LoopbackDns, Zone, load_zone_file

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def serve() -> Iterator[Callable[..., LoopbackDns]]:
    """Start a loopback DNS server for a zone (a file name under zones/ or a Zone dict)."""
    servers: list[LoopbackDns] = []

    def start(zone: str | Zone, faults: Faults | None = None) -> LoopbackDns:
        data = load_zone_file(ZONES / zone) if isinstance(zone, str) else zone
        server = LoopbackDns(data, faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(server: LoopbackDns, *, timeout: float = 0.5, deadline: float = 5.0) -> DnsClient:
    """A fresh DnsClient (empty cache) that asks only ``server``."""
    return DnsClient([server.nameserver], timeout=timeout, deadline=deadline)


def blocklist_zone(
    zones: list[str], listings: dict[str, list[str]] | None = None, *, ipv6: bool = False
) -> Zone:
    """Zone data for blocklists that follow RFC 5782: test points present, plus ``listings``.

    ``listings`` maps a full query name (``4.3.2.1.zen.spamhaus.org``) to its A answers.
    """
    zone: Zone = {}
    for z in zones:
        zone[f"2.0.0.127.{z}"] = [("A", "127.0.0.2")]
        zone[f"test.{z}"] = [("A", "127.0.0.2")]
        zone[f"dbltest.com.{z}"] = [("A", "127.0.1.2")]
        zone[f"test.surbl.org.{z}"] = [("A", "127.0.0.2")]
        zone[f"test.uribl.com.{z}"] = [("A", "127.0.0.2")]
        if ipv6:  # ::ffff:127.0.0.2 as nibbles
            nibbles = ".".join(reversed("00000000000000000000ffff7f000002"))
            zone[f"{nibbles}.{z}"] = [("A", "127.0.0.2")]
    for name, answers in (listings or {}).items():
        zone[name] = [("A", a) for a in answers]
    return zone
