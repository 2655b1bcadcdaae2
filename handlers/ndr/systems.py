"""Which mail system refused the message, and how we know.

A refusal's advice depends on who refused: "relay access denied" from Postfix means the client must
sign in or be in ``mynetworks``; "Unable to relay" from Exchange means a connector or accepted
domain is wrong. The rejecting system is read, most reliable first, from

1. the rejecting server's host name (``mx.google.com``, ``*.mail.protection.outlook.com``);
2. the reply text itself: host names in brackets (``[AM6PR01MB1234.eurprd01.prod.outlook.com]``),
   signatures (``gsmtp``, ``AS(7230)``, ``[TSS04]``, ``(S3150)``) and fixed wordings only one system
   uses (Exchange's "Client not authenticated to send mail", Postfix's "Recipient address
   rejected");
3. the server's greeting in a pasted session (``220 host ESMTP Sophos Email Appliance``).

An Exchange-written report ("Remote Server returned '...'") says nothing about who refused: the
remote server may be Gmail. So the report's own layout is never evidence here.

:data:`MICROSOFT` lists the systems whose refusals the ``exo_*`` families are for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.ndr.automaton import PatternSet
from handlers.ndr.lazyre import lazy

__all__ = ["MICROSOFT", "SYSTEM_NAMES", "System", "detect_system"]

# Exchange Online / EOP, Outlook.com, on-premises Exchange, and "Exchange, online or not".
MICROSOFT = frozenset(("exchange_online", "outlook_com", "exchange_server", "exchange"))


@dataclass(frozen=True)
class System:
    """A mail system, with the evidence that names it (written for the card)."""

    key: str  # exchange_online, outlook_com, exchange_server, exchange, gmail, yahoo, postfix, ...
    name: str  # "Microsoft 365 (Exchange Online)"
    evidence: str  # "its server name ends in .mail.protection.outlook.com"


SYSTEM_NAMES = {
    "exchange_online": "Microsoft 365 (Exchange Online)",
    "outlook_com": "Outlook.com (Microsoft's consumer mail)",
    "exchange_server": "an on-premises Exchange Server",
    "exchange": "Microsoft Exchange (online or on-premises)",
    "gmail": "Gmail / Google Workspace",
    "yahoo": "Yahoo / AOL",
    "postfix": "a Postfix server",
    "sendmail": "a Sendmail server",
    "iis_smtp": "Microsoft IIS SMTP (or Exchange 2003)",
    "barracuda": "a Barracuda gateway",
    "proofpoint": "Proofpoint",
    "mimecast": "Mimecast",
    "cisco": "Cisco Secure Email (IronPort)",
    "sophos": "a Sophos gateway",
    "trend_micro": "Trend Micro Email Security",
    "haraka": "a Haraka server",
    "t_online": "T-Online (Deutsche Telekom)",
    "orange": "Orange / Wanadoo",
    "gmx": "GMX / WEB.DE",
    "icloud": "iCloud Mail",
    "zoho": "Zoho Mail",
    "mailgun": "Mailgun",
    "sendgrid": "SendGrid",
    "amazon_ses": "Amazon SES",
    "mailchannels": "MailChannels",
    "cloudflare": "Cloudflare Email Routing",
    "rackspace": "Rackspace Email",
    "godaddy": "GoDaddy (Secureserver) mail",
    "amavis": "an amavis content filter",
}

# Rejecting host names: (system, pattern on the lower-cased host, what it is called).
_HOSTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, lazy(pattern))
    for key, pattern in (
        (
            "outlook_com",
            r"(?:^|\.)olc\.protection\.outlook\.com$|(?:^|\.)(?:hotmail|live|msn)\.com$",
        ),
        ("outlook_com", r"^smtp-mail\.outlook\.com$|^outlook\.com$"),
        (
            "exchange_online",
            r"\.protection\.outlook\.com$|\.prod\.outlook\.com$|(?:^|\.)office365\.com$"
            r"|\.prod\.exchangelabs\.com$|^outlook\.office\.com$",
        ),
        ("gmail", r"(?:^|\.)(?:google|googlemail|gmail)\.com$"),
        ("yahoo", r"(?:^|\.)(?:yahoodns\.net|yahoo\.com|yahoo\.net|aol\.com|yahoo\.co\.\w+)$"),
        ("barracuda", r"barracuda|cudamail|cuda-inc"),
        ("proofpoint", r"pphosted\.com$|ppe-hosted\.com$|proofpoint"),
        ("mimecast", r"mimecast"),
        ("cisco", r"iphmx\.com$|ironport"),
        ("trend_micro", r"trendmicro|tmes\."),
        ("t_online", r"(?:^|\.)t-online\.de$"),
        ("orange", r"(?:^|\.)(?:orange|wanadoo)\.fr$"),
        ("gmx", r"(?:^|\.)(?:gmx\.(?:net|com|de)|web\.de)$"),
        ("icloud", r"(?:^|\.)(?:icloud|me|mac)\.com$"),
        ("zoho", r"(?:^|\.)zoho(?:mail)?\.(?:com|eu|in)$"),
        ("mailgun", r"(?:^|\.)mailgun\.(?:org|net)$"),
        ("sendgrid", r"(?:^|\.)sendgrid\.net$"),
        ("amazon_ses", r"amazonses\.com$|(?:^|\.)amazonaws\.com$"),
        ("mailchannels", r"mailchannels\.net$"),
        ("cloudflare", r"(?:^|\.)mx\.cloudflare\.net$"),
        ("rackspace", r"emailsrvr\.com$"),
        ("godaddy", r"secureserver\.net$"),
    )
)

# All of them looked for in one pass (RE2's set); the first that matches, in the order above, wins.
_HOST_PATTERNS = tuple(p for _, p in _HOSTS)
_HOST_SET = PatternSet(tuple((p.pattern, p.flags) for p in _HOST_PATTERNS))

_BRACKET_HOST = lazy(
    r"[\[(]\s*([A-Za-z0-9][\w-]{0,62}(?:\.[\w-]{1,63}){1,8})\.?(?:\s[^\])]{0,60})?[\])]"
)

# Wordings and signatures in the reply text: (system, pattern, how we know).
_TEXT: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (key, lazy(pattern, flags), why)
    for key, pattern, flags, why in (
        (
            "gmail",
            r"\bgsmtp\b",
            0,
            "its reply ends with 'gsmtp', the signature of Google's mail servers",
        ),
        ("gmail", r"support\.google\.com/mail", re.I, "its reply links to Google's mail help"),
        (
            "outlook_com",
            r"\((?:S3150|S3140|S3114|S775|S2017062302)\)|\b(?:RP|SC|DY|OU)-00\d\b|\((?:SNT|BAY|COL|BLU|DUB)\d{3}-MC\d",
            0,
            "its reply carries an Outlook.com block code",
        ),
        (
            "outlook_com",
            r"postmaster\.live\.com|mail\.live\.com",
            re.I,
            "its reply links to Outlook.com's postmaster pages",
        ),
        (
            "outlook_com",
            r"\bFBLW15\b|delist@messaging\.microsoft\.com",
            0,
            "its reply names Microsoft's FBLW15 block list",
        ),
        ("yahoo", r"\[(?:TSS|TS|IPTS|PH|BL|GL)\d\d\]", 0, "its reply carries a Yahoo error tag"),
        (
            "yahoo",
            r"postmaster\.yahoo(?:inc)?\.com|help\.yahoo\.com",
            re.I,
            "its reply links to Yahoo's postmaster pages",
        ),
        (
            "exchange_online",
            r"\bAS\([\dx#*]{3,12}\)|\(AS\d{6,12}\)|aka\.ms/|sender\.office\.com|go\.microsoft\.com/fwlink",
            0,
            "its reply carries Microsoft 365's codes and links",
        ),
        (
            "exchange_online",
            r"\bRESOLVER\.[A-Z]{2,4}\.|\bSTOREDRV\.|\bSMTPSEND\.|SendAsDenied|TenantAttribution|UnifiedGroupAgent",
            0,
            "its reply names an Exchange component (RESOLVER, STOREDRV, ...)",
        ),
        (
            "exchange_online",
            r"banned sending IP|traffic not accepted from this IP|bad outbound sender"
            r"|not recognized as a valid sender|Client not authenticated to send mail"
            r"|Client was not authenticated to send anonymous mail"
            r"|Client does not have permissions to send as this sender"
            r"|SmtpClientAuthentication is disabled|basic authentication is disabled"
            r"|Your organization does not allow external forwarding"
            r"|Basic authentication is not supported for Client Submission"
            r"|security defaults policy|did not meet the criteria to be authenticated",
            re.I,
            "its reply uses Microsoft 365's own wording",
        ),
        (
            "exchange_server",
            r"#<\s*#\d\.\d{1,3}\.\d{1,3}\s+smtp;|>\s*#SMTP#|cannot achieve exchange server authentication",
            re.I,
            "the reply has on-premises Exchange's '#< #5.x.x smtp;... #SMTP#' form",
        ),
        (
            "iis_smtp",
            r"\bUnable to relay for\b",
            re.I,
            "'Unable to relay for <address>' is IIS SMTP's wording",
        ),
        (
            "exchange",
            r"\b5\.7\.1 Unable to relay\b|\b5\.7\.3 Authentication unsuccessful\b|\bUnable to relay\s*$"
            r"|\bUnable to relay(?=['\">.;]|\s*\()|\bClient was not authenticated\b",
            re.I,
            "'Unable to relay', 'Client was not authenticated' and '5.7.3 Authentication unsuccessful'"
            " are Exchange's wording",
        ),
        (
            "postfix",
            r"(?:Recipient|Sender) address rejected|Client host rejected|\bRelay access denied\b|in (?:local recipient|virtual alias|relay recipient) table"
            r"|Helo command rejected",
            re.I,
            "the reply uses Postfix's wording",
        ),
        (
            "sendmail",
            r"<[^<>\s]{1,320}>\.\.\. (?:Relaying denied|User unknown)|\bSendmail\b",
            0,
            "the reply uses Sendmail's '<address>... reason' form",
        ),
        ("orange", r"\bOFR\d{3}|\bmwinf\w+", 0, "its reply carries an Orange error code"),
        ("t_online", r"t-online\.de", re.I, "its reply names T-Online"),
        (
            "mailchannels",
            r"domain-lockdown|mailchannels",
            re.I,
            "its reply points to MailChannels' Domain Lockdown",
        ),
        ("barracuda", r"barracuda", re.I, "its reply names Barracuda"),
        ("mimecast", r"mimecast", re.I, "its reply names Mimecast"),
        ("proofpoint", r"proofpoint|pphosted", re.I, "its reply names Proofpoint"),
        ("cisco", r"ironport|iphmx", re.I, "its reply names Cisco IronPort"),
        ("sophos", r"\bsophos\b", re.I, "its reply names Sophos"),
        ("trend_micro", r"trend ?micro", re.I, "its reply names Trend Micro"),
    )
)


# The reply-text signatures, all looked for in one pass.
_TEXT_PATTERNS = tuple(p for _, p, _ in _TEXT)
_TEXT_SET = PatternSet(tuple((p.pattern, p.flags) for p in _TEXT_PATTERNS))


# Product names in a server's greeting ("220 mx.example.org ESMTP Sophos Email Appliance").
_GREETING = lazy(r"^\W{0,20}220[ -]\S+\s+(.{0,120})$", re.MULTILINE)
_PRODUCTS = (
    (
        "exchange_online",
        lazy(r"Microsoft ESMTP MAIL Service"),
        "the server greets as Microsoft's",
    ),
    ("sophos", lazy(r"Sophos", re.I), "the server greets as a Sophos appliance"),
    ("haraka", lazy(r"Haraka", re.I), "the server greets as Haraka"),
    ("barracuda", lazy(r"Barracuda", re.I), "the server greets as Barracuda"),
    ("postfix", lazy(r"ESMTP Postfix", re.I), "the server greets as Postfix"),
    ("sendmail", lazy(r"ESMTP Sendmail", re.I), "the server greets as Sendmail"),
)


def _first(one_pass: PatternSet, patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    """The index of the first of ``patterns`` (those of ``one_pass``, in order) that matches in
    ``text``: from the set's one pass where it can answer, else asking each in turn."""
    signed = one_pass.matching(text)
    if signed is not None:
        return min(signed, default=None)
    return next((number for number, p in enumerate(patterns) if p.search(text)), None)


def _from_host(host: str) -> System | None:
    lowered = host.lower().rstrip(".")
    number = _first(_HOST_SET, _HOST_PATTERNS, lowered)
    if number is None:
        return None
    key = _HOSTS[number][0]
    return System(key, SYSTEM_NAMES[key], f"its server name is {lowered}")


def detect_system(
    remote_host: str | None, diagnostic: str | None, report: str = ""
) -> System | None:
    """The system that refused, from the rejecting host, the reply text, and a pasted session's
    greeting, in that order of trust; None when nothing says."""
    if remote_host:
        found = _from_host(remote_host)
        if found:
            return found
    text = (diagnostic or "")[:4000]
    for match in _BRACKET_HOST.finditer(text):
        found = _from_host(match.group(1))
        if found and found.key in ("exchange_online", "outlook_com", "gmail", "yahoo"):
            return System(
                found.key, found.name, f"its reply names its server, {match.group(1).lower()}"
            )
    number = _first(_TEXT_SET, _TEXT_PATTERNS, text)
    if number is not None:
        key, _, why = _TEXT[number]
        return System(key, SYSTEM_NAMES[key], why)
    for greeting in _GREETING.finditer(report[:20_000]):
        for key, pattern, why in _PRODUCTS:
            if pattern.search(greeting.group(1)):
                return System(key, SYSTEM_NAMES[key], why)
    return None
