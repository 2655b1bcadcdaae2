"""What Slack would refuse or misread in a Block Kit message, as a list of problems.

The limits are Slack's documented ones (docs.slack.dev/reference/block-kit: blocks, block
elements, composition objects), checked independently of the renderer's own constants so a
typo there cannot hide here.
"""

from __future__ import annotations

import re
from typing import Any

MAX_BLOCKS = 50
_TEXT_LIMITS = {  # (block or element type, field) -> max characters
    ("header", "text"): 150,
    ("section", "text"): 3000,
    ("section", "fields"): 2000,
    ("context", "elements"): 3000,
    ("button", "text"): 75,
    ("option", "text"): 75,
}
_CONTROL = re.compile(r"<([^<>]*)>")


def control_sequences(message: dict[str, Any]) -> list[str]:
    """Every ``<...>`` Slack would parse (a link, a mention, a date) in every text of the message."""
    found: list[str] = []
    for text in texts(message):
        found += _CONTROL.findall(text)
    return found


def texts(node: Any) -> list[str]:
    """Every ``text`` string of every text object (and the fallback ``text``) in a message."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                out += texts(value)
    elif isinstance(node, list):
        for item in node:
            out += texts(item)
    return out


def _text_object(obj: Any, where: str, limit: int, problems: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        problems.append(f"{where}: not a text object: {obj!r}")
        return
    text = obj.get("text", "")
    if not 1 <= len(text) <= limit:
        problems.append(f"{where}: text length {len(text)} not in 1..{limit}")
    if obj["type"] == "mrkdwn" and obj.get("verbatim") is not True:
        problems.append(f"{where}: mrkdwn without verbatim: true")
    if obj["type"] == "mrkdwn" and text.count("```") % 2:
        problems.append(f"{where}: unbalanced ``` fence")


def problems(message: dict[str, Any]) -> list[str]:
    """Everything in ``message`` (``{"blocks", "text"}``) that breaks a Slack limit."""
    found: list[str] = []
    blocks = message.get("blocks", [])
    if not 1 <= len(blocks) <= MAX_BLOCKS:
        found.append(f"{len(blocks)} blocks (1..{MAX_BLOCKS})")
    text = message.get("text", "")
    if not text or len(text) > 4000:
        found.append(f"fallback text length {len(text)} (1..4000)")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for n, block in enumerate(blocks):
        kind = block.get("type")
        where = f"block {n} ({kind})"
        if "block_id" in block:
            if len(block["block_id"]) > 255 or block["block_id"] in block_ids:
                found.append(f"{where}: block_id too long or repeated")
            block_ids.add(block["block_id"])
        if kind == "header":
            _text_object(block["text"], where, 150, found)
            if block["text"]["type"] != "plain_text":
                found.append(f"{where}: header text must be plain_text")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                found.append(f"{where}: neither text nor fields")
            if "text" in block:
                _text_object(block["text"], where, 3000, found)
            fields = block.get("fields", [])
            if len(fields) > 10:
                found.append(f"{where}: {len(fields)} fields (max 10)")
            for field in fields:
                _text_object(field, f"{where} field", 2000, found)
            if "accessory" in block:
                _element(block["accessory"], where, action_ids, found)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                found.append(f"{where}: {len(elements)} elements (1..10)")
            for element in elements:
                _text_object(element, where, 3000, found)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                found.append(f"{where}: {len(elements)} elements (1..25)")
            for element in elements:
                _element(element, where, action_ids, found)
        elif kind != "divider":
            found.append(f"{where}: unexpected block type")
    return found


def _element(element: dict[str, Any], where: str, action_ids: set[str], found: list[str]) -> None:
    action_id = element.get("action_id", "")
    if not action_id or len(action_id) > 255 or action_id in action_ids:
        found.append(f"{where}: action_id missing, too long or repeated: {action_id!r}")
    action_ids.add(action_id)
    if element.get("type") == "button":
        _text_object(element["text"], f"{where} button", 75, found)
        if element["text"]["type"] != "plain_text":
            found.append(f"{where}: button text must be plain_text")
        if len(element.get("value", "")) > 2000:
            found.append(f"{where}: button value over 2000")
    elif element.get("type") == "checkboxes":
        options = element.get("options", [])
        if not 1 <= len(options) <= 10:
            found.append(f"{where}: {len(options)} checkbox options (1..10)")
        for option in options:
            _text_object(option["text"], f"{where} option", 75, found)
            if not 1 <= len(option.get("value", "")) <= 75:
                found.append(f"{where}: option value length not in 1..75")
        for chosen in element.get("initial_options", []):
            if chosen not in options:
                found.append(f"{where}: initial option not among the options")
    else:
        found.append(f"{where}: unexpected element {element.get('type')!r}")
