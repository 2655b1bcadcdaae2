"""Messages in Slack: a pasted or uploaded bounce gets one card in its thread, nothing else does."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from tests.slack.conftest import (
    SAMPLES,
    SECRET,
    TOKEN,
    SlackBot,
    blocks_of,
    deep_copy,
    header,
    payload,
)

RESTRICTED = ":red_circle: Microsoft 365 has blocked this account from sending"


async def test_a_pasted_bounce_gets_a_card_in_its_thread(slack_bot: SlackBot) -> None:
    started = time.monotonic()
    response = await slack_bot.event(payload("message_bounce.json"))
    assert response.status == 200
    assert time.monotonic() - started < 3.0  # Slack retries anything slower
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert call.params["channel"] == "C0HELPDESK"
    assert call.params["thread_ts"] == "1741140600.000200"
    assert call.params["unfurl_links"] is False
    assert header(call.params) == RESTRICTED
    fields = [f["text"] for b in blocks_of(call.params) for f in b.get("fields", [])]
    # Slack's <mailto:...|...> markup and &lt;/&gt; were read back as the plain text pasted.
    assert "*Sender*\n`sam@contoso.com`" in fields
    assert "*Recipient*\n`jo@fabrikam.com`" in fields
    assert call.params["text"].startswith("Microsoft 365 has blocked this account")


async def test_a_burst_is_acknowledged_at_once_and_every_paste_answered_once(
    slack_bot: SlackBot,
) -> None:
    events = []
    for n in range(6):  # three times the two workers the test bot has
        data = deep_copy(payload("message_bounce.json"))
        data["event_id"] = f"Ev0BURST{n}"
        data["event"]["ts"] = data["event"]["event_ts"] = f"1741140600.00030{n}"
        events.append(data)
    started = time.monotonic()
    responses = await asyncio.gather(*(slack_bot.event(e) for e in events))
    assert [r.status for r in responses] == [200] * 6 and time.monotonic() - started < 3.0
    calls = await slack_bot.slack.wait_for("chat.postMessage", count=6)
    assert sorted(c.params["thread_ts"] for c in calls) == [
        f"1741140600.00030{n}" for n in range(6)
    ]
    await slack_bot.settle()
    assert len(slack_bot.slack.calls_to("chat.postMessage")) == 6
    # Over kept-alive connections, not one per call (a TLS handshake each, against Slack).
    peers = {call.peer for call in slack_bot.slack.calls if call.method == "chat.postMessage"}
    assert "" not in peers and len(peers) <= 2  # at most one per worker


async def test_a_bounce_inside_a_thread_is_answered_in_that_thread(slack_bot: SlackBot) -> None:
    await slack_bot.event(payload("message_bounce_in_thread.json"))
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert call.params["thread_ts"] == "1741140000.000100"


async def test_a_retry_and_an_edit_never_give_a_second_card(slack_bot: SlackBot) -> None:
    await slack_bot.event(payload("message_bounce.json"))
    await slack_bot.settle()
    # Slack signs a retry afresh (it comes later), so it passes the replay check.
    retry = await slack_bot.event(
        payload("message_bounce.json"),
        timestamp=int(time.time()) + 1,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    edit = await slack_bot.event(payload("message_changed.json"))
    assert (retry.status, edit.status) == (200, 200)
    await slack_bot.settle()
    assert len(slack_bot.slack.calls_to("chat.postMessage")) == 1


async def test_an_edit_that_turns_chatter_into_a_bounce_is_not_answered(
    slack_bot: SlackBot,
) -> None:
    await slack_bot.event(payload("message_changed.json"))
    await slack_bot.settle()
    assert slack_bot.slack.calls_to("chat.postMessage") == []


async def test_channel_chatter_gets_silence(slack_bot: SlackBot) -> None:
    assert (await slack_bot.event(payload("message_chatter.json"))).status == 200
    await slack_bot.settle()
    assert slack_bot.slack.calls_to("chat.postMessage") == []


async def test_a_direct_message_that_is_not_a_bounce_gets_the_help(slack_bot: SlackBot) -> None:
    await slack_bot.event(payload("message_im.json"))
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert call.params["channel"] == "D0HELPDESK"
    assert "paste a bounce, get the fix" in header(call.params)


async def test_a_mention_of_ndrbot_is_answered_like_a_direct_message(slack_bot: SlackBot) -> None:
    await slack_bot.event(payload("app_mention.json"))
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert "paste a bounce, get the fix" in header(call.params)
    assert call.params["thread_ts"] == "1741141200.000900"


async def test_other_bots_are_ignored(slack_bot: SlackBot) -> None:
    await slack_bot.event(payload("message_other_bot.json"))
    await slack_bot.settle()
    assert slack_bot.slack.calls_to("chat.postMessage") == []


async def test_an_uploaded_eml_is_fetched_with_the_bot_token(slack_bot: SlackBot) -> None:
    eml = (SAMPLES / "banned_ip_postfix.eml").read_bytes()
    file = slack_bot.slack.add_file("bounce.eml", eml, file_id="F0BOUNCE01")
    await slack_bot.event(payload("message_file_share.json", FILE_URL=file["url_private"]))
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    (download,) = slack_bot.slack.calls_to("files")
    assert download.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "banned" in header(call.params).lower()
    assert call.params["thread_ts"] == "1741141100.000800"


async def test_an_upload_slack_will_not_hand_over_is_reported(slack_bot: SlackBot) -> None:
    file = slack_bot.slack.add_file("bounce.eml", b"x", file_id="F0BOUNCE01")
    slack_bot.slack.fail("files", status=403)
    await slack_bot.event(payload("message_file_share.json", FILE_URL=file["url_private"]))
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert "Could not read the file" in header(call.params)
    assert "bounce.eml: Slack answered HTTP 403" in str(blocks_of(call.params))


async def test_the_token_is_never_sent_to_a_host_that_is_not_slack(slack_bot: SlackBot) -> None:
    data = payload("message_file_share.json", FILE_URL="https://evil.example/bounce.eml")
    await slack_bot.event(data)
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert "it is not stored on Slack" in str(blocks_of(call.params))


async def test_slack_s_url_check_is_answered(slack_bot: SlackBot) -> None:
    data = payload("url_verification.json")
    response = await slack_bot.event(data)
    assert response.status == 200
    assert data["challenge"] in (await response.text())


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at DEBUG, switched on before ndrbot starts (as an operator would)."""
    caplog.set_level(logging.DEBUG)
    return caplog


async def test_logs_hold_ids_and_sizes_but_no_paste_token_or_secret(
    debug_logs: pytest.LogCaptureFixture, slack_bot: SlackBot
) -> None:
    caplog = debug_logs
    await slack_bot.event(payload("message_bounce.json"))
    await slack_bot.slack.wait_for("chat.postMessage")
    await slack_bot.event(payload("message_bounce.json"), secret="forged")
    await slack_bot.settle()
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert "C0HELPDESK/1741140600.000200" in logged
    for secret in ("Urgent wire transfer", "sam@contoso.com", TOKEN, SECRET):
        assert secret not in logged


async def test_a_message_without_ts_or_channel_is_dropped(slack_bot: SlackBot) -> None:
    data = deep_copy(payload("message_bounce.json"))
    del data["event"]["channel"]
    assert (await slack_bot.event(data)).status == 200
    await slack_bot.settle()
    assert slack_bot.slack.calls_to("chat.postMessage") == []


async def test_a_bounce_whose_checks_take_time_gets_a_placeholder_edited_into_its_card(
    slack_bot: SlackBot,
) -> None:
    slack_bot.router.run_checks = True
    data = deep_copy(payload("message_bounce.json"))
    data["event"]["text"] = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    assert (await slack_bot.event(data)).status == 200
    (placeholder,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert "Reading the bounce, checking 192.0.2.80" in json.dumps(blocks_of(placeholder.params))
    (update,) = await slack_bot.slack.wait_for("chat.update")
    await slack_bot.settle()
    # The edit is of the placeholder itself: the one message the fake Slack holds for it.
    (posted,) = slack_bot.slack.history["C0HELPDESK"]
    assert update.params["ts"] == posted["ts"] != placeholder.params["thread_ts"]
    assert header(update.params).endswith("The sending IP address is on a blocklist (Spamhaus)")
    assert len(slack_bot.slack.calls_to("chat.postMessage")) == 1  # one message per diagnosis


async def test_a_placeholder_that_cannot_be_edited_still_gets_its_card_as_a_reply(
    slack_bot: SlackBot,
) -> None:
    slack_bot.router.run_checks = True
    slack_bot.slack.fail("chat.update", error="msg_too_long")
    data = deep_copy(payload("message_bounce.json"))
    data["event"]["text"] = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    assert (await slack_bot.event(data)).status == 200
    placeholder, card = await slack_bot.slack.wait_for("chat.postMessage", count=2)
    assert "Reading the bounce" in json.dumps(blocks_of(placeholder.params))
    assert header(card.params).endswith("The sending IP address is on a blocklist (Spamhaus)")


async def test_the_bot_asks_who_it_is_once_at_start_not_per_request(slack_bot: SlackBot) -> None:
    # Bolt would otherwise ask (auth.test) on every request until its first answer came back:
    # after a restart, the first burst's acks would wait on those calls.
    assert len(slack_bot.slack.calls_to("auth.test")) == 1
    events = []
    for n in range(4):
        data = deep_copy(payload("message_bounce.json"))
        data["event_id"] = f"Ev0FIRST{n}"
        data["event"]["ts"] = data["event"]["event_ts"] = f"1741140600.00040{n}"
        events.append(data)
    responses = await asyncio.gather(*(slack_bot.event(e) for e in events))
    assert [r.status for r in responses] == [200] * 4
    await slack_bot.slack.wait_for("chat.postMessage", count=4)
    assert len(slack_bot.slack.calls_to("auth.test")) == 1
