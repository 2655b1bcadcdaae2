"""Delisting drafts: the right place to ask for each kind of block, prefilled from the bounce,
with every reason why asking now would fail at the top; nothing from the paste live in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.render.drafts import delist_modal, draft_text
from handlers.card import CheckLine, ChecklistItemView, ChecklistView
from handlers.checklist import TickRecord
from handlers.delisting import DelistRequest, build_draft, delist_request
from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import Catalogue, CatalogueError, load_catalogue
from knowledge._loader import DATA_DIR, TEMPLATES_DIR

IP = "192.0.2.80"


def _request(catalogue: Catalogue, reply: str) -> DelistRequest | None:
    text = f"Delivery has failed to these recipients:\n\nann@fabrikam.com\nRemote server returned '{reply}'\n"
    return delist_request(diagnose(read(text.encode()), catalogue), catalogue)


@pytest.mark.parametrize(
    ("reply", "route", "where"),
    [
        (
            f"550 5.7.606 Access denied, banned sending IP [{IP}]. To request removal from this "
            "list please visit https://sender.office.com/ and follow the directions.",
            "microsoft_banned_ip",
            "https://sender.office.com/",
        ),
        (
            f"550 5.7.511 Access denied, banned sender[{IP}]. To request removal from this list "
            "please forward this message to delist@microsoft.com.",
            "microsoft_mail_delist",
            None,
        ),
        (
            f"550 5.7.1 Unfortunately, messages from [{IP}] weren't sent. Please contact your "
            "Internet service provider since part of their network is on our block list (S3150).",
            "outlookcom_sender_support",
            "https://support.microsoft.com/supportrequestform/8ad563e3-288e-2a61-8122-3ba03d6b8d75",
        ),
        (
            f"554 5.7.1 Service unavailable; Client host [{IP}] blocked using zen.spamhaus.org",
            "spamhaus_removal",
            "https://check.spamhaus.org/",
        ),
        (
            f"554 Service unavailable; Client host [{IP}] blocked using b.barracudacentral.org",
            "barracuda_removal",
            "https://www.barracudacentral.org/lookups",
        ),
    ],
    ids=["5.7.606", "5.7.511", "S3150", "spamhaus", "barracuda"],
)
def test_each_block_goes_to_its_own_place(
    catalogue: Catalogue, reply: str, route: str, where: str | None
) -> None:
    request = _request(catalogue, reply)
    assert request is not None and request.route == route and request.ip == IP
    draft = build_draft(request, catalogue, (), None, {})
    assert draft is not None
    assert (draft.where.url if draft.where else None) == where
    assert IP in draft.body and draft.warnings == ()
    if route == "microsoft_mail_delist":
        assert draft.mail_to == "delist@microsoft.com" and IP in draft.subject
    if route == "outlookcom_sender_support":
        # The usual automated "does not qualify" answer gets a reply asking for a person.
        assert "manual review" in draft.escalation and IP in draft.escalation


def test_a_bounce_no_delisting_can_fix_gets_no_request(catalogue: Catalogue) -> None:
    assert _request(catalogue, "550 5.1.1 User unknown") is None
    assert _request(catalogue, "550 5.7.26 Unauthenticated email is not accepted") is None


def test_what_the_bounce_did_not_give_is_left_to_fill_in(catalogue: Catalogue) -> None:
    request = _request(
        catalogue, "550 5.7.511 Access denied, banned sender. Forward to delist@microsoft.com."
    )
    assert request is not None and request.ip == ""
    draft = build_draft(request, catalogue, (), None, {})
    assert draft is not None
    assert "<sending ip address>" in draft.body and "<sending domain>" in draft.subject
    assert [f.value for f in draft.fields if f.name == "ip"] == [""]


def _line(name: str, status: str, *details: str) -> CheckLine:
    return CheckLine(name, IP, status, "summary", tuple(details))


def test_the_evidence_against_asking_now_comes_first(catalogue: Catalogue) -> None:
    request = DelistRequest("spamhaus_removal", ip=IP, sender_domain="contoso.com")
    exploit = _line("Blocklists", "fail", "Spamhaus ZEN: XBL: the IP is infected or exploited")
    spf = _line("SPF", "fail", "192.0.2.80 is not allowed")
    checklist = ChecklistView(
        "restricted",
        "Before unblocking",
        (
            ChecklistItemView("reset", "Reset the password", required=True),
            ChecklistItemView("mfa", "Enforce MFA", required=True),
            ChecklistItemView("unblock", "Unblock the sender", is_unblock=True),
        ),
    )
    ticks = {"reset": TickRecord("U0HELPDESK", "2026-12-03T10:12:00+00:00")}
    draft = build_draft(request, catalogue, (exploit, spf), checklist, ticks)
    assert draft is not None
    text = " ".join(draft.warnings)
    assert "still on a Spamhaus exploit list" in text
    assert "SPF for contoso.com still fails for 192.0.2.80" in text
    assert "1 of 2 security steps are not ticked" in text
    # What was done is in the request, with who and when.
    assert "- Reset the password (by U0HELPDESK, 10:12 UTC 2026-12-03)" in draft.body
    # Once the evidence is good, the banner is gone.
    clean = _line("Blocklists", "pass")
    ticks["mfa"] = TickRecord("U0HELPDESK", "2026-12-03T10:20:00+00:00")
    good = build_draft(request, catalogue, (clean, _line("SPF", "pass")), checklist, ticks)
    assert good is not None and good.warnings == ()


def test_a_blocklist_that_could_not_be_checked_is_a_note_not_a_verdict(
    catalogue: Catalogue,
) -> None:
    request = DelistRequest("spamhaus_removal", ip=IP)
    draft = build_draft(request, catalogue, (_line("Blocklists", "unknown"),), None, {})
    assert draft is not None and draft.warnings == ()
    assert draft.notes == (f"The blocklists could not be checked for {IP}: look it up first.",)


HOSTILE = (
    "550 5.7.606 Access denied, banned sending IP [192.0.2.80] <!channel> <@U0BOSS> "
    "<https://evil.example|click> [x](https://evil.example) \u202eexe.txt\x07 *bold*"
)


def test_a_hostile_diagnostic_stays_inert_in_slack_and_the_console(catalogue: Catalogue) -> None:
    request = _request(catalogue, HOSTILE)
    assert request is not None
    assert "\u202e" not in request.error_line and "\x07" not in request.error_line
    draft = build_draft(request, catalogue, (), None, {})
    assert draft is not None
    modal = delist_modal(draft, "card1", "C0HELPDESK", "1.2")
    # Pasted text is only ever an input's value or plain text, never mrkdwn.
    for block in modal["blocks"]:
        for text in (block.get("text"), *(block.get("elements") or [])):
            assert not isinstance(text, dict) or text.get("type") == "plain_text"
    dumped = json.dumps(modal)
    assert "mrkdwn" not in dumped
    # The one link is the catalogue's form.
    assert [b["accessory"]["url"] for b in modal["blocks"] if "accessory" in b] == [
        "https://sender.office.com/"
    ]
    assert "\u202e" not in draft_text(draft) and "\x07" not in draft_text(draft)


def test_a_route_that_uses_an_unknown_name_is_refused_at_load(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for path in DATA_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "delisting.yaml":
            text = text.replace("Sending IP address: {ip}", "Sending IP address: {ip_address}")
        (data / path.name).write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"unknown name.*ip_address"):
        load_catalogue(data, TEMPLATES_DIR)
