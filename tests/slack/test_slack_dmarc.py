"""``/dmarcreport`` through Slack's real path: a signed slash command, acked, then the card
through the response_url."""

from __future__ import annotations

import gzip
import json

import pytest

from knowledge import Catalogue
from tests.dmarc.build import Row, report_xml, with_reports
from tests.slack.conftest import SlackBot, blocks_of, header, payload


async def test_dmarcreport_in_slack(slack_bot: SlackBot, catalogue: Catalogue) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("d"))
    data.update(command="/dmarcreport", text="contoso.com 7")
    response = await slack_bot.command(data)
    assert response.status == 200
    (result,) = await slack_bot.slack.wait_for("response_url")
    assert header(result.params).endswith("DMARC reports: contoso.com")
    text = json.dumps(blocks_of(result.params))
    assert "2,357 messages from 5 sources in 2 reports" in text
    assert "SendGrid (Twilio)" in text and "Forwarders and mailing lists" in text
    share = [b for b in blocks_of(result.params) if b["type"] == "actions"]
    assert share and share[0]["elements"][0]["action_id"] == "ndr_share"


async def test_dmarcreport_refuses_a_bad_domain_with_the_usage(slack_bot: SlackBot) -> None:
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("bad"))
    data.update(command="/dmarcreport", text="not_a_domain 7")
    await slack_bot.command(data)
    (result,) = await slack_bot.slack.wait_for("response_url")
    assert "/dmarcreport DOMAIN [DAYS]" in json.dumps(result.params)


async def test_a_report_file_sent_to_the_bot_directly_is_stored(
    slack_bot: SlackBot, catalogue: Catalogue
) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    report = gzip.compress(report_xml([Row("192.0.2.9", 7)], report_id="upload-1"))
    file = slack_bot.slack.add_file("report.xml.gz", report, file_id="F0REPORT01")
    data = payload("message_file_share.json", FILE_URL=file["url_private"])
    data["event"].update(channel="D0NDRBOT1", channel_type="im")
    await slack_bot.event(data)
    (call,) = await slack_bot.slack.wait_for("chat.postMessage")
    said = json.dumps(blocks_of(call.params))
    assert "DMARC reports received" in header(call.params)
    assert "1 stored" in said and "upload-1" in said


async def test_dmarcready_reads_the_live_record_and_proposes_the_next_one(
    slack_bot: SlackBot, catalogue: Catalogue
) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("r"))
    data.update(command="/dmarcready", text="contoso.com")
    assert (await slack_bot.command(data)).status == 200
    (result,) = await slack_bot.slack.wait_for("response_url")
    said = json.dumps(blocks_of(result.params))
    assert header(result.params).endswith("DMARC enforcement: contoso.com")
    assert "Safe to move contoso.com to p=none with np=reject" in said
    assert "v=DMARC1; p=none; np=reject; rua=mailto:dmarc@contoso.com" in said
    assert "pct: 100 \\u2192 (removed)" in said


async def test_the_dmarcreport_chart_is_uploaded_and_shown_from_slack(
    slack_bot: SlackBot, catalogue: Catalogue
) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("c"))
    data.update(command="/dmarcreport", text="contoso.com 7")
    await slack_bot.command(data)
    (result,) = await slack_bot.slack.wait_for("response_url")
    (image,) = [b for b in blocks_of(result.params) if b["type"] == "image"]
    file_id = image["slack_file"]["id"]
    assert slack_bot.slack.uploads[file_id][:8] == b"\x89PNG\r\n\x1a\n"
    assert [f["id"] for f in slack_bot.slack.completed] == [file_id]
    assert "Messages per day for contoso.com" in image["alt_text"]


async def test_a_failed_upload_leaves_the_card_without_its_chart(
    slack_bot: SlackBot, catalogue: Catalogue
) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    slack_bot.slack.fail("files.getUploadURLExternal", error="missing_scope")
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("n"))
    data.update(command="/dmarcreport", text="contoso.com 7")
    await slack_bot.command(data)
    (result,) = await slack_bot.slack.wait_for("response_url")
    assert header(result.params).endswith("DMARC reports: contoso.com")
    assert not [b for b in blocks_of(result.params) if b["type"] == "image"]


async def test_a_refused_image_block_still_delivers_the_card(
    slack_bot: SlackBot, catalogue: Catalogue
) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    slack_bot.slack.fail("response_url", status=400)  # Slack refuses the first message
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("r2"))
    data.update(command="/dmarcreport", text="contoso.com 7")
    await slack_bot.command(data)
    first, second = await slack_bot.slack.wait_for("response_url", count=2)
    assert [b for b in blocks_of(first.params) if b["type"] == "image"]
    assert not [b for b in blocks_of(second.params) if b["type"] == "image"]
    assert header(second.params).endswith("DMARC reports: contoso.com")


async def test_the_chart_waits_for_slack_to_finish_the_upload_before_naming_it(
    slack_bot: SlackBot, catalogue: Catalogue
) -> None:
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    slack_bot.slack.processing_polls = 2  # Slack is still scanning the file for two looks
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("w"))
    data.update(command="/dmarcreport", text="contoso.com 7")
    await slack_bot.command(data)
    (result,) = await slack_bot.slack.wait_for("response_url", timeout=10)
    assert [b for b in blocks_of(result.params) if b["type"] == "image"]
    assert len(slack_bot.slack.calls_to("files.info")) == 3


async def test_an_upload_slack_never_finishes_leaves_the_card_without_its_chart(
    slack_bot: SlackBot, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.slack.pictures.PAUSE", 0.01)
    with_reports(slack_bot.router, slack_bot.store.db, catalogue)
    slack_bot.slack.processing_polls = None
    data = payload("command_spfcheck.json", RESPONSE_URL=slack_bot.slack.response_url("u"))
    data.update(command="/dmarcreport", text="contoso.com 7")
    await slack_bot.command(data)
    (result,) = await slack_bot.slack.wait_for("response_url", timeout=10)
    assert header(result.params).endswith("DMARC reports: contoso.com")
    assert not [b for b in blocks_of(result.params) if b["type"] == "image"]
