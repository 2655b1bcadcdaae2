"""Slack payloads <-> the router's values. Pure functions: no I/O, no bolt.

Slack sends message text escaped (``&amp;``, ``&lt;``, ``&gt;``) with its own markup for links and
mentions (``<mailto:pat@contoso.com|pat@contoso.com>``, ``<http://contoso.com|contoso.com>``,
``<@U123>``, ``<!here>``): docs.slack.dev "Formatting text for app surfaces", *Retrieving
messages*. The router reads bounces as plain text, so that markup is turned back into the words a
person pasted before anything else looks at it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from handlers.events import Attachment, Message

__all__ = [
    "PASTE_ACTION",
    "PASTE_BLOCK",
    "PASTE_CALLBACK",
    "PASTE_MAX_CHARS",
    "SlackMessage",
    "from_slack_text",
    "is_slack_url",
    "message_from_event",
    "paste_modal",
    "paste_origin",
    "readable_file",
]

PLATFORM = "slack"
PASTE_CALLBACK = "ndr_paste"
PASTE_BLOCK = "ndr_paste_block"
PASTE_ACTION = "ndr_paste_text"
PASTE_MAX_CHARS = 3000  # Slack's cap on a plain_text_input (docs.slack.dev, plain-text input)

_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_IGNORED_SUBTYPES = frozenset(
    {
        "message_deleted",
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "pinned_item",
        "unpinned_item",
        "bot_add",
        "bot_remove",
        "ekm_access_denied",
    }
)
_SLACK_DOMAINS = ("slack.com", "slack-edge.com", "slack-gov.com", "slack-files.com")
_READABLE_NAME = re.compile(r"\.(?:eml|txt|log|msg)$", re.IGNORECASE)
_READABLE_TYPES = ("text/", "message/rfc822", "application/vnd.ms-outlook")


def _markup(match: re.Match[str]) -> str:
    target, bar, label = match.group(1).partition("|")
    if bar and label:
        # What the person saw: the address, the domain, @group; channels and people by name.
        prefix = target[0] if target[:1] in ("#", "@") and label[:1] != target[0] else ""
        return prefix + label
    if target.startswith("mailto:"):
        return target[len("mailto:") :]
    if target.startswith("!"):
        return "@" + target[1:].split("^", 1)[0]  # <!here> -> @here
    return target  # a bare URL, <@U123>, <#C123>


def from_slack_text(text: str) -> str:
    """Slack's escaped, marked-up message text as the plain text a person typed or pasted."""
    text = _MARKUP.sub(_markup, text)
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def is_slack_url(url: str, api_url: str) -> bool:
    """True for an https URL on Slack's own domains, or any URL on the ``SLACK_API_URL`` host:
    the only places a bot token, or an answer meant for one person, may be sent."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host and host == (urlsplit(api_url).hostname or "").lower():
        return parts.scheme in ("http", "https")
    on_slack = any(host == d or host.endswith("." + d) for d in _SLACK_DOMAINS)
    return parts.scheme == "https" and on_slack


def readable_file(file: Mapping[str, Any]) -> bool:
    """True for an upload ndrbot reads: .eml/.txt/.log/.msg, or a text snippet of any name."""
    name = str(file.get("name") or "")
    mimetype = str(file.get("mimetype") or "")
    return bool(_READABLE_NAME.search(name)) or mimetype.startswith(_READABLE_TYPES)


@dataclass(frozen=True)
class SlackMessage:
    """A message event reduced to what ndrbot needs; ``files`` still to be fetched."""

    message: Message
    thread_ts: str  # where a reply goes: the thread the message is in, or a new one under it
    files: tuple[Mapping[str, Any], ...] = ()

    def with_attachments(self, attachments: tuple[Attachment, ...]) -> Message:
        """The router's message, with the fetched files."""
        return replace(self.message, attachments=attachments)


def message_from_event(event: Mapping[str, Any], bot_user_id: str | None) -> SlackMessage | None:
    """A ``message`` (or ``app_mention``) event as a :class:`SlackMessage`; None when ndrbot has
    nothing to do with it (joins, deletions, topic changes...).

    An edit (``message_changed``) keeps the original ``ts`` and is marked ``edited``, so the
    router's once-per-message rule holds whatever the edit says.
    """
    subtype = event.get("subtype")
    if subtype in _IGNORED_SUBTYPES:
        return None
    inner: Mapping[str, Any] = event
    edited = False
    if subtype == "message_changed":
        inner = event.get("message") or {}
        edited = True
    elif subtype == "message_replied":
        return None  # a notice that a thread got a reply; the reply is its own event
    channel = str(event.get("channel") or "")
    ts = str(inner.get("ts") or event.get("ts") or "")
    if not channel or not ts:
        return None
    text = from_slack_text(str(inner.get("text") or ""))
    direct = event.get("channel_type") == "im"
    if bot_user_id:
        mention = f"@{bot_user_id}"
        if mention in text:
            direct = True  # addressed to ndrbot: a non-bounce gets the help, as in a DM
            text = text.replace(mention, " ").strip()
    from_bot = bool(inner.get("bot_id") or inner.get("subtype") == "bot_message")
    files = tuple(f for f in inner.get("files") or () if isinstance(f, Mapping))
    message = Message(
        platform=PLATFORM,
        conversation=channel,
        message_id=ts,
        user=str(inner.get("user") or inner.get("bot_id") or ""),
        text=text,
        direct=direct,
        edited=edited or bool(inner.get("edited")),
        from_bot=from_bot,
    )
    return SlackMessage(message, str(inner.get("thread_ts") or ts), files)


def paste_modal(channel: str, response_url: str | None) -> dict[str, Any]:
    """The ``/ndr`` form: one multi-line input; where to answer rides in ``private_metadata``."""
    metadata = json.dumps({"channel": channel, "response_url": response_url or ""})
    return {
        "type": "modal",
        "callback_id": PASTE_CALLBACK,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Diagnose a bounce"},
        "submit": {"type": "plain_text", "text": "Diagnose"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": PASTE_BLOCK,
                "label": {"type": "plain_text", "text": "The bounce (non-delivery report)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": PASTE_ACTION,
                    "multiline": True,
                    "max_length": PASTE_MAX_CHARS,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "Paste the diagnostic part: status code, server reply...",
                    },
                },
                "hint": {
                    "type": "plain_text",
                    "text": (
                        "Only you will see the answer. Slack takes up to 3,000 characters here; "
                        "for a whole bounce, upload the .eml in a channel I am in."
                    ),
                },
            }
        ],
    }


def paste_origin(view: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(text, channel, response_url)`` from a submitted ``/ndr`` form."""
    try:
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        metadata = {}
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get(PASTE_BLOCK) or {}).get(PASTE_ACTION) or {}).get("value") or "")
    return text, str(metadata.get("channel") or ""), str(metadata.get("response_url") or "")
