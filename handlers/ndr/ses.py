"""Amazon SES bounce notifications (JSON, bare or inside an SNS envelope), as mail systems and
forwarders hand them to the intake: the same facts as an NDR, already structured."""

from __future__ import annotations

import json
from typing import Any

from handlers.ndr.codes import normalise_address, split_reply
from handlers.ndr.facts import clean_diagnostic, find_sending_ip
from handlers.ndr.model import Bounce, FailedRecipient, Kind, Mta, OriginalMessage
from handlers.ndr.systems import detect_system

__all__ = ["read_ses_notification"]


def _load(text: str) -> Any:
    try:
        # strict=False: notifications are often pasted with their long lines wrapped;
        # raw_decode: a forwarder may append a footer after the JSON.
        value, _end = json.JSONDecoder(strict=False).raw_decode(text)
    except (ValueError, RecursionError):
        return None
    return value


def read_ses_notification(text: str) -> Bounce | None:
    """A Bounce from an SES notification, or None when ``text`` is not one."""
    stripped = text.strip()
    if not stripped.startswith("{") or len(stripped) > 1_000_000:
        return None
    data = _load(stripped)
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        data = _load(data["Message"])  # the SNS envelope carries the notification as a string
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    if kind == "Complaint":
        return Bounce(kind=Kind.FEEDBACK)
    if kind == "Delivery":
        return Bounce(kind=Kind.DELIVERED)
    bounce = data.get("bounce")
    if kind != "Bounce" or not isinstance(bounce, dict):
        return None
    mail_field = data.get("mail")
    mail: dict[str, Any] = mail_field if isinstance(mail_field, dict) else {}
    recipients = []
    for item in bounce.get("bouncedRecipients") or []:
        if not isinstance(item, dict):
            continue
        diagnostic = clean_diagnostic(str(item.get("diagnosticCode") or "").partition(";")[2] or "")
        reply, text_status = split_reply(diagnostic)
        status = str(item.get("status") or "") or text_status
        recipients.append(
            FailedRecipient(
                address=normalise_address(str(item.get("emailAddress") or "")),
                status=status or None,
                reply_code=reply,
                diagnostic=diagnostic,
                remote_mta=Mta(None, str(bounce.get("remoteMtaIp") or "") or None),
                action=str(item.get("action") or "") or None,
                diagnostic_type="smtp",
            )
        )
    transient = str(bounce.get("bounceType")) == "Transient"
    first_diag = recipients[0].diagnostic if recipients else ""
    source = normalise_address(str(mail.get("source") or ""))
    remote = recipients[0].remote_mta.host if recipients else None
    system = detect_system(remote, first_diag)
    return Bounce(
        kind=Kind.DELAY if transient else Kind.BOUNCE,
        recipients=tuple(recipients[:100]),
        sender=source,
        reporting_mta=str(bounce.get("reportingMTA") or "").partition(";")[2].strip() or None,
        sending_ip=find_sending_ip(first_diag),
        system=system.key if system else None,
        system_evidence=system.evidence if system else None,
        subject="Amazon SES bounce notification",
        original=OriginalMessage(
            sender=source,
            from_address=source,
            message_id=str(mail.get("messageId") or "") or None,
            connecting_ip=str(mail.get("sourceIp") or "") or None,
        ),
    )
