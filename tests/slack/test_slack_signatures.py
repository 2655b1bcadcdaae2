"""Only Slack gets in: forged, stale, replayed and unsigned requests get 401 and do nothing."""

from __future__ import annotations

import json
import time

from tests.slack.conftest import SlackBot, payload, sign


async def _nothing_happened(slack_bot: SlackBot) -> None:
    await slack_bot.settle()
    # Only the bot's own start-up question (auth.test, asked once before any request).
    assert [c.method for c in slack_bot.slack.calls] == ["auth.test"]


async def test_a_forged_signature_is_refused(slack_bot: SlackBot) -> None:
    response = await slack_bot.event(payload("message_bounce.json"), secret="not-the-secret")
    assert response.status == 401
    await _nothing_happened(slack_bot)


async def test_a_stale_request_is_refused_even_when_correctly_signed(slack_bot: SlackBot) -> None:
    six_minutes_ago = int(time.time()) - 301
    response = await slack_bot.event(payload("message_bounce.json"), timestamp=six_minutes_ago)
    assert response.status == 401
    await _nothing_happened(slack_bot)


async def test_a_request_from_the_future_is_refused(slack_bot: SlackBot) -> None:
    response = await slack_bot.event(
        payload("message_chatter.json"), timestamp=int(time.time()) + 301
    )
    assert response.status == 401


async def test_a_replayed_request_is_refused(slack_bot: SlackBot) -> None:
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url())
    now = int(time.time())
    first = await slack_bot.command(data, timestamp=now)
    replay = await slack_bot.command(data, timestamp=now)  # byte for byte the same request
    assert (first.status, replay.status) == (200, 401)
    await slack_bot.settle()
    assert len(slack_bot.slack.calls_to("response_url")) == 1


async def test_a_body_changed_after_signing_is_refused(slack_bot: SlackBot) -> None:
    original = json.dumps(payload("message_chatter.json"))
    now = int(time.time())
    tampered = original.replace("printer", "scanner")
    headers = {"X-Slack-Signature": sign(original, now)}
    response = await slack_bot.send(tampered, "application/json", timestamp=now, headers=headers)
    assert response.status == 401


async def test_an_unsigned_request_is_refused(slack_bot: SlackBot) -> None:
    url = slack_bot.server.make_url("/slack/events")
    body = json.dumps(payload("url_verification.json"))
    async with slack_bot.http.post(
        url, data=body, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 401
