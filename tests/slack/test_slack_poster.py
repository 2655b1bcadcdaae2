"""Alerts into Slack: a post returns the message ts; throttling and outages are retryable,
a refused post is not."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import DeliveryError, Poster
from bot.slack import SlackPoster
from handlers.cards import error_card
from tests.fakes import FakeSlackApi

CARD = error_card("Blocklist change", "203.0.113.5 is now listed on <!channel> zen")


def _poster(slack: FakeSlackApi) -> Poster:
    return SlackPoster(AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url))


async def test_a_post_returns_the_message_ts(fake_slack_api: FakeSlackApi) -> None:
    ts = await _poster(fake_slack_api).post("C0ALERTS", CARD, idempotency_key="k1")
    (call,) = fake_slack_api.calls_to("chat.postMessage")
    assert ts and call.params["channel"] == "C0ALERTS"
    assert "&lt;!channel&gt;" in call.params["text"]


async def test_throttling_is_retryable_after_what_slack_says(fake_slack_api: FakeSlackApi) -> None:
    fake_slack_api.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(DeliveryError) as raised:
        await _poster(fake_slack_api).post("C0ALERTS", CARD)
    assert raised.value.retryable and raised.value.retry_after == 7.0


async def test_an_outage_is_retryable(fake_slack_api: FakeSlackApi) -> None:
    fake_slack_api.fail("chat.postMessage", status=503)
    with pytest.raises(DeliveryError) as raised:
        await _poster(fake_slack_api).post("C0ALERTS", CARD)
    assert raised.value.retryable and raised.value.retry_after is None


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
async def test_a_refused_post_is_not_retryable(fake_slack_api: FakeSlackApi, error: str) -> None:
    fake_slack_api.fail("chat.postMessage", error=error)
    with pytest.raises(DeliveryError, match=error) as raised:
        await _poster(fake_slack_api).post("C0ALERTS", CARD)
    assert not raised.value.retryable


async def test_an_unreachable_slack_is_retryable() -> None:
    client = AsyncWebClient(token="t", base_url="http://127.0.0.1:9/api/", timeout=2)
    with pytest.raises(DeliveryError) as raised:
        await SlackPoster(client).post("C0ALERTS", CARD)
    assert raised.value.retryable


async def test_an_alert_slack_accepted_before_a_crash_is_not_posted_again(
    fake_slack_api: FakeSlackApi,
) -> None:
    # The outbox sends, Slack accepts, the process dies before marking it sent; after the
    # restart the outbox sends the same alert (same key) again.
    first = await _poster(fake_slack_api).post("C0ALERTS", CARD, idempotency_key="watch-7:v3")
    again = await _poster(fake_slack_api).post("C0ALERTS", CARD, idempotency_key="watch-7:v3")
    other = await _poster(fake_slack_api).post("C0ALERTS", CARD, idempotency_key="watch-7:v4")
    assert again == first and other != first
    assert len(fake_slack_api.calls_to("chat.postMessage")) == 2
    assert len(fake_slack_api.history["C0ALERTS"]) == 2


async def test_an_unreadable_channel_history_does_not_stop_the_post(
    fake_slack_api: FakeSlackApi,
) -> None:
    fake_slack_api.fail("conversations.history", error="not_in_channel")
    assert await _poster(fake_slack_api).post("C0ALERTS", CARD, idempotency_key="k9")
    assert len(fake_slack_api.calls_to("chat.postMessage")) == 1
