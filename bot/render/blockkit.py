"""Card -> Slack Block Kit: the ``blocks`` of a message and its fallback ``text``. Pure.

Safety. Every string on a card is plain text, and some of it came from a paste, so every string
is escaped the way Slack asks (``&``, ``<``, ``>`` as entities: docs.slack.dev "Formatting text
for app surfaces", *Escaping text*), which makes ``<!channel>``, ``<@U123>`` and ``<url|label>``
inert. Every mrkdwn object is ``verbatim`` so Slack does not linkify bare URLs, ``#channels`` or
names, and literal ``@here``/``@channel``/``@everyone`` get a zero-width joiner after the ``@``
as well, for clients that look at the fallback text. Values read from a bounce are shown as
inline code (with look-alike backticks, so they cannot close the span), commands in code
blocks that a run of backticks cannot close. The only links are ``card.links`` with an
``http(s)`` URL from the catalogue; the only mentions are the ids of people who ticked items.

Limits (docs.slack.dev/reference/block-kit): 50 blocks per message; header text 150; section text
3000; 10 section fields of 2000; 10 context elements; 10 checkbox options whose text is at most 75;
button text 75 and value 2000; action and block ids 255. Anything longer is cut with a visible
"…"; a card with too many parts ends with a line saying that some are not shown.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from handlers.card import ActionKind, Card, ChecklistItemView, ChecklistView, CodeBlock, LinkItem
from handlers.recheck import FIXED_NEXT

__all__ = [
    "LIMITS",
    "TICK_ACTION_PREFIX",
    "action_id",
    "parse_tick_action_id",
    "render_blockkit",
    "tick_action_id",
]

Block = dict[str, Any]

LIMITS = {
    "blocks": 50,
    "header_text": 150,
    "section_text": 3000,
    "fields": 10,
    "field_text": 2000,
    "context_elements": 10,
    "context_text": 2000,
    "checkbox_options": 10,
    "option_text": 75,
    "option_value": 75,
    "button_text": 75,
    "button_value": 2000,
    "action_id": 255,
    "block_id": 255,
    "fallback_text": 3000,  # Slack truncates message text at 40,000; notifications show far less
}
ELLIPSIS = "…"
TICK_ACTION_PREFIX = "ndr_tick"
_TONE = {
    "error": ":red_circle:",
    "warning": ":warning:",
    "info": ":information_source:",
    "success": ":white_check_mark:",
}
_STATUS = {
    "pass": ":white_check_mark:",
    "warn": ":warning:",
    "fail": ":x:",
    "unknown": ":grey_question:",
}
_MASS_MENTION = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
# C0 controls but tab and newline, DEL, and the bidirectional overrides that can make a paste
# display as something else (CVE-2021-42574 "Trojan Source").
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_QUOTE_MAX = 1500  # characters of the server's text (Slack folds long messages itself)
_SAFE_URL = re.compile(r"https?://[^\s<>|\"`]+", re.IGNORECASE)
_BACKTICK_RUN = re.compile(r"`{3,}")
# A span Slack's mrkdwn formats: a marker after a non-word character (or the start), text that
# neither starts nor ends with a space, the same marker before a non-word character (or the end).
_SPAN = re.compile(r"(?<![\w])([*_~`])(?=\S)(?:.*?\S)??\1(?![\w])", re.DOTALL)
_LOOK_ALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}


# -- text --------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Slack's three entities, mass mentions defused, invisible controls dropped."""
    text = _INVISIBLE.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS_MENTION.sub("@\u200d", text)


def _text(text: str) -> str:
    """Prose: escaped, and any span Slack would format (``*bold*``, ``_italic_``, ``~strike~``,
    ```code```) opened with a look-alike character instead, so pasted text shows as typed.
    A lone ``_`` (``first_last@contoso.com``, ``_dmarc``) opens nothing and is left alone."""
    return _SPAN.sub(lambda m: _LOOK_ALIKE[m.group(1)] + m.group()[1:], _escape(text))


def _value(text: str) -> str:
    """An untrusted value as inline code: one line, and no backtick to close the span."""
    one_line = " ".join(text.split()).replace("`", "\u02cb")
    return f"`{_escape(one_line)}`" if one_line else "—"


def _code(text: str) -> str:
    """Code for a ``` block: runs of backticks are split so they cannot end the block."""
    text = _BACKTICK_RUN.sub(lambda m: "\u200b".join(m.group()), _escape(text))
    if text.startswith("`"):
        text = "\u200b" + text
    if text.endswith("`"):
        text += "\u200b"
    return text


def _clip(raw: str, limit: int, render: Callable[[str], str] = _text) -> str:
    """``render(raw)``, cut to ``limit`` characters with "…" (never inside an entity)."""
    out = render(raw)
    keep = len(raw)
    while len(out) > limit and keep > 0:
        keep -= max(1, len(out) - limit)
        out = render(raw[: max(keep, 0)].rstrip()) + ELLIPSIS
    return out if len(out) <= limit else ELLIPSIS


def _fence(block: CodeBlock, limit: int) -> str:
    where = f" _(in {block.where})_" if block.where else ""
    label = f"*{_clip(block.label, 200)}*{where}\n" if block.label else ""
    budget = limit - len(label) - 6
    return f"{label}```{_clip(block.code, budget, _code)}```"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": _mrkdwn(text), **extra}


def _packed(heading: str, pieces: Iterable[str]) -> list[Block]:
    """Sections holding ``heading`` and then as many pieces as fit in each (3000 characters)."""
    limit = LIMITS["section_text"]
    blocks: list[Block] = []
    current = heading
    for piece in pieces:
        piece = piece if len(piece) <= limit else _cut(piece, limit - 1) + ELLIPSIS
        if current and len(current) + 1 + len(piece) > limit:
            blocks.append(_section(current))
            current = ""
        current = f"{current}\n{piece}" if current else piece
    if current:
        blocks.append(_section(current))
    return blocks


def _cut(text: str, limit: int) -> str:
    """``text[:limit]``, moved back so it does not end inside an entity (``&amp;``)."""
    head = text[:limit]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:] and re.match(r"&(?:amp|lt|gt);", text[amp:]):
        head = head[:amp]
    return head


def _date(iso: str) -> str:
    """A tick time shown in each reader's time zone (Slack's ``<!date>``), escaped text if odd."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return _escape(iso)
    if when.tzinfo is None:
        return _escape(iso)
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _who(user: str) -> str:
    # A Slack user id comes from a signed interaction payload, so it may become a mention;
    # anything else (a display name from another platform) stays text.
    return f"<@{user}>" if _USER_ID.fullmatch(user) else _clip(user, 80)


# -- ids ---------------------------------------------------------------------------------------


def tick_action_id(card_id: str, item_id: str) -> str:
    """The ``action_id`` of a checklist item's checkbox: ``ndr_tick|CARD|ITEM``."""
    return f"{TICK_ACTION_PREFIX}|{card_id}|{item_id}"


def parse_tick_action_id(action_id: str) -> tuple[str, str] | None:
    """``(card_id, item_id)`` from :func:`tick_action_id`, or None for any other action."""
    prefix, _, rest = action_id.partition("|")
    card_id, _, item_id = rest.partition("|")
    if prefix != TICK_ACTION_PREFIX or not card_id or not item_id:
        return None
    return card_id, item_id


def action_id(kind: ActionKind) -> str:
    """The Slack ``action_id`` of a card button of ``kind`` (the listener registers the same)."""
    return f"ndr_{kind}"


# -- blocks ------------------------------------------------------------------------------------


def _facts(card: Card) -> list[Block]:
    fields = []
    for fact in card.facts:
        label = f"*{_clip(fact.label, 100)}*\n"
        value = _clip(fact.value, LIMITS["field_text"] - len(label), _value)
        fields.append(_mrkdwn(label + value))
    per = LIMITS["fields"]
    return [{"type": "section", "fields": fields[i : i + per]} for i in range(0, len(fields), per)]


def _checks(card: Card) -> list[Block]:
    lines = []
    for check in card.checks:
        target = f" {_value(check.target)}" if check.target.strip() else ""
        line = (
            f"{_STATUS.get(check.status, ':grey_question:')} *{_escape(check.name)}*{target}: "
            f"{_text(check.summary)}"
        )
        lines.append("\n".join([line, *(f"      • {_text(d)}" for d in check.details)]))
        lines += [_fence(block, 2900) for block in check.code]
        lines += [f"      • {_link(link)}" for link in check.links]
    return _packed("*Checks*", lines)


def _recheck(card: Card) -> list[Block]:
    """Who re-checked, when, and what changed (a context line under the checks)."""
    note = card.recheck
    if note is None:
        return []
    limit = LIMITS["context_text"]
    head = f":repeat: Re-checked by {_who(note.by)} at {_date(note.at)}: "
    changes = _clip("; ".join(note.changes), limit - len(head) - 10)
    elements = [_mrkdwn(head + changes)]
    if note.fixed:
        elements.append(_mrkdwn(f":white_check_mark: {_text(FIXED_NEXT)}"))
    return [{"type": "context", "elements": elements}]


def _checklist(card: Card, checklist: ChecklistView) -> list[Block]:
    key = card.id
    intro = (
        f"*{_escape(checklist.title)}*\nTick each step when it is done; everyone here sees who "
        "ticked it. The unblock step opens once every security step is ticked."
    )
    blocks = [_section(_clip(intro, LIMITS["section_text"], str))]
    for number, item in enumerate(checklist.items, start=1):
        blocks.append(_checklist_item(key, number, item))
    return blocks


def _checklist_item(key: str, number: int, item: ChecklistItemView) -> Block:
    limit = LIMITS["section_text"]
    block_id = _revision_id(item)
    if not item.enabled:
        text = f"*Not yet:* {_clip(item.text, 2000)}\n_Tick every security step above first._"
        return {"type": "section", "block_id": block_id, "text": _mrkdwn(text)}
    lines = [f"*{number}.* {_clip(item.text, 2000)}"]
    lines += [_fence(c, 700) for c in item.commands]
    if item.done:
        when = f" at {_date(item.done_at)}" if item.done_at else ""
        lines.append(f":heavy_check_mark: Done by {_who(item.done_by or '?')}{when}")
    text = "\n".join(lines)
    if len(text) > limit:  # commands are what gives way first
        text = "\n".join([lines[0], lines[-1]] if item.done else lines[:1])
    option = {"text": _plain("Done"), "value": "done"}
    checkbox: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": tick_action_id(key, item.id),
        "options": [option],
    }
    if item.done:
        checkbox["initial_options"] = [option]
    return {"type": "section", "block_id": block_id, "text": _mrkdwn(text), "accessory": checkbox}


def _revision_id(item: ChecklistItemView) -> str:
    """A block id that changes whenever the item's state does: Slack keeps a checkbox's state by
    block id across ``chat.update``, so a reused id could show a tick that was taken back."""
    state = f"{item.done}|{item.done_by}|{item.done_at}|{item.enabled}"
    revision = hashlib.sha256(state.encode()).hexdigest()[:10]
    return f"ndr_item|{item.id}|{revision}"[: LIMITS["block_id"]]


def _link(link: LinkItem) -> str:
    label = _clip(link.label, 300)
    if _SAFE_URL.fullmatch(link.url) and len(link.url) <= 2000:
        return f"<{link.url.replace('&', '&amp;')}|{label}>"
    return label  # not a URL we would send anyone to: show the words only


def _links(card: Card) -> list[Block]:
    lines = [f"• {_link(link)}" for link in card.links]
    return _packed("*Links*", lines) if lines else []


def _quote(card: Card) -> list[Block]:
    """What the refusing server said, as pasted (a code block shows it inert and exact)."""
    if not card.quote.strip():
        return []
    heading = "*What the server said*\n"
    limit = min(_QUOTE_MAX, LIMITS["section_text"] - len(heading) - 6)
    return [_section(f"{heading}```{_clip(card.quote, limit, _code)}```")]


def _actions(card: Card) -> list[Block]:
    buttons = [
        {
            "type": "button",
            "text": _plain(_clip(action.label, LIMITS["button_text"])),
            "action_id": action_id(action.kind),
            "value": (action.value or card.id)[: LIMITS["button_value"]],
        }
        for action in card.actions[:25]
    ]
    return [{"type": "actions", "elements": buttons}] if buttons else []


def _context(card: Card) -> list[Block]:
    limit = LIMITS["context_text"]
    texts = [f":information_source: {_clip(note, limit - 25)}" for note in card.notes]
    footer = _clip(card.footer, limit)
    if footer.strip():
        texts.append(footer)
    texts = texts[: LIMITS["context_elements"]]
    return [{"type": "context", "elements": [_mrkdwn(t)]} for t in texts]


def _body(card: Card) -> list[Block]:
    emoji = _TONE.get(str(card.tone), "")
    title = f"{emoji} {_clip(card.title, LIMITS['header_text'] - len(emoji) - 1)}".strip()
    blocks: list[Block] = [{"type": "header", "text": _plain(title)}]
    summary = _clip(card.summary, LIMITS["section_text"])
    if summary.strip():
        blocks.append(_section(summary))
    blocks += _facts(card)
    if card.picture is not None and card.picture.slack_file:
        alt = " ".join(card.picture.alt.split())[:2000]  # alt_text is plain text, never markup
        blocks.append(
            {"type": "image", "slack_file": {"id": card.picture.slack_file}, "alt_text": alt}
        )
    blocks += _quote(card)
    for section in card.sections:
        heading = f"*{_clip(section.title, 200)}*\n"
        body = _clip(section.text, LIMITS["section_text"] - len(heading))
        blocks.append(_section(heading + body))
    if card.checks:
        blocks += _checks(card)
    blocks += _recheck(card)
    if card.taken_by:
        taken = f":raising_hand: Taken by {_who(card.taken_by)} at {_date(card.taken_at)}"
        blocks.append({"type": "context", "elements": [_mrkdwn(taken)]})
    if card.delisting_by:
        sent = f":envelope: Delisting requested by {_who(card.delisting_by)} at {_date(card.delisting_at)}"
        blocks.append({"type": "context", "elements": [_mrkdwn(sent)]})
    if card.steps:
        steps = (f"{n}. {_clip(s, 2900)}" for n, s in enumerate(card.steps, start=1))
        blocks += _packed("*Next steps*", steps)
    if card.code:
        blocks += _packed("*Commands*", (_fence(c, 2900) for c in card.code))
    if card.checklist is not None:
        blocks.append({"type": "divider"})
        blocks += _checklist(card, card.checklist)
    blocks += _links(card)
    blocks += _context(card)
    return blocks


def render_blockkit(card: Card) -> dict[str, Any]:
    """``{"blocks": [...], "text": fallback}`` for ``card``, within Slack's message limits."""
    body = _body(card)
    tail = _actions(card)
    room = LIMITS["blocks"] - len(tail)
    if len(body) > room:
        hidden = len(body) - room + 1
        note = f"{ELLIPSIS} {hidden} more part(s) of this card do not fit in one Slack message."
        body = [*body[: room - 1], {"type": "context", "elements": [_mrkdwn(note)]}]
    return {
        "blocks": body + tail,
        "text": _clip(card.fallback_text, LIMITS["fallback_text"]).strip() or "ndrbot",
    }
