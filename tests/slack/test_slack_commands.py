"""Slash commands: "Checking…" within Slack's 3 seconds, then the private result replaces it;
"Share in channel" posts it for everyone; ``/ndr`` alone opens a form to paste into."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot.render.blockkit import render_blockkit
from handlers.card import Action, ActionKind, Card, Tone
from tests.dns.server import LoopbackDns
from tests.slack.conftest import SlackBot, blocks_of, bounce_text, header, payload

RESTRICTED = ":red_circle: Microsoft 365 has blocked this account from sending"


def _command(slack_bot: SlackBot, command: str, text: str, **fields: str) -> dict[str, Any]:
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url())
    data.update(command=command, text=text, **fields)
    return data


async def _run(slack_bot: SlackBot, command: str, text: str, **fields: str) -> dict[str, Any]:
    """Send a command; return the response_url post that replaced "Checking…"."""
    before = len(slack_bot.slack.calls_to("response_url"))
    response = await slack_bot.command(_command(slack_bot, command, text, **fields))
    assert response.status == 200
    calls = await slack_bot.slack.wait_for("response_url", count=before + 1)
    return calls[before].params


async def test_a_check_is_acknowledged_at_once_and_its_result_replaces_the_ack(
    slack_bot: SlackBot,
) -> None:
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("spf"))
    started = time.monotonic()
    response = await slack_bot.command(data)
    elapsed = time.monotonic() - started
    assert response.status == 200 and elapsed < 3.0
    ack = json.loads(await response.text())
    assert ack == {"text": ":hourglass_flowing_sand: Checking…", "response_type": "ephemeral"}
    (result,) = await slack_bot.slack.wait_for("response_url")
    assert result.path == "/response/spf"
    assert result.params["replace_original"] is True
    assert result.params["response_type"] == "ephemeral"
    # Slack's <http://contoso.com|contoso.com> markup was read as the domain typed.
    assert header(result.params) == ":white_check_mark: SPF check: contoso.com"
    (share,) = [b for b in blocks_of(result.params) if b["type"] == "actions"]
    assert share["elements"][0]["action_id"] == "ndr_share"
    assert share["elements"][0]["text"]["text"] == "Share in channel"


async def test_a_domain_with_a_null_mx_beside_a_real_one_gets_its_answer(
    slack_bot: SlackBot,
) -> None:
    result = await _run(slack_bot, "/mailcheck", "mixed.example")
    text = json.dumps(blocks_of(result))
    assert "A null MX is published beside other MX records" in text
    assert "mixed.example receives mail at mx.mixed.example" in text


async def test_share_in_channel_posts_the_result_for_everyone(slack_bot: SlackBot) -> None:
    result = await _run(slack_bot, "/spfcheck", "contoso.com")
    card_id = next(b for b in blocks_of(result) if b["type"] == "actions")["elements"][0]["value"]
    ephemeral = slack_bot.slack.response_url("ephemeral")
    click = payload("block_actions_share.json", CARD_ID=card_id, RESPONSE_URL=ephemeral)
    assert (await slack_bot.interaction(click)).status == 200
    (post,) = await slack_bot.slack.wait_for("chat.postMessage")
    assert post.params["channel"] == "C0HELPDESK"
    assert header(post.params) == ":white_check_mark: SPF check: contoso.com"
    # No Share button on the channel's copy; the channel can still check again.
    (buttons,) = [b for b in blocks_of(post.params) if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == ["ndr_recheck"]
    calls = await slack_bot.slack.wait_for("response_url", count=2)
    assert calls[-1].path == "/response/ephemeral"
    assert calls[-1].params["delete_original"] is True


async def test_share_where_ndrbot_is_not_a_member_goes_through_the_response_url(
    slack_bot: SlackBot,
) -> None:
    result = await _run(slack_bot, "/spfcheck", "contoso.com")
    card_id = next(b for b in blocks_of(result) if b["type"] == "actions")["elements"][0]["value"]
    slack_bot.slack.fail("chat.postMessage", error="not_in_channel")
    click = payload(
        "block_actions_share.json", CARD_ID=card_id, RESPONSE_URL=slack_bot.slack.response_url()
    )
    await slack_bot.interaction(click)
    calls = await slack_bot.slack.wait_for("response_url", count=3)
    shared, deleted = calls[1].params, calls[2].params
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert header(shared) == ":white_check_mark: SPF check: contoso.com"
    assert deleted["delete_original"] is True


async def test_sharing_a_card_ndrbot_no_longer_has_says_so(slack_bot: SlackBot) -> None:
    click = payload(
        "block_actions_share.json", CARD_ID="gone", RESPONSE_URL=slack_bot.slack.response_url()
    )
    await slack_bot.interaction(click)
    (call,) = await slack_bot.slack.wait_for("response_url")
    assert "no longer available" in call.params["text"]
    assert slack_bot.slack.calls_to("chat.postMessage") == []


async def test_ndr_alone_opens_the_paste_form_and_answers_privately(slack_bot: SlackBot) -> None:
    command = _command(slack_bot, "/ndr", "", response_url=slack_bot.slack.response_url("ndr"))
    response = await slack_bot.command(command)
    assert response.status == 200 and await response.text() == ""
    (opened,) = await slack_bot.slack.wait_for("views.open")
    assert opened.params["trigger_id"] == command["trigger_id"]
    view = opened.params["view"]
    assert view["callback_id"] == "ndr_paste"
    metadata = view["private_metadata"]
    assert json.loads(metadata)["channel"] == "C0HELPDESK"

    submission = payload("view_submission_paste.json", PRIVATE_METADATA=metadata)
    submission["view"]["state"]["values"]["ndr_paste_block"]["ndr_paste_text"]["value"] = (
        bounce_text()
    )
    response = await slack_bot.interaction(submission)
    assert response.status == 200 and await response.text() == ""  # the form closes
    (answer,) = await slack_bot.slack.wait_for("response_url")
    assert answer.path == "/response/ndr"
    assert answer.params["response_type"] == "ephemeral"
    assert header(answer.params) == RESTRICTED
    assert slack_bot.slack.calls_to("chat.postMessage") == []


async def test_an_empty_paste_form_is_refused_in_the_form(slack_bot: SlackBot) -> None:
    submission = payload("view_submission_paste.json", PRIVATE_METADATA="{}", PASTE="  ")
    response = await slack_bot.interaction(submission)
    assert json.loads(await response.text()) == {
        "response_action": "errors",
        "errors": {"ndr_paste_block": "Paste the bounce first."},
    }


async def test_ndr_with_text_diagnoses_it_privately(slack_bot: SlackBot) -> None:
    slack_text = bounce_text().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    result = await _run(slack_bot, "/ndr", slack_text)
    assert header(result) == RESTRICTED


async def test_help(slack_bot: SlackBot) -> None:
    result = await _run(slack_bot, "/ndrbot", "help")
    assert "paste a bounce, get the fix" in header(result)
    assert "/spfcheck DOMAIN [IP]" in json.dumps(blocks_of(result))


async def test_admins_are_listed_users_or_members_of_a_listed_user_group(
    slack_bot: SlackBot,
) -> None:
    slack_bot.slack.usergroups["S0ADMINS"] = ["U0HELPDESK"]
    await _run(slack_bot, "/ndrwatch", "list")
    await _run(slack_bot, "/ndrwatch", "list")
    await _run(slack_bot, "/ndrwatch", "list", user_id="U0BOSS")
    await _run(slack_bot, "/ndrwatch", "list", user_id="U0SOMEONE")
    assert [c.is_admin for c in slack_bot.watches.commands] == [True, True, True, False]
    assert [c.user for c in slack_bot.watches.commands][:3] == ["U0HELPDESK"] * 2 + ["U0BOSS"]
    # The group's members are cached: one lookup answers all four commands.
    assert len(slack_bot.slack.calls_to("usergroups.users.list")) == 1


async def test_too_many_commands_are_slowed_down_per_user(slack_bot: SlackBot) -> None:
    for _ in range(5):
        await _run(slack_bot, "/spfcheck", "contoso.com")
    result = await _run(slack_bot, "/spfcheck", "contoso.com")
    assert "Slow down" in header(result)
    other = await _run(slack_bot, "/spfcheck", "contoso.com", user_id="U0OTHER")
    assert "SPF check" in header(other)


async def test_recheck_edits_the_result_in_place_and_says_what_changed(
    slack_bot: SlackBot, dns_server: LoopbackDns
) -> None:
    result = await _run(slack_bot, "/spfcheck", "contoso.com 203.0.113.9")
    buttons = next(b for b in blocks_of(result) if b["type"] == "actions")["elements"]
    recheck = next(b for b in buttons if b["action_id"] == "ndr_recheck")
    assert "SPF gives fail for 203.0.113.9" in json.dumps(blocks_of(result))
    dns_server.zone["contoso.com"] = [("TXT", "v=spf1 ip4:203.0.113.9 -all")]  # fixed
    click = payload(
        "block_actions_share.json",
        CARD_ID=recheck["value"],
        RESPONSE_URL=slack_bot.slack.response_url("re"),
    )
    click["actions"][0]["action_id"] = "ndr_recheck"
    assert (await slack_bot.interaction(click)).status == 200
    call = (await slack_bot.slack.wait_for("response_url", count=2))[-1]
    assert call.path == "/response/re" and call.params["replace_original"] is True
    text = json.dumps(blocks_of(call.params))
    assert "Re-checked by <@U0HELPDESK>" in text
    assert "SPF for contoso.com now passes (was fail)" in text
    assert "the incident looks fixed" in text


async def test_taking_an_alert_edits_it_for_everyone(slack_bot: SlackBot) -> None:
    alert = Card(
        "203.0.113.5: listed on Spamhaus ZEN",
        Tone.ERROR,
        id="alert-9",
        actions=(Action(ActionKind.TAKE, "I'm on it"),),
    )
    slack_bot.store.save_card("alert-9", alert)
    (button,) = next(b for b in render_blockkit(alert)["blocks"] if b["type"] == "actions")[
        "elements"
    ]
    click = payload(
        "block_actions_share.json", CARD_ID="alert-9", RESPONSE_URL=slack_bot.slack.response_url()
    )
    click["actions"][0]["action_id"] = button["action_id"]
    click["container"]["is_ephemeral"] = False
    assert (await slack_bot.interaction(click)).status == 200
    (update,) = await slack_bot.slack.wait_for("chat.update")
    text = json.dumps(blocks_of(update.params))
    assert "Taken by <@U0HELPDESK>" in text and "ndr_take" not in text


async def test_command_answers_share_one_connection(slack_bot: SlackBot) -> None:
    for n in range(3):
        url = slack_bot.slack.response_url(f"spf{n}")
        assert (
            await slack_bot.command(payload("command_spfcheck.json", RESPONSE_URL=url))
        ).status == 200
        await slack_bot.slack.wait_for("response_url", count=n + 1)
    peers = {call.peer for call in slack_bot.slack.calls_to("response_url")}
    assert len(peers) == 1 and "" not in peers  # kept alive, not reopened per answer


async def test_button_answers_go_over_the_same_kept_alive_connection(slack_bot: SlackBot) -> None:
    """A re-check, a share and its private copy's removal, after a command's answer: every call
    after the ack reuses one connection (against Slack, each new one is a TLS handshake)."""
    result = await _run(slack_bot, "/spfcheck", "contoso.com")
    buttons = next(b for b in blocks_of(result) if b["type"] == "actions")["elements"]
    url = slack_bot.slack.response_url("buttons")
    for action in ("ndr_recheck", "ndr_share"):
        value = next(b["value"] for b in buttons if b["action_id"] == action)
        click = payload("block_actions_share.json", CARD_ID=value, RESPONSE_URL=url)
        click["actions"][0]["action_id"] = action
        assert (await slack_bot.interaction(click)).status == 200
        await slack_bot.settle()
    answers = [c for c in slack_bot.slack.calls if c.method in ("response_url", "chat.postMessage")]
    # The command's answer, the re-check, the share, the private copy removed:
    assert [c.method for c in answers] == [
        "response_url", "response_url", "chat.postMessage", "response_url"
    ]  # fmt: skip
    peers = {c.peer for c in answers}
    assert len(peers) == 1 and "" not in peers


async def test_a_stop_lets_an_acknowledged_answer_finish_before_closing_connections(
    slack_bot: SlackBot, dns_server: LoopbackDns
) -> None:
    """A deploy restarts the server while a check is still running: the command was
    acknowledged, so its answer must still reach Slack, over the connections it was using."""
    dns_server.faults.latency = 0.15  # the check's look-ups take a while
    url = slack_bot.slack.response_url("late")
    response = await slack_bot.command(payload("command_spfcheck.json", RESPONSE_URL=url))
    assert response.status == 200  # "Checking…": acknowledged
    await asyncio.sleep(0.05)  # the answer is under way
    assert slack_bot.integration.listeners.running  # ... and known to be
    await slack_bot.integration.stop()
    (answer,) = slack_bot.slack.calls_to("response_url")
    assert answer.path == "/response/late" and header(answer.params).startswith(
        ":white_check_mark: SPF check"
    )


async def test_an_answer_still_running_after_the_grace_is_stopped_not_left_behind(
    slack_bot: SlackBot, dns_server: LoopbackDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.slack.integration

    monkeypatch.setattr(bot.slack.integration, "STOP_GRACE", 0.05)
    dns_server.faults.latency = 0.4  # longer than the grace
    url = slack_bot.slack.response_url("too-late")
    assert (
        await slack_bot.command(payload("command_spfcheck.json", RESPONSE_URL=url))
    ).status == 200
    await asyncio.sleep(0.05)
    running = set(slack_bot.integration.listeners.running)
    assert running
    await slack_bot.integration.stop()
    assert all(task.done() for task in running) and not slack_bot.integration.listeners.running
    assert not slack_bot.slack.calls_to("response_url")  # cancelled, not sent on a closed pool
