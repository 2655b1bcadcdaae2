"""Watches and trends, the pure part: facts from check results, transitions between runs,
burst decisions, and the alert cards. No I/O and no clock: times are passed in.

The I/O around it (scheduler, outbox, intake, store) lives in ``bot.alerts`` and
``bot.store.alerts``.
"""

from handlers.watch.commands import USAGE, WatchRequest, WatchUsage, parse_target, parse_watch_args
from handlers.watch.model import Watch, WatchKind
from handlers.watch.snapshot import Rule, Snapshot, is_regression, rule_for, snapshot
from handlers.watch.transitions import Event, EventKind, WatchState, advance
from handlers.watch.trends import TrendKey, TrendState, decide, trend_key

__all__ = [
    "USAGE",
    "Event",
    "EventKind",
    "Rule",
    "Snapshot",
    "TrendKey",
    "TrendState",
    "Watch",
    "WatchKind",
    "WatchRequest",
    "WatchState",
    "WatchUsage",
    "advance",
    "decide",
    "is_regression",
    "parse_target",
    "parse_watch_args",
    "rule_for",
    "snapshot",
    "trend_key",
]
