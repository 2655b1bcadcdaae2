"""Reading Bot Framework Activities: pure functions from what Teams sends to plain values.

No I/O here: checking an incoming body, stripping the bot's own mention, telling a bot command from
a pasted bounce, reading a card's submit data, and finding the files worth fetching. Shapes follow
the Bot Framework Activity schema and what Teams puts in it (``conversation.conversationType``,
``channelData``, ``application/vnd.microsoft.teams.file.download.info`` attachments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from bot.render.adaptive import TICK_ITEM_PREFIX
from handlers.card import ActionKind
from handlers.commands import typed_command

__all__ = [
    "FILE_DOWNLOAD_INFO",
    "FileRef",
    "Submit",
    "base_conversation",
    "command_in",
    "file_refs",
    "html_body",
    "html_to_text",
    "parse_command",
    "parse_submit",
    "problems",
    "strip_mention",
]

FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
_SUBMITS = frozenset({str(kind) for kind in ActionKind})
# Bounces (.eml, .txt) and DMARC aggregate reports (.xml, .xml.gz, .gz, .zip); what a file
# really is, the reader decides from its bytes.
_FILE_NAMES = re.compile(r"\.(?:eml|txt|xml|gz|zip)$", re.IGNORECASE)
_AT_TAG = re.compile(r"<at(?:\s[^>]*)?>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_MAX_ID = 200


def _text_field(body: dict[str, Any], *path: str) -> str | None:
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def problems(body: object) -> list[str]:
    """What is missing or malformed in an incoming Activity (empty when it can be handled).

    Only the fields ndrbot relies on are checked; the messages name them for the 400 answer.
    """
    if not isinstance(body, dict):
        return ["the body is not a JSON object (an Activity)"]
    found = []
    for path in (("type",), ("channelId",), ("conversation", "id")):
        if _text_field(body, *path) is None:
            found.append(f"'{'.'.join(path)}' is missing or not a string")
    service_url = _text_field(body, "serviceUrl")
    if service_url is None or not service_url.startswith(("https://", "http://")):
        found.append("'serviceUrl' is missing or not an http(s) URL")
    if body.get("type") in ("message", "invoke"):
        # Both are needed to answer once per message and to know who asked.
        for path in (("id",), ("from", "id")):
            if _text_field(body, *path) is None:
                found.append(f"'{'.'.join(path)}' is missing or not a string")
    for key, kind in (("text", str), ("attachments", list), ("entities", list)):
        if key in body and body[key] is not None and not isinstance(body[key], kind):
            found.append(f"'{key}' must be a {kind.__name__}")
    return found


def base_conversation(conversation_id: str) -> str:
    """The conversation without a thread suffix: Teams addresses a channel thread as
    ``19:...@thread.tacv2;messageid=1700000000000``; posts and references use the channel."""
    return conversation_id.split(";messageid=", 1)[0]


def thread_root(conversation_id: str) -> str:
    """The message a channel thread hangs from (``...;messageid=1700000000000``), or ""."""
    _, _, root = conversation_id.partition(";messageid=")
    return root[:200]


def strip_mention(
    text: str, entities: list[dict[str, Any]], bot_id: str, bot_name: str = ""
) -> tuple[str, bool]:
    """``text`` without the bot's own ``<at>`` mention(s), and whether the bot was mentioned.

    Teams puts ``<at>ndrbot</at>`` in the text and a ``mention`` entity naming the bot's id; other
    people's mentions are left as they are.
    """
    mentioned = False
    for entity in entities:
        if str(entity.get("type", "")).lower() != "mention":
            continue
        who = entity.get("mentioned")
        mention_text = entity.get("text")
        if isinstance(who, dict) and who.get("id") == bot_id and isinstance(mention_text, str):
            mentioned = True
            if mention_text:
                text = text.replace(mention_text, " ")
    if not mentioned and bot_name:
        # No entity (some clients, the Emulator): a leading <at>name</at> naming the bot.
        match = _AT_TAG.match(text.lstrip())
        if match and match.group(1).strip().lower() == bot_name.lower():
            mentioned = True
            text = text.lstrip()[match.end() :]
    return text.strip(), mentioned


def parse_command(text: str) -> tuple[str, str] | None:
    """``("spfcheck", "contoso.com")`` for ``spfcheck contoso.com`` or ``/spfcheck contoso.com``;
    None when the first word is not one of ndrbot's commands (the command table's
    :func:`~handlers.commands.typed_command`: ``alerts here`` is ``/ndrbot alerts here``, since
    in Teams the bot's name is already the @mention)."""
    return typed_command(text)


def command_in(text: str, full_text: str) -> tuple[str, str] | None:
    """The command typed in a message, as :func:`parse_command` reads ``text``; its arguments
    come from ``full_text`` (the HTML copy) when that reads as the same command, because the
    HTML keeps the ``<addresses>`` of a bounce pasted after ``ndr``."""
    command = parse_command(text)
    fuller = parse_command(full_text)
    if command is not None and fuller is not None and fuller[0] == command[0]:
        return fuller
    return command


class _HtmlText(HTMLParser):
    """Text of a Teams message body: blocks become lines, mentions are dropped."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "pre", "blockquote", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            self._skip += tag in ("at", "span")
        elif tag == "at" or (
            tag == "span"
            and any(
                name == "itemtype" and (value or "").endswith("/Mention") for name, value in attrs
            )
        ):
            self._skip = 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag in ("at", "span"):
            self._skip -= 1
        if tag in self._BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML message body (Teams' ``text/html`` attachment).

    Teams drops whatever looks like a tag from ``text`` (``Sam <sam@contoso.com>`` arrives as
    ``Sam``, microsoft/BotFramework-Services#181); the HTML copy keeps it as ``&lt;...&gt;``.
    """
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\u00a0", " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_body(attachments: list[dict[str, Any]]) -> str:
    """The text of a message's ``text/html`` copy (empty when it has none)."""
    for attachment in attachments:
        content = attachment.get("content")
        if attachment.get("contentType") == "text/html" and isinstance(content, str):
            return html_to_text(content)
    return ""


@dataclass(frozen=True)
class Submit:
    """An ``Action.Submit`` from one of ndrbot's cards."""

    action: ActionKind  # what the button does
    card_id: str
    toggles: dict[str, bool] = field(default_factory=dict)  # checklist item id -> ticked
    card_message: str = ""  # a draft's submit: the message of the card it was opened from


def parse_submit(value: object) -> Submit | None:
    """The submit data of an ndrbot card (``{"ndrbot": "tick", "card_id": ..., "item:x":
    "true"}``), or None when ``value`` is anything else."""
    if not isinstance(value, dict):
        return None
    action, card_id = value.get("ndrbot"), value.get("card_id")
    if action not in _SUBMITS or not isinstance(card_id, str):
        return None
    if not card_id or len(card_id) > _MAX_ID:
        return None
    toggles = {
        key[len(TICK_ITEM_PREFIX) :]: state == "true"
        for key, state in value.items()
        if isinstance(key, str)
        and key.startswith(TICK_ITEM_PREFIX)
        and state in ("true", "false")
        and len(key) <= _MAX_ID
    }
    card_message = value.get("card_message")
    if not isinstance(card_message, str) or len(card_message) > _MAX_ID:
        card_message = ""
    return Submit(ActionKind(action), card_id, toggles, card_message)


@dataclass(frozen=True)
class FileRef:
    """A file attached to a personal-chat message, downloadable without a token."""

    name: str
    url: str


def file_refs(attachments: list[dict[str, Any]]) -> list[FileRef]:
    """The bounce and report files among a message's attachments (Teams' download-info shape)."""
    found = []
    for attachment in attachments:
        if attachment.get("contentType") != FILE_DOWNLOAD_INFO:
            continue
        name, content = attachment.get("name"), attachment.get("content")
        url = content.get("downloadUrl") if isinstance(content, dict) else None
        if isinstance(name, str) and _FILE_NAMES.search(name) and isinstance(url, str):
            found.append(FileRef(name[:200], url))
    return found
