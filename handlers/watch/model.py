"""The watch value: what is watched, by whom, and when it runs next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Watch", "WatchKind"]


class WatchKind(StrEnum):
    """A domain watch runs SPF, DMARC, DKIM and MX; an IP watch the blocklists and rDNS."""

    DOMAIN = "domain"
    IP = "ip"


@dataclass(frozen=True)
class Watch:
    """One watched domain or IP (a removed watch keeps its row: who removed it, and when)."""

    id: int
    kind: WatchKind
    target: str
    added_by: str
    added_at: datetime
    next_run_at: datetime
    selectors: tuple[str, ...] = ()  # DKIM selectors to check besides the common ones
    removed_by: str | None = None
    removed_at: datetime | None = None
    last_run_at: datetime | None = None

    @property
    def label(self) -> str:
        """``domain contoso.com`` / ``ip 203.0.113.5``."""
        return f"{self.kind} {self.target}"
