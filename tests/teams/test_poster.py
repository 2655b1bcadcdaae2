"""Proactive posts (alerts, shared cards) through the Teams poster and the fake connector."""

from __future__ import annotations

import socket
import time

import jsonschema
import pytest

from bot.platform import DeliveryError, Poster
from handlers.cards import error_card
from tests.teams.conftest import TeamsBed
from tests.teams.test_adaptive import assert_valid

TEAM_CHANNEL = "19:3a5b7c9d1e2f4a6b8c0d2e4f6a8b0c2d@thread.tacv2"
CARD = error_card("Blocklist alert", "203.0.113.5 is now listed on zen.spamhaus.org.")


async def _installed(bed: TeamsBed) -> None:
    assert await bed.post(bed.activity("team_bot_added")) == 200


async def test_a_card_is_posted_as_a_new_message_in_the_saved_conversation(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    poster: Poster = bed.teams.poster
    assert poster.platform == "teams"
    await _installed(bed)
    message_id = await poster.post(TEAM_CHANNEL, CARD, idempotency_key="alert-1")
    ((post, card),) = bed.cards("send")
    assert message_id and post.conversation_id == TEAM_CHANNEL
    assert "replyToId" not in post.activity
    assert post.activity["from"]["id"] == "28:0f3c9a52-6d1e-4b7a-9c83-2e5f4a1b7d60"
    assert_valid(card_schema, card)


async def test_a_thread_id_posts_to_its_channel(bed: TeamsBed) -> None:
    await _installed(bed)
    await bed.teams.poster.post(f"{TEAM_CHANNEL};messageid=1763629960123", CARD)
    (post,) = bed.connector.calls_of("send")
    assert post.conversation_id == TEAM_CHANNEL


async def test_an_unknown_conversation_is_not_retryable(bed: TeamsBed) -> None:
    with pytest.raises(DeliveryError) as caught:
        await bed.teams.poster.post("19:never-seen@thread.tacv2", CARD)
    assert caught.value.retryable is False
    assert "add ndrbot to that team or chat" in str(caught.value)
    assert bed.connector.calls == []


@pytest.mark.parametrize(
    ("status", "retry_after", "retryable", "waits"),
    [
        (429, 7, True, 7.0),
        (503, None, True, None),
        (500, None, True, None),
        (403, None, False, None),
    ],
)
async def test_connector_failures_become_delivery_errors(
    bed: TeamsBed, status: int, retry_after: int | None, retryable: bool, waits: float | None
) -> None:
    await _installed(bed)
    bed.connector.fail("send", status=status, retry_after=retry_after)
    with pytest.raises(DeliveryError) as caught:
        await bed.teams.poster.post(TEAM_CHANNEL, CARD)
    assert (caught.value.retryable, caught.value.retry_after) == (retryable, waits)
    assert f"HTTP {status}" in str(caught.value)
    assert len(bed.connector.calls_of("send")) == 1  # the caller retries, not the connector
    await bed.teams.poster.post(TEAM_CHANNEL, CARD)  # the next attempt goes through
    assert len(bed.connector.calls_of("send")) == 2


async def test_an_unreachable_connector_is_retryable_and_reported_at_once(bed: TeamsBed) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    await bed.post(bed.activity("team_bot_added", serviceUrl=dead))
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await bed.teams.poster.post(TEAM_CHANNEL, CARD)
    assert caught.value.retryable is True
    assert time.monotonic() - started < 2.0


async def test_a_reply_goes_in_the_thread_of_the_message_it_names_and_an_update_replaces_it(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    """An incident in Teams: the fix answers in the alert's thread; the alert is edited."""
    poster: Poster = bed.teams.poster
    await _installed(bed)
    alert_id = await poster.post(TEAM_CHANNEL, CARD, idempotency_key="alert-1")
    fixed = error_card("Fixed: no longer listed", "203.0.113.5 is no longer listed.")
    await poster.post(TEAM_CHANNEL, fixed, idempotency_key="alert-2", thread=alert_id)
    (_alert, (reply, reply_card)) = bed.cards("send")
    # A channel thread is addressed as its own conversation: the connector ignores replyToId.
    assert reply.conversation_id == f"{TEAM_CHANNEL};messageid={alert_id}"
    assert "no longer listed" in str(reply_card)
    resolved = error_card("Resolved: Blocklist alert", "Everything recovered.")
    await poster.update(TEAM_CHANNEL, alert_id, resolved)
    ((update, update_card),) = bed.cards("update")
    assert update.activity_id == alert_id and update.activity["id"] == alert_id
    assert_valid(card_schema, update_card)
    assert "Resolved: Blocklist alert" in str(update_card)
