"""Bursts of bounces: many of one family from one sender domain within a window.

A burst posts one trend alert, not one per bounce: once a key has alerted, it stays quiet until
a whole window passes without a bounce of that key (the burst is over), and only a new burst
alerts again. Counting is the store's job; this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.diagnosis import Diagnosis

__all__ = ["TrendKey", "TrendState", "decide", "trend_key"]

UNKNOWN_DOMAIN = "(unknown sender domain)"


@dataclass(frozen=True)
class TrendKey:
    """What bounces are grouped by."""

    family: str
    sender_domain: str


@dataclass(frozen=True)
class TrendState:
    """What one key remembers: the last bounce seen and whether its burst was announced."""

    last_seen: datetime | None = None
    alerted: bool = False


def trend_key(diagnosis: Diagnosis) -> TrendKey | None:
    """The key of a diagnosed bounce; None for anything that is not one (no family)."""
    family = diagnosis.family
    if family is None:
        return None
    domain = diagnosis.targets.sender_domain or diagnosis.facts.sender_domain
    return TrendKey(family, (domain or UNKNOWN_DOMAIN).lower())


def decide(
    state: TrendState,
    *,
    at: datetime,
    count_in_window: int,
    now: datetime,
    window: timedelta,
    threshold: int,
) -> tuple[TrendState, bool]:
    """The new state after a bounce at ``at`` and whether to post a trend alert now.

    ``count_in_window`` counts bounces of the key in ``(at - window, at]``, this one included.
    A bounce older than a window (an old mailbox being ingested) is counted but never alerts:
    a burst that ended long ago is history, not news.
    """
    alerted = state.alerted
    if state.last_seen is None or at - state.last_seen >= window:
        alerted = False  # a quiet window ended the previous burst
    last_seen = at if state.last_seen is None else max(state.last_seen, at)
    fire = count_in_window >= threshold and not alerted and now - at < window
    return TrendState(last_seen, alerted or fire), fire
