"""Posting cards to Teams without being asked: alerts, and cards shared to a channel.

Teams lets a bot post into a conversation only through a *conversation reference* it saved when it
was installed there or addressed there (Bot Framework "proactive messages"); the adapter saves one
on each of those occasions, under the conversation id without its thread suffix, so a post lands as
a new message in the channel rather than inside someone's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ConversationReference
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.platform import DeliveryError
from bot.render.adaptive import render_adaptive
from bot.teams.activities import base_conversation
from handlers.card import Card

__all__ = ["References", "TeamsPoster", "card_activity", "delivery_error"]

log = logging.getLogger("ndrbot.teams")


class References(Protocol):
    """Where conversation references live (``bot.store.chat.ChatStore``)."""

    def reference(self, platform: str, conversation: str) -> dict[str, object] | None:
        """The stored reference of a conversation."""
        ...


class _Adapter(Protocol):
    async def continue_conversation(
        self,
        reference: ConversationReference,
        callback: Callable[[TurnContext], Awaitable[Any]],
        bot_app_id: str | None = None,
    ) -> Any: ...


def card_activity(card: Card) -> Activity:
    """A message Activity carrying ``card`` as an Adaptive Card (its fallback as the summary)."""
    activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(render_adaptive(card)))
    activity.summary = card.fallback_text
    return activity


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from the connector; let the caller back off


def delivery_error(error: Exception, conversation: str) -> DeliveryError:
    """The :class:`DeliveryError` for what the connector (or the network) said."""
    where = f"Teams conversation {conversation[:80]}"
    if isinstance(error, HttpOperationError):
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None) or 0
        if status == 429 or status >= 500:
            return DeliveryError(
                f"{where}: the Bot Framework connector answered HTTP {status}",
                retryable=True,
                retry_after=_retry_after(response),
            )
        return DeliveryError(
            f"{where}: the Bot Framework connector refused the post (HTTP {status}); "
            "is ndrbot still installed there?",
            retryable=False,
        )
    if isinstance(error, ClientRequestError):
        return DeliveryError(f"{where}: the connector could not be reached", retryable=True)
    return DeliveryError(f"{where}: {type(error).__name__}", retryable=True)


class TeamsPoster:
    """A :class:`bot.platform.Poster` for Teams (``platform = "teams"``)."""

    platform = "teams"

    def __init__(self, adapter: _Adapter, references: References, app_id: str | None) -> None:
        self._adapter = adapter
        self._references = references
        self._app_id = app_id

    async def post(
        self,
        target: str,
        card: Card,
        *,
        idempotency_key: str | None = None,
        thread: str | None = None,
    ) -> str:
        """Post ``card`` as a new message in conversation ``target`` (a reply in the thread of
        message ``thread`` when given); return its activity id.

        The Bot Framework has no idempotency keys, so ``idempotency_key`` is not sent; a caller
        that retries after a timeout may post twice. Failures are not retried here: the caller
        retries, with the ``retry_after`` a 429 gave.
        """

        async def call(connector: Any, activity: Activity) -> Any:
            if thread and "@thread" in activity.conversation.id:
                # A channel thread is its own conversation id (the connector ignores replyToId
                # in channels); in a personal or group chat there are no threads to reply in.
                activity.conversation.id = f"{activity.conversation.id};messageid={thread}"
            return await connector.conversations.send_to_conversation(
                activity.conversation.id, activity
            )

        return await self._send(target, card, call)

    async def update(self, target: str, message_id: str, card: Card) -> None:
        """Replace message ``message_id`` in conversation ``target`` with ``card``."""

        async def call(connector: Any, activity: Activity) -> Any:
            activity.id = message_id
            return await connector.conversations.update_activity(
                activity.conversation.id, message_id, activity
            )

        await self._send(target, card, call)

    async def _send(
        self, target: str, card: Card, call: Callable[[Any, Activity], Awaitable[Any]]
    ) -> str:
        conversation = base_conversation(target)
        stored = self._references.reference("teams", conversation)
        if stored is None:
            raise DeliveryError(
                f"no saved reference for Teams conversation {conversation[:80]}: add ndrbot to "
                "that team or chat (or @mention it there once) so it may post there",
                retryable=False,
            )
        reference = ConversationReference().deserialize(stored)
        posted: dict[str, Any] = {}

        async def send(turn_context: TurnContext) -> None:
            # A new message (POST .../activities), or a reply to a message we name; never a
            # reply to the synthetic activity id continue_conversation makes up.
            activity = TurnContext.apply_conversation_reference(card_activity(card), reference)
            connector = turn_context.turn_state[turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY]
            # msrest retries refused connections three times with back-off (about 5 s); the
            # caller has its own schedule and should hear about an outage at once.
            connector.config.retry_policy.retries = 0
            try:
                response = await call(connector, activity)
            except Exception as error:  # mapped below, outside the turn pipeline
                posted["error"] = error
                return
            posted["id"] = response.id if response is not None and response.id else ""

        try:
            await self._adapter.continue_conversation(reference, send, bot_app_id=self._app_id)
        except Exception as error:  # token or connector failures: mapped below
            posted["error"] = error
        if "error" in posted:
            failure = delivery_error(posted["error"], conversation)
            log.warning("teams post failed: %s", failure)
            raise failure from posted["error"]
        return str(posted.get("id", ""))
