"""Scenarios: recorded Bot Framework Activities posted over HTTP to ndrbot's ``/api/messages``
(the real ``CloudAdapter``), with the replies received by a fake connector on loopback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.dns.server import LoopbackDns
from tests.fakes.cases import RecordingCases
from tests.teams.cards import security_steps
from tests.teams.conftest import ADMIN_AAD, TeamsBed
from tests.teams.test_adaptive import assert_inert, assert_valid, walk

SAMPLES = Path(__file__).resolve().parents[1] / "ndr" / "samples"
CHANNEL = "19:c6e4b3a0f1d24b0e9a7f2c3d4e5f6a7b@thread.tacv2"


def title(card: dict[str, Any]) -> str:
    return "".join(run["text"] for run in card["body"][0]["items"][0]["inlines"]).strip()


def toggles(card: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: n["value"] for n in walk(card) if n.get("type") == "Input.Toggle"}


def submit_data(card: dict[str, Any], action: str) -> dict[str, Any]:
    (data,) = [
        n["data"]
        for n in walk(card)
        if n.get("type") == "Action.Submit" and n["data"].get("ndrbot") == action
    ]
    return dict(data)


def facts(card: dict[str, Any]) -> dict[str, str]:
    (table,) = [n for n in walk(card) if n.get("id") == "facts"]

    def text(block: dict[str, Any]) -> str:
        return "".join(run["text"] for run in block["inlines"])

    found = {}
    for row in table["items"]:  # label beside value, or above a long value
        label, value = (
            (c["items"][0] for c in row["columns"]) if row["type"] == "ColumnSet" else row["items"]
        )
        found[text(label)] = text(value)
    return found


async def test_a_pasted_bounce_gets_one_card_in_its_thread(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    activity = bed.activity("channel_bounce_paste")
    assert await bed.post(activity) == 200

    ((call, card),) = bed.cards()
    assert call.kind == "reply" and call.activity_id == activity["id"]
    assert call.conversation_id == activity["conversation"]["id"]  # the thread it came from
    assert_valid(card_schema, card)
    assert title(card) == "✖ Microsoft 365 has blocked this account from sending"
    # Teams drops <sam@contoso.com> from ``text``; the HTML copy of the message keeps it.
    assert facts(card)["Sender"] == "sam@contoso.com"
    assert "item:reset_password" in toggles(card)
    assert call.activity["summary"].startswith("Microsoft 365 has blocked")

    assert await bed.post(activity) == 200  # Teams redelivers: no second card
    assert len(bed.cards()) == 1


async def test_channel_chatter_edits_and_other_bots_get_silence(bed: TeamsBed) -> None:
    assert await bed.post(bed.activity("channel_chatter")) == 200
    assert await bed.post(bed.activity("channel_message_edit")) == 200
    other_bot = bed.activity("channel_bounce_paste")
    other_bot["from"] = {"id": "28:another-bot", "name": "Mail relay bot"}
    assert await bed.post(other_bot) == 200
    assert bed.connector.calls == []


async def test_a_command_after_a_mention_in_a_channel_answers_in_the_thread_with_a_share_button(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    activity = bed.activity("channel_mention_command")
    assert await bed.post(activity) == 200

    typing, answer = bed.connector.calls
    assert typing.activity["type"] == "typing" and typing.activity_id == activity["id"]
    assert answer.kind == "reply" and answer.card is not None
    assert_valid(card_schema, answer.card)
    assert title(answer.card) == "✔ SPF check: contoso.com"
    assert submit_data(answer.card, "share")["card_id"]
    # The bot's own mention is never mistaken for part of the command.
    assert await bed.post(bed.activity("channel_mention_command", id="1763630011999")) == 200
    assert title(bed.cards()[-1][1]) == "✔ SPF check: contoso.com"


async def test_a_slash_command_in_a_personal_chat_needs_no_mention_and_has_no_share_button(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    assert await bed.post(bed.activity("personal_command")) == 200
    ((_, card),) = bed.cards()
    assert_valid(card_schema, card)
    assert title(card) == "✔ DMARC check: contoso.com"
    # No channel to share to; the result can still be checked again.
    assert [a["data"]["ndrbot"] for a in card["actions"]] == ["recheck"]


async def test_ndr_with_a_pasted_bounce_reads_the_html_copy(bed: TeamsBed) -> None:
    paste = bed.activity("channel_bounce_paste")
    html = paste["attachments"][0]["content"]
    activity = bed.activity(
        "personal_command",
        text="ndr " + paste["text"],
        attachments=[{"contentType": "text/html", "content": f"<p>ndr</p>{html}"}],
    )
    assert await bed.post(activity) == 200
    ((_, card),) = bed.cards()
    assert title(card) == "✖ Microsoft 365 has blocked this account from sending"
    assert facts(card)["Sender"] == "sam@contoso.com"


async def test_without_a_mention_a_command_in_a_channel_is_just_chatter(bed: TeamsBed) -> None:
    activity = bed.activity("channel_chatter", text="spfcheck contoso.com", attachments=[])
    assert await bed.post(activity) == 200
    assert bed.connector.calls == []


async def test_an_uploaded_eml_in_a_personal_chat_is_fetched_and_diagnosed(bed: TeamsBed) -> None:
    url = bed.connector.add_file("bounce.eml", (SAMPLES / "gmail_unauthenticated.txt").read_bytes())
    activity = bed.activity("personal_file")
    activity["attachments"][0]["content"]["downloadUrl"] = url
    assert await bed.post(activity) == 200

    assert len(bed.connector.calls_of("file")) == 1
    ((_, card),) = bed.cards()
    assert "Gmail" in title(card) or "authenticat" in title(card).lower()
    assert facts(card)["Recipient"] == "dana@gmail.com"


async def test_a_file_that_cannot_be_fetched_is_said_plainly(bed: TeamsBed) -> None:
    activity = bed.activity("personal_file")
    activity["attachments"][0]["content"]["downloadUrl"] = bed.connector.service_url + "files/x/y"
    assert await bed.post(activity) == 200
    ((_, card),) = bed.cards()
    assert title(card) == "⚠ Could not read the file"
    assert "HTTP 404" in str(card)


async def test_addressing_the_bot_with_anything_else_gets_help(bed: TeamsBed) -> None:
    for name, changes in (
        ("personal_command", {"text": "hello there", "id": "p-hello"}),
        ("emulator_message", {}),
        ("channel_mention_command", {"text": "<at>ndrbot</at> hi", "attachments": []}),
    ):
        assert await bed.post(bed.activity(name, **changes)) == 200
    cards = bed.cards()
    assert [title(card) for _, card in cards] == ["ℹ ndrbot: paste a bounce, get the fix"] * 3
    assert cards[1][0].conversation_id.endswith("|livechat")  # the Emulator's conversation


async def test_ticks_update_the_card_for_everyone_and_unblock_waits_for_security(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    await bed.post(bed.activity("channel_bounce_paste"))
    ((_, card),) = bed.cards()
    card_id = submit_data(card, "tick")["card_id"]

    def tick(activity_id: str, **items: bool) -> dict[str, Any]:
        value = {"ndrbot": "tick", "card_id": card_id}
        value |= {f"item:{k}": "true" if v else "false" for k, v in items.items()}
        return bed.activity("channel_submit_tick", id=activity_id, value=value)

    assert await bed.post(tick("t1", reset_password=True, revoke_sessions=False)) == 200
    ((update, shown),) = bed.cards("update")
    assert update.activity_id == "1763629961000"  # the card's own message (replyToId)
    assert_valid(card_schema, shown)
    assert toggles(shown)["item:reset_password"] == "true"
    assert toggles(shown)["item:revoke_sessions"] == "false"
    assert any("Done by Helpdesk Pat on 20 Nov 2026, 09:15 UTC" in str(n) for n in walk(shown))
    assert "item:unblock" not in toggles(shown)

    assert (
        await bed.post(tick("t2", **dict.fromkeys(security_steps(bed.router.catalogue), True)))
        == 200
    )
    shown = bed.cards("update")[-1][1]
    assert toggles(shown)["item:unblock"] == "false"

    assert (
        await bed.post(
            tick("t3", **dict.fromkeys(security_steps(bed.router.catalogue), True), unblock=True)
        )
        == 200
    )
    shown = bed.cards("update")[-1][1]
    assert toggles(shown)["item:unblock"] == "true"

    # Un-ticking a security step takes the unblock tick back with it.
    assert await bed.post(tick("t4", reset_password=False, unblock=True)) == 200
    shown = bed.cards("update")[-1][1]
    assert toggles(shown)["item:reset_password"] == "false"
    assert "item:unblock" not in toggles(shown)


async def test_a_tick_for_a_forgotten_card_says_so(bed: TeamsBed) -> None:
    await bed.post(bed.activity("channel_submit_tick", value={"ndrbot": "tick", "card_id": "gone"}))
    ((call, card),) = bed.cards()
    assert call.kind == "reply" and title(card) == "⚠ Checklist not found"


async def test_share_posts_a_new_channel_message_once_and_drops_the_button(bed: TeamsBed) -> None:
    await bed.post(bed.activity("channel_mention_command"))
    card_id = submit_data(bed.cards()[-1][1], "share")["card_id"]

    share = bed.activity("channel_submit_share", value={"ndrbot": "share", "card_id": card_id})
    assert await bed.post(share) == 200
    assert await bed.post(share) == 200  # redelivered: still one post

    ((post, shared),) = bed.cards("send")
    assert post.conversation_id == CHANNEL  # a new top-level message, not in the thread
    assert "replyToId" not in post.activity
    assert title(shared) == "✔ SPF check: contoso.com"
    # No Share button on the channel's copy; the channel can still check again.
    assert [a["data"]["ndrbot"] for a in shared["actions"]] == ["recheck"]
    ((update, private),) = bed.cards("update")
    assert update.activity_id == share["replyToId"]
    assert [a["data"]["ndrbot"] for a in private["actions"]] == ["recheck"]


async def test_installing_remembers_the_conversation_and_welcomes_in_personal_chats(
    bed: TeamsBed,
) -> None:
    install = bed.activity("personal_installation_add")
    added = bed.activity("team_bot_added")
    assert await bed.post(install) == 200
    assert await bed.post(added) == 200

    ((_, welcome),) = bed.cards()
    assert title(welcome) == "ℹ ndrbot: paste a bounce, get the fix"
    for activity in (install, added):
        conversation = activity["conversation"]["id"]
        reference = bed.store.reference("teams", conversation)
        assert reference is not None
        assert reference["serviceUrl"] == bed.connector.service_url
        assert reference["conversation"]["id"] == conversation and "activityId" not in reference


async def test_being_addressed_in_a_thread_remembers_the_channel_not_the_thread(
    bed: TeamsBed,
) -> None:
    await bed.post(bed.activity("channel_mention_command"))
    reference = bed.store.reference("teams", CHANNEL)
    assert reference is not None and reference["conversation"]["id"] == CHANNEL
    await bed.teams.poster.post(CHANNEL, bed.router.help())
    (post,) = bed.connector.calls_of("send")
    assert post.conversation_id == CHANNEL


async def test_alerts_here_knows_who_is_an_admin(bed: TeamsBed) -> None:
    admin = bed.activity("channel_mention_command", text="<at>ndrbot</at> alerts here")
    other = bed.activity("channel_mention_command", id="m2", text="<at>ndrbot</at> alerts here")
    other["from"] = {"id": "29:someone", "name": "Someone", "aadObjectId": "0000-not-admin"}
    assert await bed.post(admin) == 200
    assert await bed.post(other) == 200
    assert [(c.name, c.args, c.is_admin, c.conversation) for c in bed.alert_commands] == [
        ("ndrbot", "alerts here", True, CHANNEL),
        ("ndrbot", "alerts here", False, CHANNEL),
    ]
    assert bed.alert_commands[0].user == ADMIN_AAD


async def test_hostile_senders_and_diagnostics_render_inert(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    evil = (
        "[click](https://evil.example) **now** <at>Everyone</at> \"q\" 'q' </script>"
        "\x07\x1b[2J\u202e https://evil.example/x"
    )
    text = (SAMPLES / "restricted_sender_quoted.txt").read_text()
    text = text.replace("bad outbound sender", f"bad outbound sender {evil}")
    text = text.replace("From: Sam Lee <sam@contoso.com>", f"From: {evil} <sam@contoso.com>")
    activity = bed.activity("channel_bounce_paste", text=text, attachments=[])
    activity["from"]["name"] = evil
    assert await bed.post(activity) == 200
    ((_, card),) = bed.cards()
    card_id = submit_data(card, "tick")["card_id"]
    value = {"ndrbot": "tick", "card_id": card_id, "item:reset_password": "true"}
    tick = bed.activity("channel_submit_tick", value=value)
    tick["from"]["name"] = evil  # the ticker's display name shows on the card
    assert await bed.post(tick) == 200

    for _, shown in bed.cards():
        assert_valid(card_schema, shown)
        assert_inert(
            shown,
            {
                "https://security.microsoft.com/restrictedentities",
                "https://security.microsoft.com/alertpoliciesv2",
            },
        )
    assert "**now** <at>Everyone</at>" in str(bed.cards("update")[0][1])


async def test_a_failed_reply_is_logged_without_the_paste(
    bed: TeamsBed, caplog: pytest.LogCaptureFixture
) -> None:
    bed.connector.fail("reply", status=500)
    with caplog.at_level(logging.DEBUG, logger="ndrbot"):
        assert await bed.post(bed.activity("channel_bounce_paste")) == 200
    assert [c.kind for c in bed.connector.calls] == ["reply"]
    (record,) = [r for r in caplog.records if r.name == "ndrbot.teams"]
    assert "ErrorResponseException" in record.getMessage()
    assert "fabrikam" not in caplog.text and "5.1.8" not in caplog.text


async def test_recheck_updates_the_card_in_place_with_what_changed(
    bed: TeamsBed, dns_server: LoopbackDns, card_schema: jsonschema.Draft6Validator | None
) -> None:
    command = "<at>ndrbot</at> spfcheck contoso.com 203.0.113.9"
    activity = bed.activity("channel_mention_command", text=command, attachments=[])
    assert await bed.post(activity) == 200
    ((_, card),) = bed.cards()
    assert title(card) == "✖ SPF check: contoso.com"
    card_id = submit_data(card, "recheck")["card_id"]
    dns_server.zone["contoso.com"] = [("TXT", "v=spf1 ip4:203.0.113.9 -all")]  # someone fixed it
    value = {"ndrbot": "recheck", "card_id": card_id}
    click = bed.activity("channel_submit_tick", id="r1", value=value)
    assert await bed.post(click) == 200
    assert await bed.post(click) == 200  # redelivered: checked once, updated once
    ((_update, shown),) = bed.cards("update")
    assert_valid(card_schema, shown)
    text = json.dumps(shown, ensure_ascii=False)
    assert "Re-checked by" in text and "SPF for contoso.com now passes (was fail)" in text
    assert "the incident looks fixed" in text


async def test_a_bounce_whose_checks_take_time_gets_a_placeholder_updated_into_its_card(
    bed: TeamsBed, card_schema: jsonschema.Draft6Validator | None
) -> None:
    bed.router.run_checks = True
    text = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    activity = bed.activity("channel_bounce_paste", text=text, attachments=[])
    assert await bed.post(activity) == 200
    ((_reply, placeholder),) = bed.cards("reply")
    assert "Reading the bounce, checking 192.0.2.80" in json.dumps(placeholder)
    ((update, card),) = bed.cards("update")
    assert update.activity_id == "1:1"  # the placeholder's own id, as the connector gave it
    assert_valid(card_schema, card)
    assert title(card) == "✖ The sending IP address is on a blocklist (Spamhaus)"


async def test_after_a_recheck_in_a_personal_chat_the_card_still_has_no_share_button(
    bed: TeamsBed,
) -> None:
    command = bed.activity("personal_command")
    assert await bed.post(command) == 200
    ((_, card),) = bed.cards()
    value = {"ndrbot": "recheck", "card_id": submit_data(card, "recheck")["card_id"]}
    submit = bed.activity("channel_submit_tick", id="r2", value=value)
    submit["conversation"] = command["conversation"]
    assert await bed.post(submit) == 200
    ((_update, shown),) = bed.cards("update")
    assert [a["data"]["ndrbot"] for a in shown["actions"]] == ["recheck"]


async def test_request_delisting_gives_an_editable_request_and_marking_it_sent_shows_on_the_card(
    bed: TeamsBed, dns_server: LoopbackDns, card_schema: jsonschema.Draft6Validator | None
) -> None:
    bed.router.run_checks = True
    text = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    assert await bed.post(bed.activity("channel_bounce_paste", text=text, attachments=[])) == 200
    ((_update, card),) = bed.cards("update")
    data = submit_data(card, "delist")
    click = bed.activity("channel_submit_tick", id="d1", value=data)
    assert await bed.post(click) == 200
    (_reply, _placeholder), (_draft_reply, draft) = bed.cards("reply")
    assert_valid(card_schema, draft)
    assert_inert(draft, {"https://check.spamhaus.org/"})
    inputs = {n["id"]: n for n in walk(draft) if n.get("type") == "Input.Text"}
    assert inputs["delist_ip"]["value"] == "192.0.2.80"
    assert inputs["delist_body"]["isMultiline"] is True
    assert "blocked using Spamhaus" in inputs["delist_body"]["value"]
    links = [n["url"] for n in walk(draft) if n.get("type") == "Action.OpenUrl"]
    assert links == ["https://check.spamhaus.org/"]
    # "Mark as sent" names the card's own message, so that card is the one updated.
    sent = submit_data(draft, "delist_sent")
    assert sent["card_message"] == click["replyToId"]
    assert await bed.post(bed.activity("channel_submit_tick", id="d2", value=sent)) == 200
    (_first, _), (marked_update, marked) = bed.cards("update")
    assert marked_update.activity_id == click["replyToId"]
    assert_valid(card_schema, marked)
    assert "Delisting requested by" in json.dumps(marked, ensure_ascii=False)


async def test_marking_a_delisting_request_sent_opens_a_case_in_the_cards_channel_thread(
    bed: TeamsBed, dns_server: LoopbackDns
) -> None:
    bed.router.cases = book = RecordingCases()
    bed.router.run_checks = True
    text = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    assert await bed.post(bed.activity("channel_bounce_paste", text=text, attachments=[])) == 200
    ((_update, card),) = bed.cards("update")
    click = bed.activity("channel_submit_tick", id="d1", value=submit_data(card, "delist"))
    assert await bed.post(click) == 200
    (_placeholder, (_reply, draft)) = bed.cards("reply")
    sent = bed.activity("channel_submit_tick", id="d2", value=submit_data(draft, "delist_sent"))
    assert await bed.post(sent) == 200
    (case,) = book.cases
    conversation = sent["conversation"]["id"]
    assert case.platform == "teams" and case.conversation == conversation.split(";")[0]
    # Follow-ups go in the channel thread the card is in.
    assert case.thread == conversation.split(";messageid=")[1]
    assert case.ip == "192.0.2.80" and case.zone == "zen.spamhaus.org"
