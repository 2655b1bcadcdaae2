"""Card -> Adaptive Card 1.5, the card format Microsoft Teams renders.

Every string on a card is untrusted (our own templates interpolate pasted values), so all card text
goes into ``RichTextBlock`` / ``TextRun`` elements: the Adaptive Cards schema says a TextRun's text
is *not* markdown (``TextBlock`` text is), so ``[x](https://evil)``, ``**bold**``, ``# heading`` or a
``- list`` show as the characters they are, with nothing to escape and no stray backslashes in a
command someone copies. The renderer emits no ``TextBlock`` at all.

A mention in Teams needs an ``msteams.entities`` entry naming it; the card never carries one (the
1.5 schema does not even allow the key), so ``<at>x</at>`` is just text. Teams also turns bare
URLs into links, so scheme separators and ``www.`` in card text get an invisible WORD JOINER
(U+2060) that breaks the auto-linker; code blocks are left exact, because people copy them.
The only links are ``Action.OpenUrl`` entries built from ``card.links`` (catalogue URLs, https).

Control characters and bidirectional overrides are removed (they could reorder or hide text), and
long texts are clipped so a card stays inside Teams' message size limit (about 28 KB).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from handlers.card import (
    ActionKind,
    Card,
    CheckLine,
    ChecklistItemView,
    ChecklistView,
    CodeBlock,
    Tone,
)

__all__ = ["ADAPTIVE_CARD_SCHEMA", "CONTENT_TYPE", "TICK_ITEM_PREFIX", "render_adaptive"]

ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
TICK_ITEM_PREFIX = "item:"  # Input.Toggle ids: "item:<checklist item id>"

_TEXT_MAX = 1200  # characters per paragraph
_CODE_MAX = 3000  # characters per code block
_FALLBACK_MAX = 300
_SHORTER = (300, 120, 40)  # characters per paragraph, in turn, while a card is too large
_BUDGET = 26 * 1024  # bytes of card JSON: Teams refuses messages over about 28 KB in all

# C0/C1 controls except TAB and LF, DEL, and the bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(?=://)|(?<=\bwww)(?=\.)")
_WORD_JOINER = "\u2060"

_TONE_STYLE = {
    Tone.ERROR: "attention",
    Tone.WARNING: "warning",
    Tone.INFO: "accent",
    Tone.SUCCESS: "good",
}
_TONE_MARK = {Tone.ERROR: "✖", Tone.WARNING: "⚠", Tone.INFO: "ℹ", Tone.SUCCESS: "✔"}
_STATUS = {  # check status -> (mark, colour)
    "pass": ("✔ pass", "good"),
    "warn": ("⚠ warn", "warning"),
    "fail": ("✖ FAIL", "attention"),
    "unknown": ("? unknown", "default"),
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(text: str, limit: int = _TEXT_MAX) -> str:
    """Plain prose for a TextRun: no controls, no auto-linkable URLs, bounded length."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    return _AUTOLINK.sub(_WORD_JOINER, _clip(text, limit))


def _code(text: str) -> str:
    """A code block's text: exact, apart from control characters and length."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _clip(_CONTROL.sub("", text), _CODE_MAX)


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **props}


def _para(text: str, **style: Any) -> dict[str, Any]:
    return _rich(_run(_clean(text), **style))


def _heading(text: str) -> dict[str, Any]:
    return _rich(_run(_clean(text, 120), weight="Bolder"), spacing="Medium")


def _code_block(block: CodeBlock) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if block.label:
        items.append(_para(block.label, isSubtle=True, size="Small"))
    items.append(
        {
            "type": "Container",
            "style": "emphasis",
            "items": [_rich(_run(_code(block.code), fontType="Monospace", size="Small"))],
        }
    )
    return items


def _header(card: Card) -> dict[str, Any]:
    items = [
        _rich(
            _run(f"{_TONE_MARK.get(card.tone, '')} ", weight="Bolder", size="Large"),
            _run(_clean(card.title, 200), weight="Bolder", size="Large"),
        )
    ]
    if card.summary:
        items.append(_para(card.summary))
    return {"type": "Container", "style": _TONE_STYLE.get(card.tone, "default"), "items": items}


def _facts(card: Card) -> list[dict[str, Any]]:
    if not card.facts:
        return []
    rows = [
        {
            "type": "ColumnSet",
            "spacing": "Small",
            "columns": [
                {"type": "Column", "width": "auto", "items": [_para(fact.label, weight="Bolder")]},
                {"type": "Column", "width": "stretch", "items": [_para(fact.value)]},
            ],
        }
        for fact in card.facts
    ]
    return [{"type": "Container", "spacing": "Medium", "items": rows}]


def _check(line: CheckLine) -> list[dict[str, Any]]:
    mark, colour = _STATUS.get(line.status, (line.status, "default"))
    target = f" {line.target}" if line.target else ""
    items = [
        _rich(
            _run(_clean(mark, 20), weight="Bolder", color=colour),
            _run(_clean(f"  {line.name}{target}: ", 300), weight="Bolder"),
            _run(_clean(line.summary)),
        )
    ]
    items += [_para(f"• {detail}", isSubtle=True, size="Small") for detail in line.details]
    for block in line.code:
        items += _code_block(block)
    return items


def _toggle(item: ChecklistItemView) -> list[dict[str, Any]]:
    if not item.enabled:
        return [
            _rich(
                _run("Not yet: ", weight="Bolder", color="warning"),
                _run(_clean(item.text)),
            ),
            _para("Tick every security step above first.", isSubtle=True, size="Small"),
        ]
    toggle = {
        "type": "Input.Toggle",
        "id": f"{TICK_ITEM_PREFIX}{item.id}",
        "title": _clean(item.text),
        "value": "true" if item.done else "false",
        "valueOn": "true",
        "valueOff": "false",
        "wrap": True,
    }
    items: list[dict[str, Any]] = [toggle]
    if item.done:
        who = _clean(item.done_by or "someone", 120)
        when = f" at {_clean(item.done_at, 40)}" if item.done_at else ""
        items.append(_para(f"Done by {who}{when}", isSubtle=True, size="Small", color="good"))
    return items


def _checklist(checklist: ChecklistView, card_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [_heading("Checklist"), _para(checklist.title, weight="Bolder")]
    for item in checklist.items:
        body = _toggle(item)
        for block in item.commands:
            body += _code_block(block)
        items.append({"type": "Container", "spacing": "Medium", "items": body})
    items.append(
        {
            "type": "ActionSet",
            "actions": [
                {
                    "type": "Action.Submit",
                    "title": "Save checklist",
                    "data": {"ndrbot": str(ActionKind.SAVE_TICKS), "card_id": card_id},
                }
            ],
        }
    )
    return items


def _links(card: Card) -> list[dict[str, Any]]:
    actions = [
        {"type": "Action.OpenUrl", "title": _clean(link.label, 100), "url": link.url}
        for link in card.links
        if link.url.startswith("https://") and not _CONTROL.search(link.url) and " " not in link.url
    ]
    if not actions:
        return []
    # One link per ActionSet: Teams caps the buttons of one set, and stacked sets read as a list.
    return [_heading("Links")] + [{"type": "ActionSet", "actions": [a]} for a in actions]


def _shortened(card: Card, limit: int) -> Card:
    """``card`` with every long paragraph of pasted or generated text cut to ``limit``."""

    def cut(text: str) -> str:
        return _clip(text, limit)

    return replace(
        card,
        summary=cut(card.summary),
        facts=tuple(replace(f, value=cut(f.value)) for f in card.facts),
        sections=tuple(replace(s, text=cut(s.text)) for s in card.sections),
        checks=tuple(
            replace(c, summary=cut(c.summary), details=tuple(map(cut, c.details)))
            for c in card.checks
        ),
        steps=tuple(map(cut, card.steps)),
        notes=tuple(map(cut, card.notes)),
    )


def render_adaptive(card: Card) -> dict[str, Any]:
    """The Adaptive Card 1.5 for ``card`` (a JSON-ready dict, valid against the 1.5 schema).

    A card whose JSON would not fit Teams' message size is rendered again with its long
    paragraphs cut shorter (visibly, with an ellipsis); commands and checklist steps are kept.
    """
    rendered = _render(card)
    for limit in _SHORTER:
        if len(json.dumps(rendered, ensure_ascii=False).encode()) <= _BUDGET:
            break
        rendered = _render(_shortened(card, limit))
    return rendered


def _render(card: Card) -> dict[str, Any]:
    card_id = card.id
    body: list[dict[str, Any]] = [_header(card), *_facts(card)]
    for section in card.sections:
        body += [_heading(section.title), _para(section.text)]
    if card.checks:
        body.append(_heading("Checks"))
        for line in card.checks:
            body += _check(line)
    if card.steps:
        body.append(_heading("Next steps"))
        body += [
            _rich(_run(f"{n}. ", weight="Bolder"), _run(_clean(step)))
            for n, step in enumerate(card.steps, start=1)
        ]
    if card.code:
        body.append(_heading("Commands"))
        for block in card.code:
            body += _code_block(block)
    if card.checklist is not None:
        body += _checklist(card.checklist, card_id)
    body += _links(card)
    body += [_para(note, isSubtle=True, italic=True) for note in card.notes]
    if card.footer:
        body.append(_para(card.footer, isSubtle=True, size="Small"))
    rendered: dict[str, Any] = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": _clean(card.fallback_text, _FALLBACK_MAX),
        "body": body,
    }
    actions = [
        {
            "type": "Action.Submit",
            "title": _clean(action.label, 60),
            "data": {"ndrbot": str(action.kind), "card_id": card_id},
        }
        for action in card.actions
    ]
    if actions:
        rendered["actions"] = actions
    return rendered
