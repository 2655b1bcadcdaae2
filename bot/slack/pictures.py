"""A card's picture (a chart) for Slack: Slack shows an image in Block Kit only from a public
URL or from a file uploaded to Slack, so the PNG is uploaded first (``files.uploadV2`` with no
channel: a file only the bot's messages show) and the card then names it. A failed upload
(no ``files:write`` scope, Slack down) leaves the card as it was, without the picture; so does
a message Slack refuses because of the image block (the listeners send it again without)."""

from __future__ import annotations

import base64
import logging
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from handlers.card import Card

__all__ = ["with_uploaded_picture", "without_picture"]

log = logging.getLogger("ndrbot.slack")


async def with_uploaded_picture(client: AsyncWebClient, card: Card) -> Card:
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
    if not file_id:
        return card
    return replace(card, picture=replace(picture, slack_file=file_id))


def without_picture(card: Card) -> Card:
    """``card`` as it goes when Slack refuses its image block."""
    return replace(card, picture=None)
