"""Delisting in Slack, through bolt's real dispatch: a block card's "Request delisting" opens a
prefilled, editable request (evidence first); "Mark as sent" says so on the card for everyone."""

from __future__ import annotations

import json
from typing import Any

from handlers.events import Command
from tests.dns.conftest import blocklist_zone
from tests.dns.server import LoopbackDns
from tests.fakes.cases import RecordingCases
from tests.slack.conftest import SAMPLES, SlackBot, blocks_of, deep_copy, payload

IP = "192.0.2.80"


async def _block_card(slack_bot: SlackBot, dns_server: LoopbackDns) -> dict[str, Any]:
    """Paste the Spamhaus bounce with the IP still on XBL; the card as Slack now holds it."""
    dns_server.zone.update(
        blocklist_zone(["zen.spamhaus.org"], {"80.2.0.192.zen.spamhaus.org": ["127.0.0.4"]})
    )
    slack_bot.router.run_checks = True
    data = deep_copy(payload("message_bounce.json"))
    data["event"]["text"] = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    assert (await slack_bot.event(data)).status == 200
    (update,) = await slack_bot.slack.wait_for("chat.update")
    return update.params


def _button(params: dict[str, Any], action_id: str) -> dict[str, Any]:
    buttons = [e for b in blocks_of(params) if b["type"] == "actions" for e in b["elements"]]
    return next(e for e in buttons if e["action_id"] == action_id)


async def test_request_delisting_opens_the_prefilled_request_with_the_evidence_first(
    slack_bot: SlackBot, dns_server: LoopbackDns
) -> None:
    card = await _block_card(slack_bot, dns_server)
    button = _button(card, "ndr_delist")
    assert button["text"]["text"] == "Request delisting"
    click = payload(
        "block_actions_share.json",
        CARD_ID=button["value"],
        RESPONSE_URL=slack_bot.slack.response_url(),
    )
    click["actions"][0]["action_id"] = "ndr_delist"
    click["container"].update(is_ephemeral=False, message_ts=card["ts"])
    assert (await slack_bot.interaction(click)).status == 200
    (opened,) = await slack_bot.slack.wait_for("views.open")
    assert opened.params["trigger_id"] == click["trigger_id"]
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["submit"]["text"] == "Mark as sent"
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    # Still on XBL: the request would fail, and the modal says so before anything else.
    assert texts[0].startswith(f"⚠️ Not yet: {IP} is still on a Spamhaus exploit list")
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["delist_ip"]["initial_value"] == IP
    assert "blocked using Spamhaus" in inputs["delist_body"]["initial_value"]
    assert inputs["delist_body"]["multiline"] is True
    link = next(b for b in view["blocks"] if "accessory" in b)["accessory"]
    assert link["url"] == "https://check.spamhaus.org/"


async def test_marking_the_request_sent_says_so_on_the_card_once(
    slack_bot: SlackBot, dns_server: LoopbackDns
) -> None:
    card = await _block_card(slack_bot, dns_server)
    card_id = _button(card, "ndr_delist")["value"]
    metadata = json.dumps({"card_id": card_id, "channel": card["channel"], "ts": card["ts"]})
    for user in ("U0HELPDESK", "U0OTHER"):  # a second submit, by anyone, changes nothing
        submission = deep_copy(payload("view_submission_paste.json", PRIVATE_METADATA=metadata))
        submission["view"]["callback_id"] = "ndr_delist"
        submission["user"]["id"] = user
        assert (await slack_bot.interaction(submission)).status == 200
    _, marked, again = await slack_bot.slack.wait_for("chat.update", count=3)
    assert marked.params["ts"] == again.params["ts"] == card["ts"]
    for update in (marked, again):  # the first mark stands
        text = json.dumps(blocks_of(update.params))
        assert text.count("Delisting requested by") == 1
        assert "Delisting requested by <@U0HELPDESK>" in text


async def test_a_card_that_is_gone_says_so_instead_of_a_form(slack_bot: SlackBot) -> None:
    click = payload(
        "block_actions_share.json",
        CARD_ID="nothing",
        RESPONSE_URL=slack_bot.slack.response_url("g"),
    )
    click["actions"][0]["action_id"] = "ndr_delist"
    assert (await slack_bot.interaction(click)).status == 200
    (said,) = await slack_bot.slack.wait_for("response_url")
    assert "no longer available" in said.params["text"]
    assert slack_bot.slack.calls_to("views.open") == []


async def _request_and_mark_sent(slack_bot: SlackBot, click: dict[str, Any]) -> None:
    """Click "Request delisting", then submit the modal it opened ("Mark as sent")."""
    click["actions"][0]["action_id"] = "ndr_delist"
    assert (await slack_bot.interaction(click)).status == 200
    (opened,) = await slack_bot.slack.wait_for("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    submission = deep_copy(
        payload("view_submission_paste.json", PRIVATE_METADATA=view["private_metadata"])
    )
    submission["view"]["callback_id"] = "ndr_delist"
    assert (await slack_bot.interaction(submission)).status == 200


async def test_marking_it_sent_opens_a_case_followed_in_the_pastes_thread(
    slack_bot: SlackBot, dns_server: LoopbackDns
) -> None:
    slack_bot.router.cases = book = RecordingCases()
    card = await _block_card(slack_bot, dns_server)
    button = _button(card, "ndr_delist")
    click = payload(
        "block_actions_share.json",
        CARD_ID=button["value"],
        RESPONSE_URL=slack_bot.slack.response_url(),
    )
    # The card is a reply in the paste's thread, as Slack says in the click.
    click["container"].update(
        is_ephemeral=False, message_ts=card["ts"], thread_ts="1741140600.000200"
    )
    await _request_and_mark_sent(slack_bot, click)
    await slack_bot.slack.wait_for("chat.update", count=2)
    (case,) = book.cases
    assert (case.platform, case.conversation) == ("slack", "C0HELPDESK")
    assert case.thread == "1741140600.000200"  # follow-ups land in the paste's thread
    assert (case.ip, case.zone, case.opened_by) == (IP, "zen.spamhaus.org", "U0HELPDESK")
    listed = await slack_bot.router.on_command(
        Command("slack", "C0HELPDESK", "U0HELPDESK", "ndr", "cases")
    )
    assert "1 delisting request(s)" in listed.card.title


async def test_a_private_card_is_marked_through_its_response_url_and_opens_no_case(
    slack_bot: SlackBot, dns_server: LoopbackDns
) -> None:
    slack_bot.router.cases = book = RecordingCases()
    card = await _block_card(slack_bot, dns_server)
    button = _button(card, "ndr_delist")
    private = slack_bot.slack.response_url("private")
    click = payload("block_actions_share.json", CARD_ID=button["value"], RESPONSE_URL=private)
    await _request_and_mark_sent(slack_bot, click)  # the container says is_ephemeral: true
    (updated,) = await slack_bot.slack.wait_for("response_url")
    assert updated.path == "/response/private" and updated.params["replace_original"] is True
    assert "Delisting requested by <@U0HELPDESK>" in json.dumps(blocks_of(updated.params))
    assert book.cases == []  # only its user sees it: nothing to follow up in a thread
