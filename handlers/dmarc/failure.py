"""DMARC failure reports (RFC 9991, the "ruf" reports; the ARF format of RFC 5965 with RFC 6591's
authentication-failure fields): read for context, redacted, never relied on.

What is kept of one: who reported it, the domain, the sending IP, which check failed, when the
message arrived. The copy of the message (its headers, often its body) is never kept: it is
someone's mail. Receivers send few of these, redact them differently, or not at all, so they
never count towards anything; the aggregate reports do.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import email.policy
import ipaddress
import re
from dataclasses import dataclass

__all__ = ["FailureReport", "is_feedback_report", "read_failure_report"]

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


def is_feedback_report(data: bytes) -> bool:
    """True for any ARF message (a failure report, an abuse complaint): mail that carries
    someone else's message, never to be kept whole."""
    head = data[:65536].lower()
    return b"report-type=feedback-report" in head or b'report-type="feedback-report"' in head


def read_failure_report(data: bytes) -> FailureReport | None:
    """The report in ``data`` when it is an authentication-failure report, else None (also when
    the standard library cannot read the message: it raises on some malformed RFC 2231
    parameters and charsets)."""
    if b"feedback-report" not in data[:65536].lower():
        return None
    try:
        return _read_failure_report(data)
    except Exception:
        return None


def _read_failure_report(data: bytes) -> FailureReport | None:
    message = email.message_from_bytes(data[: 4 * 1024 * 1024], policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        subs = (
            [m for m in payload if isinstance(m, email.message.Message)]
            if isinstance(payload, list)
            else []
        )
        body = "".join(str(m.get_payload()) for m in subs) if subs else str(payload)
        if str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64":
            try:  # the parser took the encoded fields for a message body: decode them
                text = base64.b64decode("".join(body.split())).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                text = ""
        elif subs:  # parsed as a message: its "headers" are the fields
            text = "\n".join(f"{k}: {v}" for m in subs for k, v in m.items())
        else:
            text = body
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
