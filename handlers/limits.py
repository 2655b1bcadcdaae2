"""Per-user rate limits for commands: a token bucket per (platform, user), time injected."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from handlers.ports import Clock

__all__ = ["RateLimiter"]


@dataclass
class RateLimiter:
    """``capacity`` commands at once, refilled at ``per_minute`` per minute."""

    clock: Clock
    capacity: int = 10
    per_minute: float = 10.0
    _buckets: dict[tuple[str, str], tuple[float, datetime]] = field(default_factory=dict)

    def allow(self, platform: str, user: str) -> bool:
        """Take a token for ``user``; False when the bucket is empty."""
        now = self.clock()
        key = (platform, user)
        tokens, last = self._buckets.get(key, (float(self.capacity), now))
        tokens = min(self.capacity, tokens + (now - last).total_seconds() * self.per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:  # forget the oldest idle users
            for stale in sorted(self._buckets, key=lambda k: self._buckets[k][1])[:5_000]:
                del self._buckets[stale]
        return True

    def retry_after(self, platform: str, user: str) -> int:
        """Seconds until ``user`` may run a command again."""
        tokens, _ = self._buckets.get((platform, user), (float(self.capacity), self.clock()))
        missing = max(0.0, 1.0 - tokens)
        return max(1, int(missing * 60.0 / self.per_minute + 0.999))
