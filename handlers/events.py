"""What the chat adapters hand to the router, and what it hands back: plain values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.card import Card

__all__ = ["Attachment", "Command", "Message", "Reply", "Visibility"]


class Visibility(StrEnum):
    """Where a reply goes."""

    THREAD = "thread"  # in the thread of the message it answers
    PRIVATE = "private"  # only the person who asked sees it (Slack ephemeral / response_url)
    CHANNEL = "channel"  # a new message in the conversation


@dataclass(frozen=True)
class Attachment:
    """A file shared with a message; the adapter fetches it (or says why it could not)."""

    name: str
    data: bytes | None
    error: str | None = None


@dataclass(frozen=True)
class Message:
    """A message in a conversation the bot is in."""

    platform: str
    conversation: str
    message_id: str
    user: str
    text: str = ""
    direct: bool = False  # a one-to-one chat with the bot
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False
    from_bot: bool = False
    slash: bool = True  # commands are typed with a slash here (not: after an @mention)


@dataclass(frozen=True)
class Command:
    """A slash command (Slack) or a bot command (Teams): ``name`` without the slash."""

    platform: str
    conversation: str
    user: str
    name: str
    args: str = ""
    is_admin: bool = False
    slash: bool = True  # commands are typed with a slash here (not: after an @mention)


@dataclass(frozen=True)
class Reply:
    """A card to post, and where."""

    card: Card
    visibility: Visibility
    card_id: str | None = None
