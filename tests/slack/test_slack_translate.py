"""Slack's payloads as the router's values: markup read back as plain text, events mapped."""

from __future__ import annotations

import pytest

from bot.slack.translate import (
    from_slack_text,
    is_slack_url,
    message_from_event,
    paste_modal,
    paste_origin,
    readable_file,
)
from tests.slack.conftest import bounce_text, payload


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("&lt;<mailto:pat@contoso.com|pat@contoso.com>&gt;", "<pat@contoso.com>"),
        ("<http://contoso.com|contoso.com>", "contoso.com"),
        ("<https://example.com/a?b=1&amp;c=2>", "https://example.com/a?b=1&c=2"),
        ("<mailto:pat@contoso.com>", "pat@contoso.com"),
        ("<@U0HELPDESK> <#C0HELPDESK|helpdesk> <#C0X>", "@U0HELPDESK #helpdesk #C0X"),
        ("<@U0HELPDESK|pat>", "@pat"),
        ("<!here> <!channel> <!subteam^S0ADMINS|@admins>", "@here @channel @admins"),
        ("a &amp;lt; b &amp;amp; c", "a &lt; b &amp; c"),
        ("5.7.1 &lt;x@y&gt;: Relay denied", "5.7.1 <x@y>: Relay denied"),
        ("no markup at all", "no markup at all"),
    ],
)
def test_slack_markup_is_read_back_as_the_plain_text_pasted(slack: str, plain: str) -> None:
    assert from_slack_text(slack) == plain


def test_the_recorded_paste_reads_back_as_the_sample() -> None:
    event = payload("message_bounce.json")["event"]
    assert from_slack_text(event["text"]) == bounce_text()


def test_an_edit_keeps_the_original_ts_and_is_marked_edited() -> None:
    slack = message_from_event(payload("message_changed.json")["event"], "U0NDRBOT1")
    assert slack is not None
    assert slack.message.message_id == "1741140600.000200" and slack.message.edited


@pytest.mark.parametrize("subtype", ["message_deleted", "channel_join", "message_replied"])
def test_housekeeping_events_are_not_messages(subtype: str) -> None:
    event = {"type": "message", "subtype": subtype, "channel": "C1", "ts": "1.2"}
    assert message_from_event(event, "U0NDRBOT1") is None


def test_a_mention_of_the_bot_is_addressed_and_removed_from_the_text() -> None:
    slack = message_from_event(payload("app_mention.json")["event"], "U0NDRBOT1")
    assert slack is not None
    assert slack.message.direct and slack.message.text == "are you there?"


def test_direct_messages_and_other_bots() -> None:
    im = message_from_event(payload("message_im.json")["event"], "U0NDRBOT1")
    bot = message_from_event(payload("message_other_bot.json")["event"], "U0NDRBOT1")
    assert im is not None and im.message.direct
    assert bot is not None and bot.message.from_bot


@pytest.mark.parametrize(
    ("file", "readable"),
    [
        ({"name": "bounce.eml", "mimetype": "message/rfc822"}, True),
        ({"name": "NDR.TXT", "mimetype": "application/octet-stream"}, True),
        ({"name": "Untitled", "mimetype": "text/plain"}, True),  # a long paste became a snippet
        ({"name": "screenshot.png", "mimetype": "image/png"}, False),
    ],
)
def test_which_uploads_are_read(file: dict[str, str], readable: bool) -> None:
    assert readable_file(file) is readable


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://files.slack.com/files-pri/T1-F1/bounce.eml", True),
        ("https://hooks.slack.com/commands/T1/1/abc", True),
        ("https://hooks.slack-gov.com/commands/T1/1/abc", True),
        ("http://files.slack.com/x", False),
        ("https://slack.com.evil.example/x", False),
        ("https://evilslack.com/x", False),
        ("http://127.0.0.1:8080/files/F1/b.eml", True),  # the SLACK_API_URL host (tests)
        ("http://127.0.0.2:8080/files/F1/b.eml", False),
    ],
)
def test_tokens_and_private_answers_go_only_to_slack(url: str, trusted: bool) -> None:
    assert is_slack_url(url, "http://127.0.0.1:8080/api/") is trusted


def test_the_paste_form_carries_where_to_answer() -> None:
    view = paste_modal("C0HELPDESK", "https://hooks.slack.com/commands/T1/2/xyz")
    view["state"] = {"values": {"ndr_paste_block": {"ndr_paste_text": {"value": "550 5.1.1"}}}}
    assert paste_origin(view) == (
        "550 5.1.1",
        "C0HELPDESK",
        "https://hooks.slack.com/commands/T1/2/xyz",
    )
    assert paste_origin({"private_metadata": "not json"}) == ("", "", "")
