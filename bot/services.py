"""The composition root: one place that turns settings into the objects the handlers need.

Nothing below ``bot`` builds its own DNS client or reads settings; they get what is made here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from handlers.checks.resolver import DnsClient
from knowledge import Catalogue, load_catalogue

__all__ = ["Services", "build_services"]


@dataclass
class Services:
    """Shared, long-lived objects (one per process)."""

    settings: Settings
    catalogue: Catalogue
    dns: DnsClient


def build_services(settings: Settings) -> Services:
    """Wire the catalogue and the DNS client from ``settings``."""
    return Services(
        settings=settings,
        catalogue=load_catalogue(),
        dns=DnsClient(
            settings.nameservers,
            timeout=settings.dns_timeout,
            deadline=settings.check_deadline,
        ),
    )
