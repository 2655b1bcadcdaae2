"""DMARC failure reports (RFC 9991, the "ruf" reports; the ARF format of RFC 5965 with RFC 6591's
authentication-failure fields): read for context, redacted, never relied on.

What is kept of one: who reported it, the domain, the sending IP, which check failed, when the
message arrived. The copy of the message (its headers, often its body) is never kept: it is
someone's mail. Receivers send few of these, redact them differently, or not at all, so they
never count towards anything; the aggregate reports do.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import ipaddress
import re
from dataclasses import dataclass

__all__ = ["FailureReport", "read_failure_report"]

_DOMAIN = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9])?")
_FIELDS = ("feedback-type", "auth-failure", "reported-domain", "source-ip", "arrival-date")


@dataclass(frozen=True)
class FailureReport:
    """The redacted essentials of one failure report."""

    reporter: str  # the From domain of the report
    domain: str
    source_ip: str
    failure: str  # "dmarc", "spf", "dkim", "adsp", "bodyhash", ... or ""
    arrival: str  # as the report states it, cut to 64 characters


def _fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        key = name.strip().lower()
        if sep and key in _FIELDS and key not in out:
            out[key] = value.strip()[:200]
    return out


def read_failure_report(data: bytes) -> FailureReport | None:
    """The report in ``data`` when it is an authentication-failure report, else None."""
    if b"feedback-report" not in data[:65536].lower():
        return None
    message = email.message_from_bytes(data[: 4 * 1024 * 1024], policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):  # parsed as a message: its "headers" are the fields
            text = "\n".join(
                f"{k}: {v}"
                for sub in payload
                if isinstance(sub, email.message.Message)
                for k, v in sub.items()
            )
        else:
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        fields = _fields(text)
        if fields.get("feedback-type", "").lower() != "auth-failure":
            return None
        domain = fields.get("reported-domain", "").lower().rstrip(".")
        try:
            ip = str(ipaddress.ip_address(fields.get("source-ip", "")))
        except ValueError:
            ip = ""
        sender = str(message.get("From", "")).rpartition("@")[2].strip(" >").lower()
        return FailureReport(
            reporter=sender if _DOMAIN.fullmatch(sender) else "",
            domain=domain if _DOMAIN.fullmatch(domain) else "",
            source_ip=ip,
            failure=fields.get("auth-failure", "").lower()[:20],
            arrival=fields.get("arrival-date", "")[:64],
        )
    return None
