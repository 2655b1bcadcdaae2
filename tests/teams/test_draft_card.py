"""The Teams delisting draft: a valid Adaptive Card 1.5 in which a hostile bounce stays text."""

from __future__ import annotations

import jsonschema

from bot.render.drafts import draft_adaptive
from handlers.card import CheckLine
from handlers.delisting import DelistRequest, build_draft
from knowledge import Catalogue
from tests.teams.test_adaptive import assert_inert, assert_valid, check_golden, texts
from tests.test_delisting import HOSTILE, _request


def test_a_hostile_diagnostic_stays_inert_in_the_teams_draft(
    catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None
) -> None:
    request = _request(catalogue, HOSTILE)
    assert request is not None
    draft = build_draft(request, catalogue, (), None, {})
    assert draft is not None
    rendered = draft_adaptive(draft, "card1", "activity-1")
    assert_valid(card_schema, rendered)
    assert_inert(rendered, {"https://sender.office.com/"})
    values = [n["value"] for n in rendered["body"] if n["type"] == "Input.Text"]
    # The pasted words are all still there to read and edit, as characters.
    assert any("<!channel> <@U0BOSS>" in v for v in values)
    assert not any("\u202e" in t for t in texts(rendered))


def test_the_draft_with_its_evidence_banner_matches_its_golden_file(
    catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None
) -> None:
    """The golden file is also what the browser check renders at 450 and 340 px."""
    request = DelistRequest(
        "outlookcom_sender_support",
        ip="203.0.113.5",
        sender="pat@contoso.com",
        sender_domain="contoso.com",
        status="5.7.1",
        error_line=(
            "550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact "
            "your Internet service provider since part of their network is on our block list "
            "(S3150)."
        ),
        bounced_at="2026-11-20T09:12:40Z",
    )
    xbl = CheckLine(
        "Blocklists",
        "203.0.113.5",
        "fail",
        "203.0.113.5 is listed on 1 of 10 blocklists.",
        ("Spamhaus ZEN: XBL: the IP is infected or exploited",),
    )
    draft = build_draft(request, catalogue, (xbl,), None, {})
    assert draft is not None and draft.warnings
    rendered = draft_adaptive(draft, "c-11", "1:1")
    assert_valid(card_schema, rendered)
    check_golden("delisting_draft", rendered)
