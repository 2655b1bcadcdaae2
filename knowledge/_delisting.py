"""Reading ``delisting:`` entries (data/delisting.yaml) into :class:`DelistRoute` values."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from . import _fields as f
from ._model import DELIST_NAMES, DelistRoute, Link

__all__ = ["delist_route"]

_ZONE = re.compile(r"(?:[a-z0-9-]{1,63}\.){1,10}[a-z]{2,63}")
_MAIL = re.compile(r"[a-z0-9.+-]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,}")


def delist_route(file: str, raw: Mapping[str, Any], portals: Mapping[str, Link]) -> DelistRoute:
    """One route, validated: known template names only, a portal or a mail address to go to."""
    entry = f.Entry(file, str(raw.get("key")), raw)
    entry.check_keys(
        ("key", "title", "fields", "steps", "expect", "body"),
        ("codes", "words", "portal", "mail_to", "subject", "escalation", "zone"),
    )
    codes = tuple(f.code_range(entry, c) for c in entry.strings("codes"))
    words = tuple(w.lower() for w in entry.strings("words"))
    if not codes and not words:
        raise entry.fail("a route needs codes or words to apply to")
    portal_name = raw.get("portal")
    if portal_name is not None and portal_name not in portals:
        raise entry.fail(f"portal {portal_name!r} is not in tools.yaml")
    mail_to = raw.get("mail_to")
    if mail_to is not None and not (isinstance(mail_to, str) and _MAIL.fullmatch(mail_to)):
        raise entry.fail(f"mail_to {mail_to!r} is not an email address")
    if portal_name is None and mail_to is None:
        raise entry.fail("a route needs a portal or a mail_to")
    templates = {name: _template(entry, name) for name in ("subject", "body", "escalation")}
    if templates["body"] is None:
        raise entry.fail("body must be a non-empty string")
    return DelistRoute(
        key=entry.text("key", max_len=60),
        title=entry.text("title", max_len=120),
        codes=codes,
        words=words,
        portal=portals[portal_name] if portal_name is not None else None,
        mail_to=mail_to,
        fields=entry.choices("fields", DELIST_NAMES),
        steps=entry.strings("steps", required=True),
        expect=entry.text("expect"),
        subject=templates["subject"],
        body=templates["body"],
        escalation=templates["escalation"],
        zone=_zone(entry),
    )


def _zone(entry: f.Entry) -> str | None:
    value = entry.raw.get("zone")
    if value is None:
        return None
    if not isinstance(value, str) or not _ZONE.fullmatch(value):
        raise entry.fail(f"zone {value!r} is not a DNS zone name")
    return value


def _template(entry: f.Entry, name: str) -> str | None:
    """A plain-text template (line breaks kept) whose {names} are all in DELIST_NAMES."""
    value = entry.raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 4000:
        raise entry.fail(f"{name} must be a non-empty string of at most 4000 characters")
    try:
        used = {
            field for _, field, spec, conv in string.Formatter().parse(value) if field is not None
        }
    except ValueError as error:
        raise entry.fail(f"{name}: {error}") from None
    unknown = sorted(used - set(DELIST_NAMES))
    if unknown:
        raise entry.fail(f"{name} uses unknown name(s): {', '.join(unknown)}")
    return value.strip("\n")
