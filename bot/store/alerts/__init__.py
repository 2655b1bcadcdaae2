"""Alert state: watches (and who changed them), last facts per watch, alert history, the outbox,
intake (raw bounces kept), and bounce counts for trends.

Times are stored as fixed-width UTC ISO 8601 text, so SQL compares them as strings. Every write
that must not half-happen (a run's new state with its alerts and their outbox rows) is one
transaction: a crash leaves either all of it or none, and a re-run redoes the same work.
"""

from __future__ import annotations

import secrets

from bot.store import Database
from bot.store.alerts._cases import CaseQueries
from bot.store.alerts._intake import IntakeQueries
from bot.store.alerts._outbox import Delivery, NewAlert, OutboxQueries, delivery_key
from bot.store.alerts._schema import MIGRATIONS, iso, parse_iso
from bot.store.alerts._watches import AlreadyWatched, WatchQueries

__all__ = [
    "MIGRATIONS",
    "AlertStore",
    "AlreadyWatched",
    "Delivery",
    "NewAlert",
    "delivery_key",
    "iso",
    "parse_iso",
]


class AlertStore(WatchQueries, OutboxQueries, IntakeQueries, CaseQueries):
    """Queries over the alert tables of the shared :class:`Database` (migrated on creation)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Whose claims are whose: each process's store claims watches and outbox rows under its
        # own token, so it never releases, or marks, a row another process has taken over.
        self.owner = secrets.token_hex(8)
        db.migrate(MIGRATIONS)
