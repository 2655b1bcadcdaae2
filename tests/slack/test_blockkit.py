"""Card -> Block Kit: every catalogue variant within Slack's limits, golden files, and pastes
that try to mention, link or break out of their place.

Golden files live in ``tests/slack/golden/``. After an intended change, regenerate them with
``NDRBOT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/slack/test_blockkit.py`` and review
the diff; the rewritten ones are reported as skipped. A missing golden file fails.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.blockkit import parse_tick_action_id, render_blockkit, tick_action_id
from handlers.card import (
    Action,
    Card,
    CheckLine,
    ChecklistItemView,
    ChecklistView,
    CodeBlock,
    Fact,
    LinkItem,
    Section,
    Tone,
)
from handlers.cards import check_card, error_card, help_card
from handlers.checklist import TickRecord
from handlers.commands import help_lines
from knowledge import Catalogue, load_catalogue
from tests.slack.cards import hostile_card, sample_checks, variant_card
from tests.slack.limits import control_sequences, problems, texts

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NDRBOT_UPDATE_GOLDEN") == "1"
VARIANTS = [v.key for v in load_catalogue().variants]


def _check_golden(name: str, message: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(message, indent=1, ensure_ascii=False) + "\n"
    if UPDATE:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            pytest.skip(f"rewrote {path.name}")
        return
    assert path.exists(), f"no golden file {path.name}; run with NDRBOT_UPDATE_GOLDEN=1"
    assert json.loads(path.read_text(encoding="utf-8")) == message, (
        f"{path.name} differs; if intended, regenerate with NDRBOT_UPDATE_GOLDEN=1 and review"
    )


def _links_of(card: Card) -> set[str]:
    return {f"{link.url.replace('&', '&amp;')}|" for link in card.links}


def _assert_safe(card: Card, message: dict[str, Any]) -> None:
    """Within limits, and the only control sequences are catalogue links, dates and tickers."""
    assert problems(message) == []
    allowed = _links_of(card)
    for sequence in control_sequences(message):
        if sequence.startswith(("!date^", "@U")):
            continue
        assert any(sequence.startswith(prefix) for prefix in allowed), sequence
    for text in texts(message):
        assert not re.search(r"(?<![\u200d])@(here|channel|everyone)\b", text, re.I), text
    json.loads(json.dumps(message))


@pytest.mark.parametrize("key", VARIANTS)
def test_every_variant_renders_within_limits_as_in_its_golden_file(
    catalogue: Catalogue, key: str
) -> None:
    card = variant_card(catalogue, catalogue.get(key))
    message = render_blockkit(card)
    _assert_safe(card, message)
    _check_golden(key, message)


def test_no_golden_file_is_left_over_from_a_removed_variant() -> None:
    extra = {"check_card", "help_card", "checklist_ticked", "hostile"}
    names = {p.stem for p in GOLDEN.glob("*.json")}
    assert names - set(VARIANTS) - extra == set()


def _other_cards(catalogue: Catalogue) -> dict[str, Card]:
    variant = catalogue.get("exo_bad_outbound_sender_restricted")
    assert variant.checklist is not None
    security = [i.id for i in catalogue.checklists[variant.checklist].items][:-1]
    ticks = {item: TickRecord("U0HELPDESK", "2025-03-02T09:12:40+00:00") for item in security}
    check = check_card("SPF check: contoso.com", sample_checks(variant), shareable=True)
    check = replace(check, id="card-1")
    return {
        "check_card": check,
        "help_card": help_card(help_lines()),
        "checklist_ticked": variant_card(catalogue, variant, ticks),
        "hostile": hostile_card(catalogue),
    }


@pytest.mark.parametrize("name", ["check_card", "help_card", "checklist_ticked", "hostile"])
def test_other_cards_match_their_golden_files(catalogue: Catalogue, name: str) -> None:
    card = _other_cards(catalogue)[name]
    message = render_blockkit(card)
    _assert_safe(card, message)
    _check_golden(name, message)


def _checklist_blocks(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    return {b["block_id"].split("|")[1]: b for b in blocks if "block_id" in b}


def test_unblock_is_not_a_checkbox_until_the_security_steps_are_ticked(
    catalogue: Catalogue,
) -> None:
    variant = catalogue.get("exo_bad_outbound_sender_restricted")
    assert variant.checklist is not None
    items = catalogue.checklists[variant.checklist].items
    before = _checklist_blocks(render_blockkit(variant_card(catalogue, variant)))
    assert "accessory" not in before["unblock"]
    assert before["unblock"]["text"]["text"].startswith("*Not yet:*")
    assert "```" not in before["unblock"]["text"]["text"]  # its commands wait too
    ticks = {i.id: TickRecord("U0HELPDESK", "2025-03-02T09:12:40Z") for i in items[:-1]}
    after = _checklist_blocks(render_blockkit(variant_card(catalogue, variant, ticks)))
    box = after["unblock"]["accessory"]
    assert box["type"] == "checkboxes" and "initial_options" not in box
    assert parse_tick_action_id(box["action_id"]) == (f"card-{variant.key}", "unblock")
    ticked = after["reset_password"]
    assert ticked["accessory"]["initial_options"] == ticked["accessory"]["options"]
    assert "Done by <@U0HELPDESK> at <!date^1740906760^" in ticked["text"]["text"]


def test_hostile_paste_produces_no_mention_link_or_formatting_escape(
    catalogue: Catalogue,
) -> None:
    card = hostile_card(catalogue)
    message = render_blockkit(card)
    _assert_safe(card, message)
    dumped = json.dumps(message)
    assert "&lt;!channel&gt;" in dumped and "<!channel>" not in dumped
    assert "<https://evil" not in dumped and "<@U123>" not in dumped
    assert "\u202e" not in dumped
    sender = next(
        f["text"] for b in message["blocks"] for f in b.get("fields", []) if "Sender" in f["text"]
    )
    # The value stays one inline code span: its own backticks are look-alikes.
    assert sender.count("`") == 2 and "\u02cb\u02cb\u02cb fence" in sender


def test_code_blocks_cannot_be_closed_from_inside() -> None:
    card = Card(
        "x",
        Tone.INFO,
        code=(CodeBlock("c", "```\n<!channel>```"), CodeBlock("d", "`edge`")),
    )
    text = render_blockkit(card)["blocks"][1]["text"]["text"]
    assert text.count("```") == 4  # two blocks, two fences each
    assert "&lt;!channel&gt;" in text


def test_long_text_is_cut_visibly_and_entities_are_never_split() -> None:
    long = "&" * 5000
    card = Card(long, Tone.ERROR, summary=long, facts=(Fact("Sender", long),))
    message = render_blockkit(card)
    assert problems(message) == []
    header = message["blocks"][0]["text"]["text"]
    assert header.endswith("…") and not re.search(r"&(?!amp;)", header.rstrip("…"))


def test_a_huge_card_keeps_the_share_button_and_says_what_is_not_shown() -> None:
    card = Card(
        "big",
        Tone.INFO,
        sections=tuple(Section(f"s{n}", "text " * 700) for n in range(80)),
        steps=tuple("step " * 300 for _ in range(40)),
        facts=tuple(Fact(f"f{n}", "v") for n in range(25)),
        checks=tuple(CheckLine("SPF", "x", "pass", "ok " * 400) for _ in range(20)),
        links=(LinkItem("Portal", "https://example.com/a?b=1&c=2"),),
        actions=(Action("share", "Share in channel", "card-9"),),
    )
    message = render_blockkit(card)
    assert problems(message) == []
    blocks = message["blocks"]
    assert len(blocks) == 50 and blocks[-1]["type"] == "actions"
    assert "do not fit in one Slack message" in blocks[-2]["elements"][0]["text"]


def test_only_http_links_from_the_card_become_links() -> None:
    card = Card(
        "x",
        Tone.INFO,
        links=(
            LinkItem("ok", "https://example.com/a?b=1&c=2"),
            LinkItem("no", "javascript:alert(1)"),
            LinkItem("no2", "https://a.example|<!channel>"),
        ),
    )
    message = render_blockkit(card)
    assert control_sequences(message) == ["https://example.com/a?b=1&amp;c=2|ok"]


def test_tick_action_ids_round_trip() -> None:
    assert parse_tick_action_id(tick_action_id("abc", "reset_password")) == (
        "abc",
        "reset_password",
    )
    assert parse_tick_action_id("ndr_share") is None


def test_error_card_fallback_text_is_escaped() -> None:
    message = render_blockkit(error_card("<!channel> @here", "x"))
    assert message["text"] == "&lt;!channel&gt; @\u200dhere - x"


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=400)


@settings(max_examples=150, deadline=None)
@given(
    title=_text,
    value=_text,
    prose=_text,
    code=_text,
    item=_text,
    who=_text,
)
def test_any_text_anywhere_stays_within_limits_and_inert(
    title: str, value: str, prose: str, code: str, item: str, who: str
) -> None:
    items = (
        ChecklistItemView("a", item or "x", done=True, done_by=who, done_at=prose, required=True),
        ChecklistItemView("b", item or "x", is_unblock=True, enabled=False),
    )
    card = Card(
        title or "t",
        Tone.WARNING,
        summary=prose,
        facts=(Fact("Sender", value), Fact(value or "v", value)),
        sections=(Section(title or "s", prose),),
        checks=(CheckLine(value, value, "fail", prose, (prose,)),),
        steps=(prose or "s", value or "v"),
        code=(CodeBlock(value, code or "c"),),
        checklist=ChecklistView("k", title or "t", items),
        notes=(prose or "n",),
        footer=value,
    )
    message = render_blockkit(card)
    assert problems(message) == []
    for sequence in control_sequences(message):
        assert sequence.startswith(("!date^", "@")), sequence
        if sequence.startswith("@"):
            assert re.fullmatch(r"@[UW][A-Z0-9]{2,20}", sequence) and sequence[1:] == who


def test_pasted_markup_in_steps_and_check_lines_shows_as_typed_not_formatted() -> None:
    pasted = "*bold* _italic_ ~strike~ `code` ```fence``` but first_last@contoso.com stays"
    card = Card(
        "t",
        Tone.ERROR,
        steps=(f"Ask {pasted}",),
        checks=(CheckLine("SPF", "", "fail", pasted, (pasted,)),),
        sections=(Section("Why", pasted),),
    )
    texts = [b["text"]["text"] for b in render_blockkit(card)["blocks"] if "text" in b]
    body = "\n".join(t for t in texts if isinstance(t, str))
    for span in ("*bold*", "_italic_", "~strike~", "`code`", "```fence```"):
        assert span not in body, span
    assert "\u2217bold*" in body and "\u02cditalic_" in body and "first_last@contoso.com" in body
    assert "—:" not in body and "*SPF*:" in body  # a check without a target shows no dash


def test_a_long_piece_is_cut_before_an_entity_not_inside_it() -> None:
    summary = "x" * 2980 + " & then & more &" * 20
    card = Card("t", Tone.INFO, checks=(CheckLine("SPF", "x", "fail", summary),))
    for block in render_blockkit(card)["blocks"][1:]:
        text = block["text"]["text"]
        assert not re.search(r"&(?!amp;|lt;|gt;)", text.replace("…", "")), text[-40:]


def test_the_server_s_own_words_are_shown_inert_in_a_code_block() -> None:
    quote = "550 5.7.1 <!channel> *Service unavailable*; see https://evil.example/x"
    text = json.dumps(render_blockkit(Card("t", Tone.ERROR, quote=quote))["blocks"])
    assert "What the server said" in text and "```550 5.7.1 &lt;!channel&gt;" in text
    assert "<https://evil" not in text
