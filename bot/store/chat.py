"""Chat state: messages already answered, posted cards and their checklist ticks, conversation
references for proactive messages, and small key/value settings (the alert channel)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.store import Database
from handlers.card import Card, card_from_json, card_to_json

__all__ = ["MIGRATIONS", "ChatStore"]

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "chat-0001",
        """
        CREATE TABLE seen_messages (
            platform TEXT NOT NULL, conversation TEXT NOT NULL, message_id TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (platform, conversation, message_id));
        CREATE TABLE cards (card_id TEXT PRIMARY KEY, card TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE checklist_ticks (
            card_id TEXT NOT NULL REFERENCES cards(card_id) ON DELETE CASCADE,
            item_id TEXT NOT NULL, "user" TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (card_id, item_id));
        CREATE TABLE conversation_refs (
            platform TEXT NOT NULL, conversation TEXT NOT NULL, reference TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (platform, conversation));
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_by TEXT, updated_at TEXT NOT NULL)
        """,
    ),
    (
        # Where a card was posted ("slack:C123"), so a channel can ask what is still open there.
        "chat-0002",
        """
        ALTER TABLE cards ADD COLUMN place TEXT;
        CREATE INDEX cards_place ON cards (place) WHERE place IS NOT NULL
        """,
    ),
)
_PLACE_CARDS = 200  # the most recent cards of one place that "what is open here" reads

_SEEN_KEEP = timedelta(days=7)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ChatStore:
    """Implements the router's ``SeenMessages`` and ``CardStore`` ports (SQLite or PostgreSQL:
    any replica sharing the database answers any click)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(MIGRATIONS)
        self._prune()

    @classmethod
    def read_only(cls, db: Database) -> ChatStore:
        """A store over ``db`` that neither migrates nor prunes, for looking without changing
        anything (``ndrbot doctor``); on a database ``ndrbot serve`` never opened, its reads
        raise the driver's error for a missing table."""
        store = cls.__new__(cls)
        store.db = db
        return store

    def _prune(self) -> None:
        cutoff = (datetime.now(UTC) - _SEEN_KEEP).isoformat(timespec="seconds")
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM seen_messages WHERE seen_at < ?", (cutoff,))

    def first_time(self, platform: str, conversation: str, message_id: str) -> bool:
        """True the first time a message is seen (an insert that a retry cannot repeat)."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO seen_messages VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (platform, conversation, message_id, _now()),
            )
            return cursor.rowcount == 1

    def save_card(self, card_id: str, card: Card) -> None:
        """Keep a posted card so a tick or a share can re-render it."""
        saved = json.dumps(card_to_json(card))  # before the transaction: its lock is shared
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cards (card_id, card, created_at, place) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (card_id) DO UPDATE SET card = excluded.card,"
                " created_at = excluded.created_at, place = excluded.place",
                (card_id, saved, _now(), card.meta.get("place")),
            )

    def cards_at(self, place: str) -> list[tuple[str, Card]]:
        """The most recent cards posted at ``place`` (``"slack:C123"``), newest first."""
        rows = self.db.conn.execute(
            "SELECT card_id, card FROM cards WHERE place = ? ORDER BY created_at DESC, card_id DESC"
            " LIMIT ?",
            (place, _PLACE_CARDS),
        ).fetchall()
        return [(row[0], card_from_json(json.loads(row[1]))) for row in rows]

    def load_card(self, card_id: str) -> Card | None:
        """The card saved under ``card_id``."""
        row = self.db.conn.execute(
            "SELECT card FROM cards WHERE card_id = ?", (card_id,)
        ).fetchone()
        return card_from_json(json.loads(row[0])) if row else None

    def set_tick(self, card_id: str, item_id: str, user: str | None, at: str) -> None:
        """Record who ticked an item and when (``user=None`` un-ticks it)."""
        with self.db.transaction() as conn:
            if user is None:
                conn.execute(
                    "DELETE FROM checklist_ticks WHERE card_id = ? AND item_id = ?",
                    (card_id, item_id),
                )
            else:
                conn.execute(
                    "INSERT INTO checklist_ticks VALUES (?, ?, ?, ?) ON CONFLICT (card_id, item_id)"
                    ' DO UPDATE SET "user" = excluded."user", at = excluded.at',
                    (card_id, item_id, user, at),
                )

    def ticks(self, card_id: str) -> dict[str, tuple[str, str]]:
        """``item_id -> (user, at)`` for a card."""
        rows = self.db.conn.execute(
            'SELECT item_id, "user", at FROM checklist_ticks WHERE card_id = ?', (card_id,)
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    def save_reference(
        self, platform: str, conversation: str, reference: dict[str, object]
    ) -> None:
        """Remember how to reach a conversation later (a Teams ConversationReference, say)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversation_refs VALUES (?, ?, ?, ?)"
                " ON CONFLICT (platform, conversation) DO UPDATE SET reference = excluded.reference,"
                " updated_at = excluded.updated_at",
                (platform, conversation, json.dumps(reference), _now()),
            )

    def reference(self, platform: str, conversation: str) -> dict[str, object] | None:
        """The stored reference of a conversation."""
        row = self.db.conn.execute(
            "SELECT reference FROM conversation_refs WHERE platform = ? AND conversation = ?",
            (platform, conversation),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_setting(self, key: str, value: str, user: str | None = None) -> None:
        """Store a runtime setting (e.g. the alert channel chosen with /ndrbot alerts here)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " value = excluded.value, updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                (key, value, user, _now()),
            )

    def setting(self, key: str) -> str | None:
        """A runtime setting, or None."""
        row = self.db.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
