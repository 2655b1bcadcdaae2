"""The compromised-account checklist: ticks are recorded, shown to everyone with who and when,
and the unblock step is offered only once every security step is ticked."""

from __future__ import annotations

from typing import Any

from tests.slack.conftest import SlackBot, blocks_of, bounce_text, payload

TS = "1700000000.000099"


def _items(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        b["block_id"].split("|")[1]: b
        for b in blocks_of(params)
        if b.get("block_id", "").startswith("ndr_item|")
    }


async def _posted_card(slack_bot: SlackBot) -> dict[str, dict[str, Any]]:
    await slack_bot.event(payload("message_bounce.json"))
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    return _items(call.params)


async def _tick(
    slack_bot: SlackBot, block: dict[str, Any], *, done: bool = True, user: str = "U0HELPDESK"
) -> dict[str, dict[str, Any]]:
    box = block["accessory"]
    data = payload(
        "block_actions_tick.json",
        ACTION_ID=box["action_id"],
        BLOCK_ID=block["block_id"],
        MESSAGE_TS=TS,
        RESPONSE_URL=slack_bot.slack.response_url(),
    )
    data["user"]["id"] = user
    if not done:
        data["actions"][0]["selected_options"] = []
    before = len(slack_bot.slack.calls_to("chat.update"))
    assert (await slack_bot.interaction(data)).status == 200
    calls = await slack_bot.slack.wait_for("chat.update", count=before + 1)
    update = calls[-1].params
    assert (update["channel"], update["ts"]) == ("C0HELPDESK", TS)
    return _items(update)


async def test_ticks_update_the_card_and_unlock_the_unblock_step_last(slack_bot: SlackBot) -> None:
    items = await _posted_card(slack_bot)
    assert "accessory" not in items["unblock"]
    assert items["unblock"]["text"]["text"].startswith("*Not yet:*")
    security = [k for k in items if k != "unblock"]
    assert len(security) >= 5
    # A tick on the unblock step sent anyway (an old client, a crafted request) changes nothing.
    card_id = items[security[0]]["accessory"]["action_id"].split("|")[1]
    forced = {
        "block_id": "ndr_item|unblock",
        "accessory": {"action_id": f"ndr_tick|{card_id}|unblock"},
    }
    items = await _tick(slack_bot, forced)
    assert items["unblock"]["text"]["text"].startswith("*Not yet:*")
    for n, key in enumerate(security):
        before = items[key]["block_id"]
        items = await _tick(slack_bot, items[key])
        ticked = items[key]
        # A new block id for a changed item: Slack keeps checkbox state by block id.
        assert ticked["block_id"] != before
        assert ticked["accessory"]["initial_options"] == ticked["accessory"]["options"]
        assert "Done by <@U0HELPDESK> at <!date^" in ticked["text"]["text"]
        if n < len(security) - 1:
            assert "accessory" not in items["unblock"], f"unblock offered after {key}"
    assert items["unblock"]["accessory"]["type"] == "checkboxes"
    items = await _tick(slack_bot, items["unblock"], user="U0BOSS")
    assert "Done by <@U0BOSS>" in items["unblock"]["text"]["text"]

    # Un-ticking a security step takes the unblock step back to "not yet".
    items = await _tick(slack_bot, items[security[0]], done=False)
    assert "initial_options" not in items[security[0]]["accessory"]
    assert items["unblock"]["text"]["text"].startswith("*Not yet:*")


async def test_a_tick_on_a_private_card_replaces_it_through_the_response_url(
    slack_bot: SlackBot,
) -> None:
    command = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url())
    text = bounce_text().replace("<", "&lt;").replace(">", "&gt;")
    command.update(command="/ndr", text=text)
    await slack_bot.command(command)
    (result,) = await slack_bot.slack.wait_for("response_url")
    block = _items(result.params)["reset_password"]
    data = payload(
        "block_actions_tick.json",
        ACTION_ID=block["accessory"]["action_id"],
        BLOCK_ID=block["block_id"],
        MESSAGE_TS=TS,
        RESPONSE_URL=slack_bot.slack.response_url("private-card"),
    )
    data["container"]["is_ephemeral"] = True
    await slack_bot.interaction(data)
    calls = await slack_bot.slack.wait_for("response_url", count=2)
    assert calls[1].path == "/response/private-card"
    assert calls[1].params["replace_original"] is True
    assert "Done by <@U0HELPDESK>" in _items(calls[1].params)["reset_password"]["text"]["text"]
    assert slack_bot.slack.calls_to("chat.update") == []


async def test_a_tick_on_a_forgotten_card_says_so(slack_bot: SlackBot) -> None:
    data = payload(
        "block_actions_tick.json",
        ACTION_ID="ndr_tick|nosuchcard|reset_password",
        BLOCK_ID="ndr_item|reset_password",
        MESSAGE_TS=TS,
        RESPONSE_URL=slack_bot.slack.response_url(),
    )
    await slack_bot.interaction(data)
    (call,) = await slack_bot.slack.wait_for("response_url")
    assert "no longer available" in call.params["text"]
    assert slack_bot.slack.calls_to("chat.update") == []
