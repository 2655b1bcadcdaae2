"""RFC 3464 delivery-status fields, from a proper ``message/delivery-status`` part or from the
same fields pasted as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["DsnFields", "DsnRecipient", "field_host", "parse_dsn_fields", "strip_type"]

# RFC 3464 section 2.2 (per-message) and 2.3 (per-recipient) fields, plus common X- extensions.
_MESSAGE_FIELDS = frozenset(
    (
        "reporting-mta",
        "received-from-mta",
        "arrival-date",
        "x-postfix-sender",
        "x-original-message-id",
        "original-envelope-id",
        "dsn-gateway",
    )
)
_RECIPIENT_FIELDS = frozenset(
    (
        "original-recipient",
        "final-recipient",
        "x-actual-recipient",
        "action",
        "status",
        "remote-mta",
        "diagnostic-code",
        "last-attempt-date",
        "will-retry-until",
        "final-log-id",
        "x-supplementary-info",
        "x-display-name",
    )
)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,40})[ \t]*:[ \t]*(.*)$")


@dataclass
class DsnRecipient:
    """The per-recipient fields of one DSN block (values unfolded, types stripped)."""

    fields: dict[str, str] = field(default_factory=dict)
    diagnostic_type: str = ""

    def get(self, name: str) -> str:
        """The unfolded value of field ``name`` (lower-case), or ``""``."""
        return self.fields.get(name, "")


@dataclass
class DsnFields:
    """Everything read from delivery-status fields."""

    message: dict[str, str] = field(default_factory=dict)
    recipients: list[DsnRecipient] = field(default_factory=list)


_TYPE = re.compile(r"[A-Za-z0-9-]{1,20}")
_HOST_START = re.compile(r"\s*([A-Za-z0-9][\w.-]{0,253})")


def field_host(value: str) -> str | None:
    """The host name a DSN field value starts with (Reporting-MTA, Remote-MTA, its type already
    stripped), lower-cased and without a final dot; None where it starts with none."""
    match = _HOST_START.match(value)
    return match.group(1).rstrip(".").lower() if match else None


def strip_type(value: str) -> tuple[str, str]:
    """Split ``"rfc822; user@example.com"`` into ``("rfc822", "user@example.com")``."""
    kind, sep, rest = value.partition(";")
    if sep and _TYPE.fullmatch(kind.strip()):
        return kind.strip().lower(), rest.strip()
    return "", value.strip()


def parse_dsn_fields(text: str) -> DsnFields:
    """Read DSN fields from ``text``; unknown lines are skipped, nothing raises.

    Recipient blocks are normally separated by blank lines (RFC 3464 section 2.1), but pasted and
    re-wrapped copies often lose them, so a field seen twice also starts a new recipient.
    """
    result = DsnFields()
    current: DsnRecipient | None = None
    last: tuple[dict[str, str], str] | None = None
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            if current is not None and current.fields:
                result.recipients.append(current)
                current = None
            last = None
            continue
        if line[0] in " \t" and last is not None:
            target, name = last
            target[name] = f"{target[name]} {line.strip()}".strip()
            continue
        match = _FIELD.match(line) if ":" in line else None  # a field has a colon: most lines don't
        if not match:
            last = None
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name in _MESSAGE_FIELDS:
            if name in result.message:
                last = None  # a second copy (e.g. a quoted report) must not overwrite the first
            else:
                result.message[name] = value
                last = (result.message, name)
        elif name in _RECIPIENT_FIELDS:
            if current is None:
                current = DsnRecipient()
            elif name in current.fields:
                result.recipients.append(current)
                current = DsnRecipient()
            current.fields[name] = value
            last = (current.fields, name)
        else:
            last = None
    if current is not None and current.fields:
        result.recipients.append(current)
    for recipient in result.recipients:
        _tidy(recipient)
    result.recipients = [r for r in result.recipients if _is_recipient_block(r)]
    return result


def _tidy(recipient: DsnRecipient) -> None:
    fields = recipient.fields
    for name in ("original-recipient", "final-recipient", "x-actual-recipient", "remote-mta"):
        if name in fields:
            fields[name] = strip_type(fields[name])[1]
    if "diagnostic-code" in fields:
        kind, text = strip_type(fields["diagnostic-code"])
        recipient.diagnostic_type = kind
        fields["diagnostic-code"] = text
    if "action" in fields:
        fields["action"] = fields["action"].split("(")[0].strip().lower()
    if "status" in fields:
        fields["status"] = fields["status"].split()[0] if fields["status"].split() else ""


def _is_recipient_block(recipient: DsnRecipient) -> bool:
    fields = recipient.fields
    return bool(
        fields.get("final-recipient")
        or fields.get("original-recipient")
        or fields.get("status")
        or fields.get("diagnostic-code")
    )
