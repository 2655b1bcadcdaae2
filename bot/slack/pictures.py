"""A card's picture (a chart) for Slack: Slack shows an image in Block Kit only from a public
URL or from a file uploaded to Slack, so the PNG is uploaded first (``files.uploadV2`` with no
channel: a file only the bot's messages show) and the card then names it.

Slack finishes an upload asynchronously (a scan, then the file gets its type), and a message
naming a file not finished yet is refused (``invalid slack file``), so ``files.info`` is asked
until the file is an image, for a few seconds at most. A failed or unfinished upload (no
``files:write`` scope, Slack down or slow) leaves the card as it was, without the picture; so
does a message Slack refuses because of the image block (the listeners send it again without)."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from handlers.card import Card

__all__ = ["with_uploaded_picture", "without_picture"]

log = logging.getLogger("ndrbot.slack")

Sleep = Callable[[float], Awaitable[None]]
POLLS = 10  # files.info asked at most this often ...
PAUSE = 0.3  # ... this many seconds apart (Slack usually finishes a small PNG within a second)


async def with_uploaded_picture(
    client: AsyncWebClient, card: Card, *, sleep: Sleep = asyncio.sleep
) -> Card:
    """``card`` with its picture uploaded to Slack (named by file id), when it has one."""
    picture = card.picture
    if picture is None or picture.slack_file:
        return card
    try:
        png = base64.b64decode(picture.png_base64, validate=True)
        response = await client.files_upload_v2(
            content=png, filename="ndrbot-chart.png", title=picture.alt[:200]
        )
        file = response.get("file") or {}
        file_id = str(file.get("id") or "") if isinstance(file, dict) else ""
    except Exception as error:
        log.warning("chart upload failed (%s): the card goes without it", type(error).__name__)
        return card
    if not file_id or not await _processed(client, file_id, sleep):
        return card
    return replace(card, picture=replace(picture, slack_file=file_id))


async def _processed(client: AsyncWebClient, file_id: str, sleep: Sleep) -> bool:
    """Whether Slack finished the upload (the file has an image type), asking a few times."""
    for attempt in range(POLLS):
        try:
            info = await client.files_info(file=file_id)
        except Exception as error:
            log.warning("chart upload check failed (%s)", type(error).__name__)
            return False
        file = info.get("file") or {}
        if isinstance(file, dict) and str(file.get("mimetype") or "").startswith("image/"):
            return True
        if attempt + 1 < POLLS:
            await sleep(PAUSE)
    log.warning("chart upload not processed by Slack in time: the card goes without it")
    return False


def without_picture(card: Card) -> Card:
    """``card`` as it goes when Slack refuses its image block."""
    return replace(card, picture=None)
