"""``dmarcreport`` through Teams' real path: an Activity through the CloudAdapter, the card to
the connector."""

from __future__ import annotations

import base64
import gzip
import json

import jsonschema

from knowledge import Catalogue
from tests.dmarc.build import Row, report_xml, with_reports
from tests.teams.conftest import TeamsBed
from tests.teams.test_adaptive import assert_valid


async def test_dmarcreport_in_teams(
    bed: TeamsBed, catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None
) -> None:
    with_reports(bed.router, bed.store.db, catalogue)
    assert await bed.post(bed.activity("personal_command", text="dmarcreport contoso.com")) == 200
    ((_, card),) = bed.cards()
    assert_valid(card_schema, card)
    text = json.dumps(card)
    assert "DMARC reports: contoso.com" in text and "SendGrid (Twilio)" in text
    # The chart, inline: a PNG the card carries itself, described in words.
    (image,) = [e for e in card["body"] if e["type"] == "Image"]
    assert image["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["url"].partition(",")[2])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Messages per day for contoso.com" in image["altText"]
    assert len(text.encode()) < 28 * 1024


async def test_a_report_file_sent_in_a_personal_chat_is_stored_once(
    bed: TeamsBed, catalogue: Catalogue
) -> None:
    with_reports(bed.router, bed.store.db, catalogue)
    fresh = gzip.compress(report_xml([Row("192.0.2.9", 7)], report_id="upload-1"))
    for n, data in enumerate((fresh, fresh)):
        url = bed.connector.add_file("google.com!contoso.com.xml.gz", data)
        activity = bed.activity("personal_file", id=f"p-report-{n}")
        activity["attachments"][0]["content"]["downloadUrl"] = url
        activity["attachments"][0]["name"] = "google.com!contoso.com.xml.gz"
        assert await bed.post(activity) == 200
    first, second = (card for _, card in bed.cards())
    assert "DMARC reports received" in json.dumps(first) and "1 stored" in json.dumps(first)
    assert "1 already stored" in json.dumps(second)
