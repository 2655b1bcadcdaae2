"""How an answer reaches Slack after the ack, over the server's kept-alive connections.

Bolt hands each listener a Web API client and a ``respond`` (the request's ``response_url``)
that open a connection, TLS and all, for every call: bolt copies its client for lazy listeners,
so it cannot hold a connection pool. :func:`pooled` gives a listener the server's pooled client
and a ``respond`` over the same pool in their place, once the server has started; the answers
themselves (a card in place of "Checking…", an updated card for everyone) are written here.

Logs carry ids and Slack's error codes only, never what was pasted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_bolt.context.respond.internals import _build_message  # (the same from 1.21 to 1.30)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from bot.render.blockkit import render_blockkit
from bot.slack.pictures import without_picture
from handlers.card import Card

__all__ = [
    "GONE",
    "MESSAGE_OPTIONS",
    "PooledRespond",
    "clicked",
    "pooled",
    "respond_with_card",
    "show_update",
    "slack_error",
    "webhook",
]

log = logging.getLogger(__name__)

GONE = "That card is no longer available (it is older than what ndrbot keeps)."
# Portal links would unfurl into big previews; a card is enough.
MESSAGE_OPTIONS: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}


def slack_error(error: SlackApiError) -> str:
    """Slack's error code of a failed call (``not_in_channel``...), or "http error"."""
    data = getattr(error.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else "http error"


class PooledRespond(AsyncRespond):
    """Bolt's ``respond``: the same arguments and the same message (bolt's own
    ``_build_message``), sent through a shared session instead of one opened for the call."""

    def __init__(self, response_url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(response_url=response_url)
        self._client = AsyncWebhookClient(response_url, session=session)

    async def __call__(  # type: ignore[override]
        self, text: str | dict[str, Any] = "", **fields: Any
    ) -> WebhookResponse:
        if isinstance(text, dict):  # a whole message, as bolt takes it
            return await self._client.send_dict(_build_message(**text))
        return await self._client.send_dict(_build_message(text=text, **fields))


Listener = Callable[..., Awaitable[None]]


def pooled(
    listener: Listener,
    web: Callable[[], AsyncWebClient | None],
    running: set[asyncio.Task[Any]] | None = None,
) -> Listener:
    """``listener`` with bolt's ``client`` and ``respond`` replaced by ones over ``web()``'s
    connection pool (when the server has started one); bolt still reads the listener's own
    parameters to know what to pass. While it runs, its task is in ``running`` (so that a stop
    can let answers under way finish before the pool closes)."""

    @functools.wraps(listener)
    async def over_the_pool(**kwargs: Any) -> None:
        client = web()
        if client is not None and client.session is not None:
            if "client" in kwargs:
                kwargs["client"] = client
            respond = kwargs.get("respond")
            if isinstance(respond, AsyncRespond) and respond.response_url:
                kwargs["respond"] = PooledRespond(respond.response_url, client.session)
        task = asyncio.current_task()
        if running is not None and task is not None:
            running.add(task)
        try:
            await listener(**kwargs)
        finally:
            if running is not None and task is not None:
                running.discard(task)

    return over_the_pool


def webhook(url: str, client: AsyncWebClient) -> AsyncWebhookClient:
    """A ``response_url`` client over ``client``'s connection pool when it has one."""
    return AsyncWebhookClient(url, session=client.session)


def clicked(body: Mapping[str, Any], action: Mapping[str, Any]) -> tuple[str, str]:
    """Who clicked a card button, and the card's id (the button's value)."""
    return str((body.get("user") or {}).get("id") or ""), str(action.get("value") or "")


async def show_update(
    body: Mapping[str, Any],
    card: Card | None,
    client: AsyncWebClient,
    respond: Callable[..., Awaitable[Any]],
    what: str,
) -> None:
    """Show ``card`` in place of the message a button was clicked on (or say it is gone)."""
    if card is None:
        await respond(response_type="ephemeral", replace_original=False, text=GONE)
        return
    container = body.get("container") or {}
    if container.get("is_ephemeral"):
        await respond_with_card(respond, card, replace_original=True)
        return
    try:
        await client.chat_update(
            channel=str(container.get("channel_id") or ""),
            ts=str(container.get("message_ts") or ""),
            **render_blockkit(card),
        )
    except SlackApiError as error:
        log.warning("chat.update after %s failed: %s", what, slack_error(error))


async def respond_with_card(
    respond: Callable[..., Awaitable[Any]], card: Card, *, replace_original: bool
) -> None:
    """Answer through the request's ``response_url``, privately; without the card's chart when
    Slack refuses it."""
    response = await respond(
        response_type="ephemeral",
        replace_original=replace_original,
        **MESSAGE_OPTIONS,
        **render_blockkit(card),
    )
    if response.status_code != 200 and card.picture is not None and card.picture.slack_file:
        # Slack refused the image (a file it has not finished processing, say): the words go.
        log.warning("response_url refused the card with its chart; sending it without")
        response = await respond(
            response_type="ephemeral",
            replace_original=replace_original,
            **MESSAGE_OPTIONS,
            **render_blockkit(without_picture(card)),
        )
    if response.status_code != 200:
        log.warning("response_url answered HTTP %s", response.status_code)
