"""Card -> Adaptive Card 1.5: golden files for every catalogue variant, schema validity, the
checklist's toggles and submit data, and that no text from a paste can become markup.

Golden files live in ``tests/teams/golden/``. After an intended change, regenerate them with
``NDRBOT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/teams/test_adaptive.py`` and review the
diff like any other change.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render.adaptive import render_adaptive
from handlers.card import (
    Action,
    ActionKind,
    Card,
    CheckLine,
    CodeBlock,
    Fact,
    LinkItem,
    Picture,
    Section,
    Tone,
    card_from_json,
    card_to_json,
)
from handlers.cards import check_card, error_card, help_card
from handlers.checklist import TickRecord
from handlers.checks.result import CheckResult, Finding, Severity, Status
from handlers.commands import help_lines
from handlers.recheck import rechecked
from knowledge import Catalogue, load_catalogue
from tests.dmarc.build import dmarc_ready_sample, dmarc_report_sample
from tests.teams.cards import HOSTILE, checklist_card, hostile_card, security_steps, variant_card

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NDRBOT_UPDATE_GOLDEN") == "1"
VARIANTS = [v.key for v in load_catalogue().variants]
TEAMS_MESSAGE_LIMIT = 28 * 1024  # Teams refuses bot messages over about 28 KB


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a rendered card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def texts(card: dict[str, Any]) -> list[str]:
    """Every string a person can read on the card."""
    found = [card["fallbackText"]]
    for node in walk(card):
        for key in ("text", "title"):
            if isinstance(node.get(key), str):
                found.append(node[key])
    return found


def check_golden(name: str, rendered: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(rendered, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with NDRBOT_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} differs; if intended, regenerate with NDRBOT_UPDATE_GOLDEN=1 and review"
    )


def assert_valid(schema: jsonschema.Draft6Validator | None, rendered: dict[str, Any]) -> None:
    if schema is not None:
        errors = sorted(schema.iter_errors(rendered), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:3]]
    json.dumps(rendered)  # always valid JSON, schema or not
    assert rendered["type"] == "AdaptiveCard" and rendered["version"] == "1.5"
    assert "$schema" in rendered


@pytest.mark.parametrize("key", VARIANTS)
def test_every_variant_renders_a_valid_card_as_in_its_golden_file(
    catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None, key: str
) -> None:
    rendered = render_adaptive(variant_card(catalogue, catalogue.get(key)))
    assert_valid(card_schema, rendered)
    assert len(json.dumps(rendered).encode()) < TEAMS_MESSAGE_LIMIT
    check_golden(key, rendered)


def test_no_golden_file_is_left_over_from_a_removed_variant() -> None:
    others = {"help_card", "check_card", "checklist_ticked", "checklist_unblockable", "hostile"}
    others |= {"error_card", "not_a_bounce", "check_card_rechecked", "mailcheck_card"}
    others |= {"alert_taken", "delisting_marked", "delisting_draft", "dmarc_report", "dmarc_ready"}
    leftover = {p.stem for p in GOLDEN.glob("*.json")} - set(VARIANTS) - others
    assert not leftover


def _check_results() -> list[CheckResult]:
    return [
        CheckResult("spf", "contoso.com", Status.PASS, "SPF passes for 203.0.113.5."),
        CheckResult(
            "dmarc",
            "contoso.com",
            Status.WARN,
            "DMARC is p=none.",
            (Finding(Severity.WARNING, "dmarc.none", "p=none only monitors."),),
        ),
        CheckResult("dkim", "contoso.com", Status.FAIL, "No DKIM key was found."),
        CheckResult("blocklist", "203.0.113.5", Status.UNKNOWN, "Two lists did not answer."),
    ]


def _rechecked() -> Card:
    """A check card after a Re-check that fixed one check and left another failing."""
    results = _check_results()
    card = check_card("Mail check: contoso.com", results, card_id="c-7", shareable=True)
    fixed = [
        replace(line, status="pass") if line.status == "fail" else line for line in card.checks
    ]
    return rechecked(card, fixed, by="Helpdesk Pat", at="2026-11-20T14:02:00+00:00")


def _other_cards(catalogue: Catalogue) -> dict[str, Card]:
    at = "2026-11-20T09:15:00+00:00"
    return {
        "help_card": help_card(help_lines()),
        "check_card": check_card("Mail check: contoso.com", _check_results(), shareable=True),
        "check_card_rechecked": _rechecked(),
        "alert_taken": Card(
            "203.0.113.5: listed on Spamhaus ZEN",
            Tone.ERROR,
            summary="A watched IP address is now listed.",
            id="alert-9",
            taken_by="Helpdesk Pat",
            taken_at="2026-11-20T14:05:00+00:00",
        ),
        "delisting_marked": Card(
            "The sending IP address is on a blocklist (Spamhaus)",
            Tone.ERROR,
            summary="The receiving server found the sending IP address on Spamhaus.",
            id="c-11",
            delisting_by="Helpdesk Pat",
            delisting_at="2026-11-20T15:30:00+00:00",
        ),
        "mailcheck_card": check_card(
            "Mail check: contoso.com",
            _check_results(),
            card_id="c-9",
            shareable=True,
            checklist=catalogue.checklists["postmaster_enrolment"],
            portals=[
                catalogue.portal(n)
                for n in ("outlookcom_snds", "google_postmaster", "yahoo_sender_hub")
            ],
        ),
        "checklist_ticked": checklist_card(
            catalogue, {"reset_password": TickRecord("Helpdesk Pat", at)}
        ),
        "checklist_unblockable": checklist_card(
            catalogue, {item: TickRecord("Helpdesk Pat", at) for item in security_steps(catalogue)}
        ),
        "hostile": hostile_card(catalogue),
        "error_card": error_card("Too large to read", "The paste is over 2 MB."),
        "not_a_bounce": Card("Not a bounce", Tone.INFO, "This is an automatic reply."),
        "dmarc_report": dmarc_report_sample(catalogue),
        "dmarc_ready": dmarc_ready_sample(catalogue),
    }


@pytest.mark.parametrize(
    "name",
    [
        "help_card",
        "check_card",
        "check_card_rechecked",
        "alert_taken",
        "delisting_marked",
        "mailcheck_card",
        "checklist_ticked",
        "checklist_unblockable",
        "hostile",
        "error_card",
        "not_a_bounce",
        "dmarc_report",
        "dmarc_ready",
    ],
)
def test_other_cards_are_valid_and_match_their_golden_files(
    catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None, name: str
) -> None:
    rendered = render_adaptive(_other_cards(catalogue)[name])
    assert_valid(card_schema, rendered)
    check_golden(name, rendered)


def _toggles(rendered: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: n["value"] for n in walk(rendered) if n.get("type") == "Input.Toggle"}


def test_checklist_items_are_toggles_and_the_unblock_step_says_not_yet(
    catalogue: Catalogue,
) -> None:
    rendered = render_adaptive(checklist_card(catalogue))
    toggles = _toggles(rendered)
    assert set(toggles) == {f"item:{item}" for item in security_steps(catalogue)}
    assert set(toggles.values()) == {"false"}
    assert any("Not yet:" in t for t in _rich_texts(rendered))
    (submit,) = [n for n in walk(rendered) if n.get("type") == "Action.Submit"]
    assert submit["data"] == {"ndrbot": "tick", "card_id": "checklist-card"}


def _rich_texts(rendered: dict[str, Any]) -> list[str]:
    return [
        "".join(run["text"] for run in node["inlines"])
        for node in walk(rendered)
        if node.get("type") == "RichTextBlock"
    ]


def test_ticked_items_show_who_and_when_and_unblock_becomes_a_toggle_last(
    catalogue: Catalogue,
) -> None:
    at = "2026-11-20T09:15:00+00:00"
    partly = render_adaptive(
        checklist_card(catalogue, {"reset_password": TickRecord("Helpdesk Pat", at)})
    )
    assert _toggles(partly)["item:reset_password"] == "true"
    assert "✔ Done by Helpdesk Pat on 20 Nov 2026, 09:15 UTC" in _rich_texts(partly)
    assert "item:unblock" not in _toggles(partly)

    ready = render_adaptive(
        checklist_card(
            catalogue, {item: TickRecord("Helpdesk Pat", at) for item in security_steps(catalogue)}
        )
    )
    assert _toggles(ready)["item:unblock"] == "false"
    assert not any("Not yet:" in t for t in _rich_texts(ready))


def test_share_button_submits_the_card_id(catalogue: Catalogue) -> None:
    card = check_card("SPF check: contoso.com", _check_results()[:1], shareable=True)
    card = replace(card, id="c-42")
    rendered = render_adaptive(card)
    assert rendered["actions"] == [
        {
            "type": "Action.Submit",
            "title": "Share in channel",
            "data": {"ndrbot": "share", "card_id": "c-42"},
        }
    ]


def test_code_is_monospace_and_kept_exact() -> None:
    code = "Get-Mailbox 'a_b*c' | Where-Object { $_.X -like '*[x](y)*' }\n# not a heading"
    rendered = render_adaptive(Card("t", Tone.INFO, code=(CodeBlock("label", code),)))
    runs = [n for n in walk(rendered) if n.get("fontType") == "Monospace"]
    assert [r["text"] for r in runs] == [code]


def test_only_https_links_from_the_card_become_links() -> None:
    links = (
        LinkItem("Portal", "https://admin.exchange.microsoft.com/#/connectors"),
        LinkItem("Script", "javascript:alert(1)"),
        LinkItem("Plain", "http://example.com/"),
        LinkItem("Spaced", "https://example.com/ x"),
    )
    rendered = render_adaptive(Card("t", Tone.INFO, links=links))
    opens = [n for n in walk(rendered) if n.get("type") == "Action.OpenUrl"]
    assert [(o["title"], o["url"]) for o in opens] == [
        ("Open", "https://admin.exchange.microsoft.com/#/connectors")
    ]
    assert "• Portal" in _rich_texts(rendered) and "• Script" not in _rich_texts(rendered)


def assert_inert(rendered: dict[str, Any], allowed_urls: set[str]) -> None:
    """Nothing on the card can render as a mention or markdown, and the only links are the
    card's own (catalogue URLs), as OpenUrl actions."""
    dumped = json.dumps(rendered)
    assert json.loads(dumped) == rendered  # valid JSON, whatever the input
    kinds = {n.get("type") for n in walk(rendered)}
    assert not kinds & {"TextBlock", "FactSet", "Image", "Media", "Action.Execute"}
    assert "msteams" not in dumped  # no mention entities
    for node in walk(rendered):
        if "selectAction" in node:
            assert node["selectAction"]["type"] == "Action.OpenUrl"
    urls = {n["url"] for n in walk(rendered) if n.get("type") == "Action.OpenUrl"}
    assert urls <= allowed_urls
    for text in texts(rendered):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", text)
    monospace = {id(n) for n in walk(rendered) if n.get("fontType") == "Monospace"}
    for node in walk(rendered):
        if id(node) not in monospace and isinstance(node.get("text"), str):
            # Teams auto-links bare URLs: a word joiner breaks every scheme and www. prefix.
            assert not re.search(r"(?i)[a-z0-9]://|\bwww\.", node["text"]), node["text"]


def test_hostile_text_renders_as_plain_characters(
    catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None
) -> None:
    card = hostile_card(catalogue)
    rendered = render_adaptive(card)
    assert_valid(card_schema, rendered)
    assert_inert(rendered, {link.url for link in card.links})
    shown = "\n".join(texts(rendered))
    # The characters are still there for a person to read: nothing was turned into markup.
    assert "[click](https\u2060://evil.example)" in shown
    assert "<at>Everyone</at>" in shown and "**bold**" in shown and "</script>" in shown


_text = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_text, value=_text, section=_text, step=_text, code=_text, note=_text)
def test_any_text_anywhere_gives_a_valid_inert_card(
    card_schema: jsonschema.Draft6Validator | None,
    title: str,
    value: str,
    section: str,
    step: str,
    code: str,
    note: str,
) -> None:
    card = Card(
        title=title,
        tone=Tone.ERROR,
        summary=value,
        facts=(Fact(value, value),),
        sections=(Section(section, section),),
        checks=(CheckLine(value, value, value, value, (value,)),),
        steps=(step,),
        code=(CodeBlock(code, code),),
        links=(LinkItem(value, "https://learn.microsoft.com/"),),
        actions=(Action(ActionKind.SHARE, value, value),),
        notes=(note,),
        footer=note,
        id=value,
    )
    rendered = render_adaptive(card)
    assert_valid(card_schema, rendered)
    assert_inert(rendered, {"https://learn.microsoft.com/"})


def test_the_fallback_text_is_plain_and_short() -> None:
    rendered = render_adaptive(error_card(f"Too large {HOSTILE}", "x" * 1000))
    assert "\x1b" not in rendered["fallbackText"] and len(rendered["fallbackText"]) <= 300


@pytest.mark.parametrize(
    "body",
    [
        [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "x", "bogus": 1}]}],
        [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "x", "color": "red"}]}],
        [{"type": "Input.Toggle", "id": "a"}],
        [{"type": "TextRun", "text": "an inline is not an element"}],
        [{"type": "Nope"}],
        [{"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": "no url"}]}],
    ],
)
def test_the_test_validator_rejects_what_the_schema_rejects(
    strict_card_schema: jsonschema.Draft6Validator, body: list[dict[str, Any]]
) -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": body}
    plain = jsonschema.Draft6Validator(strict_card_schema.schema)
    assert not plain.is_valid(card) and not strict_card_schema.is_valid(card)


def test_a_card_too_large_for_teams_is_cut_to_fit_and_keeps_its_checklist(
    catalogue: Catalogue, card_schema: jsonschema.Draft6Validator | None
) -> None:
    card = checklist_card(catalogue)
    long = "x" * 5000
    card = Card(
        **{
            **card.__dict__,
            "summary": long,
            "facts": tuple(Fact(f.label, long) for f in card.facts),
            "sections": tuple(Section(s.title, long) for s in card.sections),
            "checks": tuple(
                CheckLine("SPF", "contoso.com", "fail", long, (long,) * 4) for _ in range(4)
            ),
            "steps": (long,) * 5,
            "notes": (long,) * 2,
        }
    )
    rendered = render_adaptive(card)
    assert_valid(card_schema, rendered)
    assert len(json.dumps(rendered, ensure_ascii=False).encode()) < TEAMS_MESSAGE_LIMIT - 2048
    assert len(_toggles(rendered)) == 7  # the checklist is all there
    assert any(t.endswith("x…") for t in _rich_texts(rendered))  # cut visibly


def test_adaptive_card_schema_is_available(strict_card_schema: jsonschema.Draft6Validator) -> None:
    """Reports (as a skip) when ../shared's schema is absent and cards were not schema-checked."""
    assert strict_card_schema.schema["$schema"].startswith("http://json-schema.org/")


def test_a_picture_goes_first_when_a_card_would_not_fit(
    card_schema: jsonschema.Draft6Validator | None,
) -> None:
    picture = Picture("a chart", base64.b64encode(b"\x89PNG" + bytes(12_000)).decode())
    small = render_adaptive(Card("DMARC reports: contoso.com", Tone.INFO, "s", picture=picture))
    assert [e["type"] for e in small["body"]].count("Image") == 1
    assert_valid(card_schema, small)
    words = tuple(Section(f"part {n}", "x" * 900) for n in range(12))
    big = Card("DMARC reports: contoso.com", Tone.INFO, "s", sections=words, picture=picture)
    rendered = render_adaptive(big)
    assert "Image" not in [e["type"] for e in rendered["body"]]
    assert json.dumps(rendered).count("part 11") == 1  # the words stayed whole


def test_a_picture_survives_storage() -> None:
    card = Card("t", Tone.INFO, picture=Picture("alt", "iVBORw0KGgo="))
    assert card_from_json(json.loads(json.dumps(card_to_json(card)))) == card


def test_a_stored_card_is_what_dataclasses_asdict_gives(catalogue: Catalogue) -> None:
    from dataclasses import asdict

    cards = [variant_card(catalogue, catalogue.get(key)) for key in VARIANTS]
    cards += [*_other_cards(catalogue).values(), _rechecked()]
    assert len(cards) > 50
    for card in cards:
        assert card_to_json(card) == asdict(card)
        assert card_from_json(json.loads(json.dumps(card_to_json(card)))) == card
