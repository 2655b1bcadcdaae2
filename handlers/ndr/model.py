"""Values that describe what a pasted bounce says.

Everything here is a frozen dataclass or an enum: the reader returns them, the classifier and the
card builder read them, nothing mutates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "AuthResult",
    "Bounce",
    "FailedRecipient",
    "Kind",
    "Mta",
    "OriginalMessage",
]


class Kind(StrEnum):
    """What a piece of text is. Only ``BOUNCE`` and ``DELAY`` are delivery failures (NDRs)."""

    BOUNCE = "bounce"  # permanent or final failure: the message was not delivered
    DELAY = "delay"  # transient: the sending side is still retrying
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation, RFC 3834 auto-responses
    FEEDBACK = "feedback_report"  # ARF abuse/feedback-loop report (RFC 5965)
    DMARC_REPORT = "dmarc_report"  # DMARC aggregate or failure report
    DELIVERED = "delivery_receipt"  # a DSN that says "delivered" / "relayed", a log's status=sent
    CHALLENGE = "challenge_response"  # "confirm you are human" / whitelist requests (Boxbe, ...)
    LIST_NOTICE = "list_notice"  # a mailing list holding a post for its moderator
    DELIST_NOTICE = "delist_notice"  # a blocklist operator saying an address was delisted
    HEADERS = "mail_headers"  # headers of a delivered message (Received, Authentication-Results)
    CHAT = "chat"  # ordinary text, nothing mail-related recognised
    UNKNOWN = "unknown"  # mail-like, but not a recognisable report

    @property
    def is_ndr(self) -> bool:
        """True for delivery failures and delay notices."""
        return self in (Kind.BOUNCE, Kind.DELAY)


@dataclass(frozen=True, slots=True)
class Mta:
    """A mail server named in a bounce: its host name and/or IP address."""

    host: str | None = None
    ip: str | None = None

    def __bool__(self) -> bool:
        return bool(self.host or self.ip)

    def to_json(self) -> dict[str, str | None]:
        """The ``{"host": ..., "ip": ...}`` shape of the JSON output."""
        return {"host": self.host, "ip": self.ip}


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    """One recipient the report says failed (or was delayed), with its own status."""

    address: str | None
    status: str | None = None  # enhanced status code, RFC 3463 ("5.7.1")
    reply_code: str | None = None  # basic SMTP reply code ("550")
    diagnostic: str = ""  # the rejecting server's text, unwrapped and on one line
    remote_mta: Mta = field(default_factory=Mta)
    action: str | None = None  # RFC 3464 Action: failed / delayed / delivered / relayed / expanded
    command: str | None = None  # SMTP stage that failed: "RCPT", "MAIL", "DATA", ...
    diagnostic_type: str | None = None  # RFC 3464 diagnostic type: "smtp", "x-unix", ...
    hidden_address: str | None = None  # what the paste showed where it masked the address

    @property
    def permanent(self) -> bool | None:
        """True for 5xx / 5.x.x, False for 4xx / 4.x.x, None when neither is known."""
        if self.action == "delayed":
            return False
        code = self.status or self.reply_code
        if not code:
            return None
        if code[0] == "5":
            return True
        if code[0] == "4":
            return False
        return None


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One method result from an Authentication-Results header (RFC 8601)."""

    method: str  # spf, dkim, dmarc, compauth, arc, ...
    result: str  # pass, fail, softfail, none, ...
    properties: tuple[tuple[str, str], ...] = ()  # ("smtp.mailfrom", "contoso.com"), ...
    reason: str = ""  # the comment or reason= text
    authserv_id: str = ""

    def get(self, name: str) -> str | None:
        """The value of property ``name`` (e.g. ``header.from``), or None."""
        for key, value in self.properties:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class OriginalMessage:
    """Facts about the message that bounced, from its returned headers."""

    sender: str | None = None  # envelope sender (Return-Path) or From address
    from_address: str | None = None
    to: tuple[str, ...] = ()
    subject: str | None = None
    message_id: str | None = None
    date: str | None = None
    auth_results: tuple[AuthResult, ...] = ()
    connecting_ip: str | None = None  # X-Forefront-Antispam-Report CIP:, Received-SPF client-ip=
    dkim_selectors: tuple[tuple[str, str], ...] = ()  # (domain, selector) from DKIM-Signature


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a paste says. ``read()`` returns one for any input it could read."""

    kind: Kind
    recipients: tuple[FailedRecipient, ...] = ()
    sender: str | None = None  # the original sender (whose mail bounced)
    sender_domain: str | None = None  # the sender's domain a receiver's SPF/DMARC verdict names
    reporting_mta: str | None = None  # the server that wrote the report
    sending_ip: str | None = None  # the sender's IP as the rejecting side named it
    hidden_ip: str | None = None  # what the paste showed where it masked that IP ("xx.xx.xx.xx")
    system: str | None = None  # rejecting system: exchange_online, outlook_com, gmail, postfix, ...
    system_evidence: str | None = None  # how the reader knows which system refused
    subject: str | None = None  # subject of the report itself
    original: OriginalMessage | None = None
    notes: tuple[str, ...] = ()  # things a person should know about the reading itself
    delay_notice: bool = False  # a "still trying" notice to the sender, not a bare 4xx reply

    @property
    def is_ndr(self) -> bool:
        """True for any delivery failure or delay notice."""
        return self.kind.is_ndr

    @property
    def first(self) -> FailedRecipient | None:
        """The first failed recipient, whose facts stand for the report at the top level."""
        return self.recipients[0] if self.recipients else None

    @property
    def permanent(self) -> bool | None:
        """Whether the (first) failure is permanent; None when the report does not say."""
        if self.kind is Kind.DELAY:
            return False
        first = self.first
        return first.permanent if first else None
