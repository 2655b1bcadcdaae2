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
The only links are ``card.links`` and a check line's ``links`` (catalogue and blocklist URLs,
https), each a row of wrapping text with a short "Open" button (``Action.OpenUrl``) beside it.

Colour is only ever on a symbol (✔ ⚠ ✖) next to words in the default colour: the Teams host
configs' good, warning and attention colours are below WCAG's 4.5:1 on one theme or the other.

Control characters and bidirectional overrides are removed (they could reorder or hide text), and
long texts are clipped so a card stays inside Teams' message size limit (about 28 KB).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from handlers.card import (
    ActionKind,
    Card,
    CheckLine,
    ChecklistItemView,
    ChecklistView,
    CodeBlock,
    LinkItem,
    Tone,
)
from handlers.recheck import FIXED_NEXT

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
# Colour only on symbols: the Teams host configs' "good" and "warning" are below 2.1:1 on the
# light theme and "attention" 3.2:1 on the dark one, so words stay in the default colour (WCAG's
# 4.5:1 holds for it in both) and the coloured mark beside them carries no meaning alone.
_STATUS = {  # check status -> (symbol, colour, word)
    "pass": ("✔", "good", "pass"),
    "warn": ("⚠", "warning", "warn"),
    "fail": ("✖", "attention", "FAIL"),
    "unknown": ("?", "default", "unknown"),
}
_INDENTATION = re.compile(r"(?m)^ +")
_LONG_TOKEN = re.compile(r"\S{22,}")
_LONG_WORD = re.compile(r"\S{25,}")
_WORD_CHUNK = 20
_ZERO_WIDTH_SPACE = "\u200b"
_QUOTE_SHORT = 300  # characters of the server's text shown before "Show the full text"
_FACT_LABEL_WIDTH = "110px"  # one width for every label, so the values line up


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(text: str, limit: int = _TEXT_MAX) -> str:
    """Plain prose for a TextRun: no controls, no auto-linkable URLs, bounded length."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    return _AUTOLINK.sub(_WORD_JOINER, _clip(text, limit))


def _code(text: str, *, powershell: bool = False) -> str:
    """A code block's text: exact, apart from control characters and length. In PowerShell,
    each line's indentation becomes no-break spaces (Teams collapses leading spaces, and
    PowerShell reads U+00A0 as whitespace; POSIX shells do not, so theirs is left alone)."""
    text = _clip(_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")), _CODE_MAX)
    if not powershell:
        return text
    return _INDENTATION.sub(lambda m: "\u00a0" * len(m.group()), text)


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **props}


def _para(text: str, **style: Any) -> dict[str, Any]:
    return _rich(_run(_clean(text), **style))


def _heading(text: str) -> dict[str, Any]:
    return _rich(_run(_clean(text, 120), weight="Bolder"), spacing="Medium")


def _when(iso: str | None) -> str:
    """A tick time for people: ``5 Dec 2026, 09:15 UTC`` (the text as it is if odd)."""
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return _clean(iso, 40)
    return f"{when.day} {when:%b %Y, %H:%M} UTC"


def _code_block(block: CodeBlock) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    label = " · ".join(p for p in (block.label, block.where and f"in {block.where}") if p)
    if label:
        items.append(_para(label, isSubtle=True, size="Small"))
    items.append(
        {
            "type": "Container",
            "style": "emphasis",
            "items": [
                _rich(
                    _run(
                        _code(block.code, powershell=block.language == "powershell"),
                        fontType="Monospace",
                        size="Small",
                    )
                )
            ],
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


def _fact_row(label: str, value: str) -> dict[str, Any]:
    if _LONG_TOKEN.search(value):
        # A long unbroken value (a host name, a hidden address) gets the card's whole width:
        # beside a label it would run off a phone-width card.
        return {
            "type": "Container",
            "spacing": "Small",
            "items": [_para(label, weight="Bolder"), _para(value)],
        }
    return {
        "type": "ColumnSet",
        "spacing": "Small",
        "columns": [
            {
                "type": "Column",
                "width": _FACT_LABEL_WIDTH,
                "items": [_para(label, weight="Bolder")],
            },
            {"type": "Column", "width": "stretch", "items": [_para(value)]},
        ],
    }


def _facts(card: Card) -> list[dict[str, Any]]:
    if not card.facts:
        return []
    rows = [_fact_row(fact.label, fact.value) for fact in card.facts]
    return [{"type": "Container", "id": "facts", "spacing": "Medium", "items": rows}]


def _breakable(text: str) -> str:
    """Text to read (not to copy) with a break opportunity every few characters of any very
    long word, so a URL or a token in a server's reply wraps instead of running off the card."""
    return _LONG_WORD.sub(
        lambda m: _ZERO_WIDTH_SPACE.join(
            m.group()[i : i + _WORD_CHUNK] for i in range(0, len(m.group()), _WORD_CHUNK)
        ),
        text,
    )


def _quote(card: Card) -> list[dict[str, Any]]:
    """What the refusing server said: shortened, with the whole text one click away."""
    text = _breakable(_clean(card.quote, _CODE_MAX))
    if not text.strip():
        return []
    items = [
        _heading("What the server said"),
        _rich(_run(_clip(text, _QUOTE_SHORT), fontType="Monospace", size="Small")),
    ]
    if len(text) > _QUOTE_SHORT:
        full = {
            "type": "AdaptiveCard",
            "body": [_rich(_run(text, fontType="Monospace", size="Small"))],
        }
        items.append(
            {
                "type": "ActionSet",
                "actions": [
                    {"type": "Action.ShowCard", "title": "Show the full text", "card": full}
                ],
            }
        )
    return items


def _link_line(link: LinkItem) -> dict[str, Any] | None:
    """A link as a row: its label as wrapping text, and a short "Open" button beside it (a
    button with the whole label would cut it with "…"; a link-styled text run is drawn in a
    colour that is too faint on the dark theme)."""
    if not link.url.startswith("https://") or _CONTROL.search(link.url) or " " in link.url:
        return None
    button = {"type": "Action.OpenUrl", "title": "Open", "url": link.url}
    return {
        "type": "ColumnSet",
        "spacing": "Small",
        "columns": [
            {"type": "Column", "width": "stretch", "items": [_para(f"• {link.label}")]},
            {
                "type": "Column",
                "width": "auto",
                "verticalContentAlignment": "Center",
                "items": [{"type": "ActionSet", "actions": [button]}],
            },
        ],
    }


def _check(line: CheckLine) -> list[dict[str, Any]]:
    symbol, colour, word = _STATUS.get(line.status, ("", "default", line.status))
    target = f" {line.target}" if line.target else ""
    items = [
        _rich(
            _run(symbol, weight="Bolder", color=colour),
            _run(_clean(f" {word}  {line.name}{target}: ", 300), weight="Bolder"),
            _run(_clean(line.summary)),
        )
    ]
    items += [_para(f"• {detail}", isSubtle=True, size="Small") for detail in line.details]
    for block in line.code:
        items += _code_block(block)
    items += [x for x in map(_link_line, line.links) if x is not None]
    return items


def _taken(card: Card) -> list[dict[str, Any]]:
    """Who took an alert ("I'm on it"), right under its title."""
    if not card.taken_by:
        return []
    who = _clean(card.taken_by, 120)
    return [_rich(_run("✋"), _run(f" Taken by {who} on {_when(card.taken_at)}", weight="Bolder"))]


def _delisting(card: Card) -> list[dict[str, Any]]:
    """Who marked the delisting request as sent, and when."""
    if not card.delisting_by:
        return []
    who = _clean(card.delisting_by, 120)
    return [
        _rich(_run(f"Delisting requested by {who} on {_when(card.delisting_at)}", weight="Bolder"))
    ]


def _recheck(card: Card) -> list[dict[str, Any]]:
    """Who re-checked, when, and what changed, above the new check lines."""
    note = card.recheck
    if note is None:
        return []
    who = _clean(note.by, 120)
    items = [
        _rich(
            _run("↻", weight="Bolder"),
            _run(f" Re-checked by {who} on {_when(note.at)}: ", weight="Bolder"),
            _run(_clean("; ".join(note.changes))),
        )
    ]
    if note.fixed:
        items.append(_rich(_run("✔", color="good"), _run(" " + FIXED_NEXT)))
    return items


def _toggle(item: ChecklistItemView) -> list[dict[str, Any]]:
    if not item.enabled:
        return [
            _rich(
                _run("⚠", weight="Bolder", color="warning"),
                _run(" Not yet: ", weight="Bolder"),
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
        when = f" on {_when(item.done_at)}" if item.done_at else ""
        items.append(
            _rich(
                _run("✔", color="good", size="Small"),
                _run(f" Done by {who}{when}", isSubtle=True, size="Small"),
            )
        )
    return items


_SAVE_HINT = (
    "Tick each step when it is done, then press Save checklist under the last step: ticks are "
    "kept only when saved, and everyone here then sees who ticked what."
)


def _checklist(checklist: ChecklistView, card_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        _heading("Checklist"),
        _para(checklist.title, weight="Bolder"),
        _para(_SAVE_HINT, isSubtle=True, size="Small"),
    ]
    for item in checklist.items:
        body = _toggle(item)
        if item.enabled:  # a gated step shows no commands until it may be done
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
    lines = [x for x in map(_link_line, card.links) if x is not None]
    return [_heading("Links"), *lines] if lines else []


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
        quote=cut(card.quote),
    )


_LEFT_OUT = (
    "Parts of this card were left out to fit Teams' message size; the console "
    "(ndrbot diagnose) shows all of it."
)


def _without_parts(card: Card) -> list[Card]:
    """``card`` with ever more left out, the compromise checklist last of all."""
    less = replace(card, quote="", links=(), notes=(_LEFT_OUT,))
    steps = [
        less,
        replace(less, checks=tuple(replace(c, details=(), code=(), links=()) for c in card.checks)),
    ]
    steps.append(replace(steps[-1], sections=()))
    steps.append(replace(steps[-1], code=()))
    steps.append(replace(steps[-1], steps=(), checks=()))
    if card.checklist is not None:
        bare = tuple(replace(item, commands=()) for item in card.checklist.items)
        steps.append(replace(steps[-1], checklist=replace(card.checklist, items=bare)))
    return steps


def _size(rendered: dict[str, Any]) -> int:
    return len(json.dumps(rendered, ensure_ascii=False).encode())


def render_adaptive(card: Card) -> dict[str, Any]:
    """The Adaptive Card 1.5 for ``card`` (a JSON-ready dict, valid against the 1.5 schema).

    A card whose JSON would not fit Teams' message size is rendered again with its long
    paragraphs cut shorter (visibly, with an ellipsis); if that is not enough, parts are left
    out (with a note saying so) in an order that keeps the compromise checklist to the last.
    """
    rendered = _render(card)
    if card.picture is not None and _size(rendered) > _BUDGET:
        card = replace(card, picture=None)  # the words matter more than the picture
        rendered = _render(card)
    for limit in _SHORTER:
        if _size(rendered) <= _BUDGET:
            return rendered
        rendered = _render(_shortened(card, limit))
    for smaller in _without_parts(_shortened(card, _SHORTER[-1])):
        if _size(rendered) <= _BUDGET:
            return rendered
        rendered = _render(smaller)
    return rendered


def _render(card: Card) -> dict[str, Any]:
    card_id = card.id
    body: list[dict[str, Any]] = [_header(card), *_taken(card), *_facts(card), *_quote(card)]
    if card.picture is not None:
        body.append(
            {
                "type": "Image",
                "url": f"data:image/png;base64,{card.picture.png_base64}",
                "altText": _clean(card.picture.alt, 300),
                "size": "Stretch",
            }
        )
    for section in card.sections:
        body += [_heading(section.title), _para(section.text)]
    if card.checks:
        body.append(_heading("Checks"))
        body += _recheck(card)
        for line in card.checks:
            body += _check(line)
    body += _delisting(card)
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
