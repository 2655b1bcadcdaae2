"""The small interface each chat platform implements for proactive messages.

Replies to incoming messages go back through each adapter's own request/response path; alerts
and other unprompted messages go through a :class:`Poster`. Keeping this interface small is what
lets the Microsoft 365 Agents SDK replace botbuilder later without touching ``handlers/``.
"""

from __future__ import annotations

from typing import Protocol

from handlers.card import Card

__all__ = ["DeliveryError", "Poster"]


class DeliveryError(Exception):
    """A post did not go through. ``retryable`` with an optional ``retry_after`` (seconds)
    when the platform was down or throttling (5xx, 429); not retryable when the request itself
    is wrong (unknown channel, revoked token)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Poster(Protocol):
    """Posts a card, unprompted, into a conversation of one platform."""

    platform: str  # "slack" or "teams"

    async def post(
        self,
        target: str,
        card: Card,
        *,
        idempotency_key: str | None = None,
        thread: str | None = None,
    ) -> str:
        """Post ``card`` to ``target`` (a Slack channel id, a Teams conversation id), as a reply
        in the thread of message ``thread`` when given; return the platform's id of the new
        message. Raise :class:`DeliveryError` when it did not go through."""
        ...

    async def update(self, target: str, message_id: str, card: Card) -> None:
        """Replace message ``message_id`` in ``target`` (one this poster posted) with ``card``.
        Raise :class:`DeliveryError` when it did not go through."""
        ...
