"""Unprompted posts into Slack channels (alerts): :class:`bot.platform.Poster` for Slack.

Errors of slack_sdk are mapped here, at the edge (docs.slack.dev "Rate limits", chat.postMessage
errors): HTTP 429 and 5xx, and a network failure, are worth retrying (``Retry-After`` honoured);
``{"ok": false}`` (``channel_not_found``, ``not_in_channel``, ``invalid_auth``...) is not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import DeliveryError
from bot.render.blockkit import render_blockkit
from handlers.card import Card

__all__ = ["SlackPoster"]

log = logging.getLogger(__name__)


class SlackPoster:
    """Posts cards with ``chat.postMessage``; returns the new message's ``ts``."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(
        self,
        target: str,
        card: Card,
        *,
        idempotency_key: str | None = None,
        thread: str | None = None,
    ) -> str:
        """Post ``card`` to channel ``target`` (in the thread of message ``thread`` when
        given), at most once per ``idempotency_key``.

        Slack has no idempotency key for messages, so the key travels in the message's metadata
        and the channel's recent history (or the thread's) is read first: a post that Slack
        accepted just before a crash (and that the outbox therefore retries) is found there
        instead of sent again.
        """
        if idempotency_key:
            earlier = await self._already_posted(target, idempotency_key, thread)
            if earlier:
                log.info("already in slack %s: ts=%s key=%s", target, earlier, idempotency_key)
                return earlier
        extra: dict[str, Any] = {"thread_ts": thread} if thread else {}
        if idempotency_key:
            extra["metadata"] = {"event_type": _EVENT, "event_payload": {"key": idempotency_key}}
        response = await _slack(
            target,
            self.client.chat_postMessage(
                channel=target,
                unfurl_links=False,
                unfurl_media=False,
                **render_blockkit(card),
                **extra,
            ),
        )
        ts = str(response.get("ts") or "")
        log.info("posted to slack %s: ts=%s key=%s", target, ts, idempotency_key)
        return ts

    async def update(self, target: str, message_id: str, card: Card) -> None:
        """Replace message ``message_id`` (its ``ts``) in channel ``target`` with ``card``."""
        update = self.client.chat_update(channel=target, ts=message_id, **render_blockkit(card))
        await _slack(target, update)
        log.info("updated slack %s: ts=%s", target, message_id)

    async def _already_posted(self, target: str, key: str, thread: str | None) -> str | None:
        """The ts of a recent message of ours in ``target`` (or its ``thread``) carrying
        ``key``, if any."""
        if thread:
            read = self.client.conversations_replies(
                channel=target, ts=thread, limit=_HISTORY, include_all_metadata=True
            )
        else:
            read = self.client.conversations_history(
                channel=target, limit=_HISTORY, include_all_metadata=True
            )
        try:
            response = await _slack(target, read)
        except DeliveryError as error:
            if error.retryable:
                raise
            return None  # cannot read the channel (not a member, say): post as usual
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == _EVENT and payload.get("key") == key:
                return str(message.get("ts") or "") or None
        return None


_EVENT = "ndrbot_alert"
_HISTORY = 100  # messages read back: more than an alert channel sees in a retry window


async def _slack(target: str, call: Awaitable[Any]) -> Any:
    """Await one Web API call; what went wrong as a :class:`DeliveryError` (retryable for 429,
    5xx and a network failure)."""
    try:
        return await call
    except SlackApiError as error:
        raise _delivery_error(target, error) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryError(
            f"Slack could not be reached ({type(error).__name__})", retryable=True
        ) from None


def _delivery_error(target: str, error: SlackApiError) -> DeliveryError:
    response = error.response
    status = int(getattr(response, "status_code", 0) or 0)
    code = ""
    if isinstance(response.data, dict):
        code = str(response.data.get("error") or "")
    if status == 429 or status >= 500:
        retry_after = _seconds(
            response.headers.get("Retry-After") or response.headers.get("retry-after")
        )
        return DeliveryError(
            f"Slack is {'throttling' if status == 429 else 'failing'} (HTTP {status})",
            retryable=True,
            retry_after=retry_after,
        )
    return DeliveryError(f"Slack refused the post to {target}: {code or status}", retryable=False)


def _seconds(value: object) -> float | None:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return None
