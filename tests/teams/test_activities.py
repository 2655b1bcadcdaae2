"""Reading Activities without a server: mentions, commands, HTML bodies, submits, files."""

from __future__ import annotations

import pytest

from bot.teams.activities import (
    FileRef,
    Submit,
    base_conversation,
    command_in,
    file_refs,
    html_body,
    html_to_text,
    parse_command,
    parse_submit,
    problems,
    strip_mention,
)
from tests.teams.conftest import BOT_ID, load_activity

MENTION = {"type": "mention", "text": "<at>ndrbot</at>", "mentioned": {"id": BOT_ID, "name": "x"}}


def test_every_command_of_the_table_can_be_typed() -> None:
    words = {
        "spfcheck",
        "dmarccheck",
        "dkimcheck",
        "blcheck",
        "mailcheck",
        "ndr",
        "ndrwatch",
        "ndrbot",
        "help",
    }
    assert {parse_command(f"{word} x") for word in words} == {(word, "x") for word in words}
    assert parse_command("alerts here") == ("ndrbot", "alerts here")
    assert parse_command("spfcheckx contoso.com") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spfcheck contoso.com", ("spfcheck", "contoso.com")),
        ("/spfcheck contoso.com 203.0.113.5", ("spfcheck", "contoso.com 203.0.113.5")),
        ("  SPFCHECK\u00a0contoso.com ", ("spfcheck", "contoso.com")),
        ("help", ("help", "")),
        ("/ndrbot help", ("ndrbot", "help")),
        ("alerts here", ("ndrbot", "alerts here")),
        ("ndr Delivery has failed\n550 5.1.1 x", ("ndr", "Delivery has failed\n550 5.1.1 x")),
        ("ndr\nDelivery has failed", ("ndr", "Delivery has failed")),
        ("spfchecker contoso.com", None),
        ("Delivery has failed to these recipients", None),
        ("", None),
        ("/ spfcheck", None),
    ],
)
def test_commands_with_or_without_a_slash(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(text) == expected


def test_the_bots_mention_is_stripped_and_others_are_kept() -> None:
    other = {
        "type": "mention",
        "text": "<at>Sam</at>",
        "mentioned": {"id": "29:sam", "name": "Sam"},
    }
    text, mentioned = strip_mention(
        "<at>ndrbot</at> spfcheck contoso.com ask <at>Sam</at>", [MENTION, other], BOT_ID
    )
    assert (text, mentioned) == ("spfcheck contoso.com ask <at>Sam</at>", True)
    assert strip_mention("<at>Sam</at> hi", [other], BOT_ID) == ("<at>Sam</at> hi", False)


def test_a_leading_mention_without_an_entity_counts_when_it_names_the_bot() -> None:
    assert strip_mention("<at>ndrbot</at> help", [], "28:x", "ndrbot") == ("help", True)
    assert strip_mention("<at>Sam</at> help", [], "28:x", "ndrbot") == ("<at>Sam</at> help", False)


def test_a_forged_mention_entity_for_someone_else_does_not_address_the_bot() -> None:
    forged = {"type": "mention", "text": "<at>ndrbot</at>", "mentioned": {"id": "28:other"}}
    assert strip_mention("<at>ndrbot</at> help", [forged], BOT_ID)[1] is False


def test_html_bodies_keep_the_addresses_teams_drops_from_text() -> None:
    html = (
        '<p><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">ndrbot</span>'
        "&nbsp;From: Sam Lee &lt;sam@contoso.com&gt;<br>To: jo@fabrikam.com</p><div>550 5.1.8</div>"
    )
    assert html_to_text(html) == "From: Sam Lee <sam@contoso.com>\nTo: jo@fabrikam.com\n\n550 5.1.8"
    assert html_to_text("<p><at>ndrbot</at> spfcheck x</p>") == "spfcheck x"


def test_thread_suffixes_are_dropped_from_channel_conversations() -> None:
    channel = "19:abc@thread.tacv2"
    assert base_conversation(f"{channel};messageid=1763629960123") == channel
    assert base_conversation("a:1Jx9yQ2w3E4r5") == "a:1Jx9yQ2w3E4r5"


def test_submits_from_ndrbot_cards_are_read_and_anything_else_is_not() -> None:
    value = {"ndrbot": "tick", "card_id": "c1", "item:a": "true", "item:b": "false", "x": "1"}
    assert parse_submit(value) == Submit("tick", "c1", {"a": True, "b": False})
    assert parse_submit({"ndrbot": "share", "card_id": "c1"}) == Submit("share", "c1", {})
    for other in (None, "tick", {"ndrbot": "unblock", "card_id": "c1"}, {"ndrbot": "tick"}):
        assert parse_submit(other) is None
    assert parse_submit({"ndrbot": "tick", "card_id": "c" * 500}) is None


def test_only_eml_and_txt_files_with_a_download_url_are_fetched() -> None:
    activity = load_activity("personal_file", "https://smba.example/")
    (ref,) = file_refs(activity["attachments"])
    assert ref == FileRef("bounce.eml", activity["attachments"][0]["content"]["downloadUrl"])
    other = dict(activity["attachments"][0], name="photo.png")
    html = {"contentType": "text/html", "content": "<p>x</p>", "name": "bounce.eml"}
    assert file_refs([other, html]) == []


@pytest.mark.parametrize(
    "name",
    [
        "channel_bounce_paste",
        "channel_mention_command",
        "channel_chatter",
        "personal_command",
        "personal_file",
        "channel_submit_tick",
        "channel_submit_share",
        "personal_installation_add",
        "team_bot_added",
        "channel_message_edit",
        "emulator_message",
    ],
)
def test_every_recorded_activity_is_usable(name: str) -> None:
    assert problems(load_activity(name, "https://smba.example/")) == []


def test_problems_name_the_fields() -> None:
    assert problems([]) == ["the body is not a JSON object (an Activity)"]
    found = problems({"type": "message", "text": 5, "serviceUrl": "ftp://x"})
    assert found == [
        "'channelId' is missing or not a string",
        "'conversation.id' is missing or not a string",
        "'serviceUrl' is missing or not an http(s) URL",
        "'id' is missing or not a string",
        "'from.id' is missing or not a string",
        "'text' must be a str",
    ]


def test_a_commands_arguments_come_from_the_html_copy_when_it_is_the_same_command() -> None:
    assert command_in("ndr From: Sam", "ndr From: Sam <sam@contoso.com>") == (
        "ndr",
        "From: Sam <sam@contoso.com>",
    )
    assert command_in("spfcheck contoso.com", "") == ("spfcheck", "contoso.com")
    assert command_in("Delivery has failed", "ndr x") is None


def test_the_html_body_is_read_from_the_text_html_attachment_only() -> None:
    attachments = [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": {"body": []}},
        {"contentType": "text/html", "content": "<p>a &amp; b</p>"},
    ]
    assert html_body(attachments) == "a & b"
    assert html_body([]) == ""
