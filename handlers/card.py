"""The platform-neutral card: what ndrbot says, before any platform's markup.

Every string in a card is plain text. Text that came from a paste is marked ``untrusted`` where it
is shown as a value (facts, code) so renderers know to neutralise mentions, links and markup;
renderers escape *all* text anyway, because even our own templates interpolate pasted values.
Links carry URLs from the catalogue only, never from a paste.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Action",
    "ActionKind",
    "Card",
    "CheckLine",
    "ChecklistItemView",
    "ChecklistView",
    "CodeBlock",
    "Fact",
    "LinkItem",
    "Picture",
    "Recheck",
    "Section",
    "Tone",
    "card_from_json",
    "card_to_json",
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
    code: tuple[CodeBlock, ...] = ()  # records or commands the check proposes
    links: tuple[LinkItem, ...] = ()  # where to act on it (a blocklist's delisting form)


_WHERE = {
    "powershell": "PowerShell",
    "sh": "a Linux or macOS shell",
    "dns": "DNS records",
}


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A command to copy (PowerShell or shell), already quoted safely by the catalogue."""

    label: str
    code: str
    language: str = "powershell"

    @property
    def where(self) -> str:
        """Where to run or put it, for the block's label ("" when it says nothing useful)."""
        return _WHERE.get(self.language, "")


@dataclass(frozen=True, slots=True)
class LinkItem:
    """A link to a portal or documentation page (URL from the catalogue, never from a paste)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Picture:
    """A picture on a card (a chart): a PNG, base64-encoded, and what it shows in words."""

    alt: str
    png_base64: str
    slack_file: str = ""  # the Slack file id, once uploaded (Slack shows uploaded images only)


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
    required: bool = False  # a security step that must be ticked before the unblock step
    commands: tuple[CodeBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ChecklistView:
    """A checklist on a card: ticking items is recorded per card (``key``)."""

    key: str  # identifies this checklist instance (per card), for the state store
    title: str
    items: tuple[ChecklistItemView, ...]


class ActionKind(StrEnum):
    """What a button does; each renderer maps a kind to its platform's action id, and each
    adapter maps the id back, so no renderer's string is a contract of another module."""

    SHARE = "share"  # post the stored card in the channel, for everyone
    SAVE_TICKS = "tick"  # Teams: the checklist's toggles, submitted together
    RECHECK = "recheck"  # run the card's checks again and update it in place
    TAKE = "take"  # an alert: "I'm on it", shown on the card for everyone
    DELIST = "delist"  # open the prefilled delisting request (handlers.delisting)
    DELIST_SENT = "delist_sent"  # the request was sent by hand: say so on the card


@dataclass(frozen=True, slots=True)
class Recheck:
    """The last Re-check of a card's checks: who, when, and what changed since the card before."""

    by: str  # platform user id or display name
    at: str  # ISO 8601 UTC
    changes: tuple[str, ...]  # one sentence per check, computed from the old and new results
    fixed: bool = False  # every check that failed before now passes


@dataclass(frozen=True, slots=True)
class Action:
    """A button on a card. The card it acts on is the card's ``id``; ``value`` is any extra
    payload the kind needs (none so far)."""

    kind: ActionKind
    label: str
    value: str = ""


@dataclass(frozen=True)
class Card:
    """Everything one reply shows."""

    title: str
    tone: Tone
    summary: str = ""
    id: str = ""  # the stored card's id: buttons and ticks refer to it ("" when not stored)
    facts: tuple[Fact, ...] = ()
    sections: tuple[Section, ...] = ()
    checks: tuple[CheckLine, ...] = ()
    steps: tuple[str, ...] = ()
    code: tuple[CodeBlock, ...] = ()
    links: tuple[LinkItem, ...] = ()
    checklist: ChecklistView | None = None
    quote: str = ""  # what the refusing server said, verbatim (untrusted: from the paste)
    recheck: Recheck | None = None
    taken_by: str = ""  # an alert someone took ("I'm on it"): who (platform user id or name)
    taken_at: str = ""  # and when (ISO 8601 UTC)
    delisting_by: str = ""  # a delisting request someone marked as sent: who
    delisting_at: str = ""  # and when (ISO 8601 UTC)
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    footer: str = ""
    picture: Picture | None = None  # shown where the platform can show one (Teams)
    meta: dict[str, str] = field(default_factory=dict)  # what it is about, for logs (not shown)

    @property
    def fallback_text(self) -> str:
        """A one-line plain-text version for notifications and clients without cards."""
        parts = [self.title]
        if self.summary:
            parts.append(self.summary)
        return " - ".join(parts)[:300]


def card_to_json(card: Card) -> dict[str, object]:
    """A JSON-ready dict of ``card`` (to store it and re-render it later, e.g. on a tick):
    ``dataclasses.asdict(card)``, without its deep copy of every string (a card's values are
    immutable), which made saving a card a sixth of a busy server's event loop."""
    plain = _plain(card)
    assert isinstance(plain, dict)
    return plain


_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: object) -> object:
    kind = type(value)
    if kind in (str, int, float, bool) or value is None or isinstance(value, StrEnum):
        return value
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind in (tuple, list):
        return kind(_plain(item) for item in value)  # type: ignore[attr-defined]
    if kind is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}  # type: ignore[attr-defined]
    return asdict(value) if is_dataclass(value) else copy.deepcopy(value)  # type: ignore[arg-type]


def card_from_json(data: dict[str, Any]) -> Card:
    """The card :func:`card_to_json` stored."""
    checklist = data.get("checklist")
    meta = dict(data.get("meta", {}))
    recheck = data.get("recheck")
    return Card(
        title=data["title"],
        tone=Tone(data["tone"]),
        summary=data.get("summary", ""),
        # Cards stored before the card had an id kept it in meta.
        id=data.get("id") or meta.get("card_id", ""),
        facts=tuple(Fact(**f) for f in data.get("facts", ())),
        sections=tuple(Section(**s) for s in data.get("sections", ())),
        checks=tuple(
            CheckLine(
                **{
                    **c,
                    "details": tuple(c.get("details", ())),
                    "code": tuple(CodeBlock(**b) for b in c.get("code", ())),
                    "links": tuple(LinkItem(**x) for x in c.get("links", ())),
                }
            )
            for c in data.get("checks", ())
        ),
        steps=tuple(data.get("steps", ())),
        code=tuple(CodeBlock(**c) for c in data.get("code", ())),
        links=tuple(LinkItem(**link) for link in data.get("links", ())),
        checklist=None
        if not checklist
        else ChecklistView(
            key=checklist["key"],
            title=checklist["title"],
            items=tuple(
                ChecklistItemView(
                    **{
                        **item,
                        "commands": tuple(CodeBlock(**c) for c in item.get("commands", ())),
                    }
                )
                for item in checklist["items"]
            ),
        ),
        actions=tuple(
            Action(ActionKind(a.get("kind") or a["id"]), a["label"], a.get("value", ""))
            for a in data.get("actions", ())
        ),
        quote=data.get("quote", ""),
        recheck=Recheck(**{**recheck, "changes": tuple(recheck["changes"])}) if recheck else None,
        taken_by=data.get("taken_by", ""),
        taken_at=data.get("taken_at", ""),
        delisting_by=data.get("delisting_by", ""),
        delisting_at=data.get("delisting_at", ""),
        notes=tuple(data.get("notes", ())),
        footer=data.get("footer", ""),
        picture=Picture(**data["picture"]) if data.get("picture") else None,
        meta=meta,
    )
