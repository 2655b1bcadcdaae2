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
