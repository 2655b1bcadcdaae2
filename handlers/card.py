"""The platform-neutral card: what ndrbot says, before any platform's markup.

Every string in a card is plain text. Text that came from a paste is marked ``untrusted`` where it
is shown as a value (facts, code) so renderers know to neutralise mentions, links and markup;
renderers escape *all* text anyway, because even our own templates interpolate pasted values.
Links carry URLs from the catalogue only, never from a paste.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Action",
    "Card",
    "CheckLine",
    "ChecklistItemView",
    "ChecklistView",
    "CodeBlock",
    "Fact",
    "LinkItem",
    "Section",
    "Tone",
]


class Tone(StrEnum):
    """How alarming a card is; renderers map it to colour and emoji."""

    ERROR = "error"  # a permanent failure that needs action
    WARNING = "warning"  # transient, or a check that warns
    INFO = "info"  # not a bounce, help, neutral results
    SUCCESS = "success"  # all checks pass


@dataclass(frozen=True, slots=True)
class Fact:
    """A labelled value read from a bounce or a check (the value is untrusted text)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    """A titled paragraph of plain text."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One automated check's verdict, as a line on the card."""

    name: str  # "SPF", "Blocklists", ...
    target: str
    status: str  # pass | warn | fail | unknown
    summary: str
    details: tuple[str, ...] = ()  # the most important findings, one sentence each


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A command to copy (PowerShell or shell), already quoted safely by the catalogue."""

    label: str
    code: str
    language: str = "powershell"


@dataclass(frozen=True, slots=True)
class LinkItem:
    """A link to a portal or documentation page (URL from the catalogue, never from a paste)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class ChecklistItemView:
    """One checklist step with its state."""

    id: str
    text: str
    done: bool = False
    done_by: str | None = None  # platform user id or display name of whoever ticked it
    done_at: str | None = None  # ISO 8601 UTC
    enabled: bool = True  # the unblock step stays disabled until the security steps are done
    is_unblock: bool = False
    commands: tuple[CodeBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ChecklistView:
    """A checklist on a card: ticking items is recorded per card (``key``)."""

    key: str  # identifies this checklist instance (per card), for the state store
    title: str
    items: tuple[ChecklistItemView, ...]

    @property
    def security_done(self) -> bool:
        """True when every step required before unblocking is ticked."""
        return all(item.done for item in self.items if not item.is_unblock and item.enabled)


@dataclass(frozen=True, slots=True)
class Action:
    """A button: ``id`` is what the platform sends back, ``value`` its payload."""

    id: str
    label: str
    value: str = ""


@dataclass(frozen=True)
class Card:
    """Everything one reply shows."""

    title: str
    tone: Tone
    summary: str = ""
    facts: tuple[Fact, ...] = ()
    sections: tuple[Section, ...] = ()
    checks: tuple[CheckLine, ...] = ()
    steps: tuple[str, ...] = ()
    code: tuple[CodeBlock, ...] = ()
    links: tuple[LinkItem, ...] = ()
    checklist: ChecklistView | None = None
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    footer: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # ids for interactivity (not shown)

    @property
    def fallback_text(self) -> str:
        """A one-line plain-text version for notifications and clients without cards."""
        parts = [self.title]
        if self.summary:
            parts.append(self.summary)
        return " - ".join(parts)[:300]
