"""The vocabularies and value types of the NDR variant catalogue.

Everything here is a frozen dataclass or a tuple of names. The loader builds these values once,
validated; the classifier and card builder only read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CHECKS",
    "EVIDENCE",
    "FAMILIES",
    "MICROSOFT_FAMILIES",
    "REASONS",
    "SENDER_KINDS",
    "SEVERITIES",
    "SYSTEMS",
    "WHO",
    "CatalogueError",
    "Checklist",
    "ChecklistItem",
    "CodeRange",
    "Command",
    "Facts",
    "Link",
    "Remediation",
    "SendingService",
    "Variant",
]

# Coarse diagnosis families: a public contract (scripts and alert rules key on these names), so
# they never change spelling. Issue #2, section 3, defines each one.
FAMILIES: tuple[str, ...] = (
    "exo_unable_to_relay",
    "exo_client_host_blocked",
    "exo_banned_sending_ip",
    "exo_client_not_authenticated",
    "exo_sender_not_authorized",
    "exo_restricted_sender",
    "exo_tenant_attribution_relay_denied",
    "exo_throttled_new_sender",
    "dmarc_reject",
    "spf_fail",
    "gmail_unauthenticated",
    "ptr_missing",
    "yahoo_deferred_reputation",
    "recipient_not_found",
    "recipient_access_denied_dbeb",
    "mailbox_full",
    "message_delayed",
    "mail_loop",
    "other_policy",
    "other",
)

# Families for refusals by Microsoft's own systems (Exchange Online / EOP, Outlook.com,
# on-premises Exchange). The same kind of refusal from any other system (Postfix, Gmail, a
# gateway) gets a generic variant and family instead, whose advice fits that system.
MICROSOFT_FAMILIES: frozenset[str] = frozenset(
    [f for f in FAMILIES if f.startswith("exo_")] + ["recipient_access_denied_dbeb"]
)

# The mail system that rejected the message; "generic" fits any MTA.
SYSTEMS: tuple[str, ...] = ("exchange_online", "outlook_com", "gmail", "yahoo", "generic")

# Who has to act to fix it.
WHO: tuple[str, ...] = (
    "sender_user",
    "sender_admin",
    "recipient_admin",
    "recipient_user",
    "group_owner",
)

# Automated checks the bot can run to enrich a card from outside the tenant. (A connector's
# settings can only be read inside it: the variants give Get-InboundConnector as a command.)
CHECKS: tuple[str, ...] = ("spf", "dkim", "dmarc", "dnsbl", "rdns", "mx")

# Sisimai's reason vocabulary, for interoperability with tools that speak it.
REASONS: tuple[str, ...] = (
    "userunknown",
    "mailboxfull",
    "blocked",
    "rejected",
    "policyviolation",
    "authfailure",
    "securityerror",
    "spamdetected",
    "requireptr",
    "suspend",
    "hostunknown",
    "expired",
    "networkerror",
    "filtered",
    "norelaying",
    "toomanyconn",
    "speeding",
    "exceedlimit",
    "mesgtoobig",
    "notaccept",
    "systemerror",
    "systemfull",
    "mailererror",
    "contenterror",
    "virusdetected",
    "syntaxerror",
    "badreputation",
    "notcompliantrfc",
    "hasmoved",
    "onhold",
    "failedstarttls",
    "delivered",
    "vacation",
    "feedback",
    "undefined",
    "ratelimited",
    "emailtoolarge",
)

# permanent: 5xx, don't retry unchanged; transient: 4xx, the sending MTA retries; mixed: the
# provider uses both forms for the same check.
SEVERITIES: tuple[str, ...] = ("permanent", "transient", "mixed")

# documented: a vendor page says so; observed: seen in real bounces only; inferred: our reasoning.
EVIDENCE: tuple[str, ...] = ("documented", "observed", "inferred")


class CatalogueError(Exception):
    """The catalogue data or a template is invalid; the message names the file, entry and fault.

    Raised only while loading (or by :meth:`Catalogue.render` for a variant that did not come from
    that catalogue), so a typo stops the bot at start-up instead of surfacing in a channel.
    """

    def __init__(self, file: str, key: str | None, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


# RFC 3463 enhanced status code: class.subject.detail, class is 2, 4 or 5, the others 1-3 digits.
_CODE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")


def parse_code(code: str) -> tuple[int, int, int] | None:
    """``"5.7.1"`` -> ``(5, 7, 1)``; None for anything that is not an RFC 3463 code."""
    m = _CODE.fullmatch(code.strip()) if isinstance(code, str) else None
    if not m:
        return None
    return int(m[1]), int(m[2]), int(m[3])


@dataclass(frozen=True, slots=True)
class CodeRange:
    """An inclusive range of enhanced status codes of one class (``5.7.606-5.7.649``)."""

    lo: tuple[int, int, int]
    hi: tuple[int, int, int]

    def contains(self, code: str) -> bool:
        """True when ``code`` ("5.7.612") lies in the range; False for malformed codes."""
        parsed = parse_code(code)
        return parsed is not None and self.lo <= parsed <= self.hi

    @property
    def is_single(self) -> bool:
        """True for a one-code range, which the classifier scores above a wider range."""
        return self.lo == self.hi

    def __str__(self) -> str:
        lo = ".".join(map(str, self.lo))
        return lo if self.is_single else f"{lo}-{'.'.join(map(str, self.hi))}"


@dataclass(frozen=True, slots=True)
class Link:
    """A portal page: what to call it and where it is."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Command:
    """A command to copy and run. ``code`` is finished PowerShell (or shell) text."""

    label: str
    code: str
    shell: str = "powershell"  # "powershell" or "sh": tells a renderer how to label the block


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One step of a checklist, with its commands already filled in."""

    id: str
    text: str
    required_before_unblock: bool
    is_unblock: bool
    commands: tuple[Command, ...] = ()


@dataclass(frozen=True, slots=True)
class Checklist:
    """An ordered checklist (the compromised-account response)."""

    key: str
    title: str
    items: tuple[ChecklistItem, ...]


@dataclass(frozen=True, slots=True)
class Variant:
    """One known NDR variant: how to recognise it, what it means and what to do.

    ``steps`` holds Jinja2 sources (rendered by :meth:`Catalogue.render`); ``commands`` and
    ``portals`` name entries of the shared tool library (``data/tools.yaml``).
    """

    key: str
    family: str
    system: str
    codes: tuple[CodeRange, ...]
    tags: tuple[str, ...]
    match_text: tuple[str, ...]
    match_regex: tuple[re.Pattern[str], ...]
    smtp_reply: tuple[str, ...]
    severity: str
    who: str
    reason: str
    title: str
    summary: str
    meaning: str
    checks: tuple[str, ...]
    checklist: str | None
    evidence: str
    sources: tuple[str, ...]
    steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    portals: tuple[str, ...] = ()
    notes: str = ""  # for maintainers: traps, judgment calls; never shown to users

    @property
    def has_text_rules(self) -> bool:
        """True when the variant needs a text, regex or tag hit, not just a code."""
        return bool(self.match_text or self.match_regex or self.tags)

    def covers_code(self, code: str) -> bool:
        """True when the variant has no code condition or ``code`` is in one of its ranges."""
        return not self.codes or any(r.contains(code) for r in self.codes)


@dataclass(frozen=True, slots=True)
class Facts:
    """Values taken from a bounce to fill in remediation text. All untrusted, all optional.

    Dates (``start_date``, ``end_date``) are ISO 8601: ``2025-03-02`` or ``2025-03-02T09:12:40Z``.
    They go into ``Get-MessageTraceV2`` as quoted strings; when absent the command covers the
    last ten days, the longest window one query may span.
    """

    sender: str | None = None
    recipient: str | None = None
    sender_domain: str | None = None
    recipient_domain: str | None = None
    sending_ip: str | None = None
    remote_host: str | None = None
    status: str | None = None
    reply_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None


@dataclass(frozen=True, slots=True)
class Remediation:
    """What to do about one bounce: steps, commands and portals with the facts filled in."""

    steps: tuple[str, ...]
    commands: tuple[Command, ...]
    portals: tuple[Link, ...]
    checklist: Checklist | None


# The names a delisting template may use (see data/delisting.yaml).
DELIST_NAMES = (
    "ip",
    "sender",
    "sender_domain",
    "recipient_domain",
    "status",
    "error_line",
    "bounced_at",
    "audit",
)


@dataclass(frozen=True, slots=True)
class DelistRoute:
    """Where and how a blocked sender asks for delisting, with a draft to fill in."""

    key: str
    title: str
    codes: tuple[CodeRange, ...]
    words: tuple[str, ...]  # lower case; any one in the diagnostic selects the route
    portal: Link | None
    mail_to: str | None
    fields: tuple[str, ...]  # DELIST_NAMES shown one by one, to copy into a form
    steps: tuple[str, ...]
    expect: str
    subject: str | None  # templates: plain text with {names} from DELIST_NAMES
    body: str
    escalation: str | None
    zone: str | None = None  # the DNS blocklist it delists from (followed up until clear)


SENDER_KINDS = ("platform", "esp", "app", "forwarder")


@dataclass(frozen=True, slots=True)
class SendingService:
    """A service that sends mail on an organisation's behalf, and how to make its mail align."""

    key: str
    name: str
    ptr_suffixes: tuple[str, ...]  # reverse DNS suffixes of its outbound hosts (".example.net")
    spf_includes: tuple[str, ...]  # SPF include: domains it publishes
    dkim_domains: tuple[str, ...]  # d= it signs with before custom DKIM is set up (suffix match)
    envelope_domains: tuple[str, ...]  # its default Return-Path domains (suffix match)
    kind: str  # one of SENDER_KINDS
    fix: str  # one line: what makes its mail align with the customer's domain
    source: str  # a key of the catalogue's sources
