"""A delisting draft (:class:`handlers.delisting.Draft`) as each surface shows it: a Slack modal
with editable inputs, a Teams Adaptive Card with the same inputs, and console text.

Values from the paste go only into input values and plain-text elements, which neither Slack
nor Teams render as markup, mentions or links; the one link is the catalogue's form URL.
"""

from __future__ import annotations

import json
from typing import Any

from bot.render.adaptive import ADAPTIVE_CARD_SCHEMA, _clean, _para, _rich, _run
from bot.render.blockkit import _INVISIBLE
from handlers.card import ActionKind
from handlers.delisting import Draft

__all__ = [
    "DELIST_CALLBACK",
    "delist_modal",
    "delist_modal_origin",
    "draft_adaptive",
    "draft_text",
]

DELIST_CALLBACK = "ndr_delist"
_INPUT_MAX = 3000  # Slack's cap on a plain_text_input (and plenty for Teams)
_PLAIN_MAX = 2900  # a plain_text element stays under Slack's 3,000


def _plain(text: str, limit: int = _PLAIN_MAX) -> dict[str, Any]:
    text = _INVISIBLE.sub("", text)
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": False}


def _value(text: str) -> str:
    return _INVISIBLE.sub("", text)[:_INPUT_MAX]


def _inputs(draft: Draft) -> list[tuple[str, str, str, bool]]:
    """``(name, label, value, multiline)`` of each editable input, in order, on every surface."""
    inputs = [(f.name, f.label, f.value, f.multiline) for f in draft.fields]
    if draft.subject:
        inputs.append(("subject", "Subject", draft.subject, False))
    inputs.append(("body", "Request text", draft.body, True))
    if draft.escalation:
        inputs.append(
            ("escalation", "If the answer is automated, reply with", draft.escalation, True)
        )
    return inputs


# -- Slack ------------------------------------------------------------------------------------


def delist_modal(
    draft: Draft,
    card_id: str,
    channel: str,
    message_ts: str,
    thread_ts: str = "",
    *,
    private_reply: str = "",
) -> dict[str, Any]:
    """The Slack modal: the evidence first, then each value and the text, editable; its submit
    button marks the request as sent (the card it came from, ``message_ts``, says so; follow-ups
    go in the card's thread, ``thread_ts``)."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(draft.title, 150)}]
    for warning in draft.warnings:
        blocks.append({"type": "section", "text": _plain("⚠️ Not yet: " + warning)})
    for note in draft.notes:
        blocks.append({"type": "context", "elements": [_plain(note)]})
    if draft.where is not None:
        blocks.append(
            {
                "type": "section",
                "text": _plain("Where: " + draft.where.label),
                "accessory": {
                    "type": "button",
                    "text": _plain("Open the form", 75),
                    "url": draft.where.url,
                    "action_id": "ndr_delist_open",
                },
            }
        )
    if draft.mail_to:
        blocks.append({"type": "section", "text": _plain(f"Send to: {draft.mail_to}")})
    for name, label, value, multiline in _inputs(draft):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": name,
            "multiline": multiline,
            "max_length": _INPUT_MAX,
        }
        if value:
            element["initial_value"] = _value(value)
        blocks.append(
            {
                "type": "input",
                "block_id": f"delist_{name}",
                "optional": True,
                "label": _plain(label, 150),
                "element": element,
            }
        )
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(draft.steps, start=1))
    blocks.append({"type": "section", "text": _plain("How: \n" + steps)})
    blocks.append({"type": "context", "elements": [_plain("What to expect: " + draft.expect)]})
    # A private card (only its user sees it) has no thread to follow up in: its response_url
    # updates it instead ("reply").
    metadata = json.dumps(
        {
            "card_id": card_id,
            "channel": channel,
            "ts": message_ts,
            "thread": thread_ts,
            "reply": private_reply,
        }
    )
    return {
        "type": "modal",
        "callback_id": DELIST_CALLBACK,
        "private_metadata": metadata,
        "title": _plain("Delisting request", 24),
        "submit": _plain("Mark as sent", 24),
        "close": _plain("Close", 24),
        "blocks": blocks[:100],
    }


def delist_modal_origin(view: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """``(card_id, channel, message_ts, thread_ts, private_reply)`` from a submitted delisting
    modal ("" where absent; the thread is the card's own message when it is not in one)."""
    try:
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    card_id, channel, ts, thread = (
        str(metadata.get(key) or "")[:200] for key in ("card_id", "channel", "ts", "thread")
    )
    reply = str(metadata.get("reply") or "")[:1000]
    return card_id, channel, ts, thread or ts, reply


# -- Teams ------------------------------------------------------------------------------------


def draft_adaptive(draft: Draft, card_id: str, card_message: str = "") -> dict[str, Any]:
    """The Teams card: the same evidence, inputs and text, and a "Mark as sent" button (which
    names ``card_message``, the card's own message, so that card can say it was sent)."""
    body: list[dict[str, Any]] = [_para(draft.title, weight="Bolder", size="Medium")]
    for warning in draft.warnings:  # colour on the symbol only: coloured text is hard to read
        body.append(
            _rich(
                _run("⚠", color="Attention"), _run(_clean(" Not yet: " + warning), weight="Bolder")
            )
        )
    body += [_para(note, isSubtle=True) for note in draft.notes]
    if draft.mail_to:
        body.append(_para(f"Send to: {draft.mail_to}", weight="Bolder"))
    for name, label, value, multiline in _inputs(draft):
        body.append(
            {
                "type": "Input.Text",
                "id": f"delist_{name}",
                "label": _clean(label, 200),
                "value": _value(value),
                "isMultiline": multiline,
                "maxLength": _INPUT_MAX,
            }
        )
    body.append(_para("How", weight="Bolder"))
    body += [_para(f"{n}. {step}") for n, step in enumerate(draft.steps, start=1)]
    body.append(_para("What to expect: " + draft.expect, isSubtle=True))
    actions: list[dict[str, Any]] = []
    if draft.where is not None:
        actions.append({"type": "Action.OpenUrl", "title": "Open the form", "url": draft.where.url})
    actions.append(
        {
            "type": "Action.Submit",
            "title": "Mark as sent",
            "data": {
                "ndrbot": str(ActionKind.DELIST_SENT),
                "card_id": card_id,
                "card_message": card_message,
            },
        }
    )
    return {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": _clean(draft.title, 300),
        "body": body,
        "actions": actions,
    }


# -- console ----------------------------------------------------------------------------------


def draft_text(draft: Draft) -> str:
    """The draft as plain text for the console, ready to copy."""
    out = [draft.title, "=" * min(len(draft.title), 78)]
    out += [f"NOT YET: {warning}" for warning in draft.warnings]
    out += [f"Note: {note}" for note in draft.notes]
    if draft.where is not None:
        out.append(f"Where: {draft.where.label} - {draft.where.url}")
    if draft.mail_to:
        out.append(f"Send to: {draft.mail_to}")
    if draft.fields:
        out.append("")
        out += [f"{f.label}: {f.value or '<fill in>'}" for f in draft.fields]
    if draft.subject:
        out += ["", f"Subject: {draft.subject}"]
    out += ["", "--- request text ---", draft.body, "--- end ---"]
    if draft.escalation:
        out += ["", "If the answer is automated, reply with:", draft.escalation]
    out += ["", "How:"]
    out += [f"  {n}. {step}" for n, step in enumerate(draft.steps, start=1)]
    out += ["", f"What to expect: {draft.expect}"]
    return _INVISIBLE.sub("", "\n".join(out))
