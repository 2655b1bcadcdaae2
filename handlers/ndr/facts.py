"""Small readings of report text: the reporting server, the sender, and the sending IP the
rejecting side named.
"""

from __future__ import annotations

import re

from handlers.ndr.codes import find_ips, normalise_address
from handlers.ndr.lazyre import lazy

__all__ = [
    "clean_diagnostic",
    "find_reporting_mta",
    "find_sender_in_text",
    "find_sending_ip",
    "find_verdict_domain",
    "masked_ip",
    "read_sending_ip",
]

# Where a receiver names the connecting (sending) IP, the slot takes whatever stands there: a real
# address, or what the person pasting put in its place ("xx.xx.xx.xx", "[HOME_IP_ADDRESS]").
_SLOT = r"([0-9A-Za-z:.*#?_]{1,45})"
# Phrases with which receivers name the sending IP, most explicit first, each with a word it needs
# (lower case): most texts skip most patterns on that substring test.
_SENDING_IP_RULES = (
    ("banned", r"banned sending IP \[" + _SLOT),
    ("client host", r"Client host \[" + _SLOT),
    ("client [", r"\bclient \[" + _SLOT + r"\]:?\d*\s+(?:is\s+)?blocked"),
    ("messages from", r"messages from \(?\[?" + _SLOT),
    ("with ip", r"with ip: \[" + _SLOT + r"\]"),
    (
        "the ip you",
        r"\[" + _SLOT + r"\]\s*(?:\d{3}[- ]\d\.\d{1,3}\.\d{1,3}\s*)?The IP you're using",
    ),
    ("the ip", r"The IP (?:address )?you're using[^\[]{0,80}\[" + _SLOT + r"\]"),
    # Gmail: "550-5.7.1 [192.0.2.1      12] Our system has detected ..."
    ("[", r"\[" + _SLOT + r"\s+\d{1,3}\]\s*(?:Our system|The IP)"),
    ("reverse hostname", r"reverse hostname,? \[" + _SLOT + r"\]"),
    ("ptr record for", r"PTR record for " + _SLOT),
    ("sender ip is", r"sender IP is " + _SLOT),
    ("ip", r"client[- _]ip[=: ]\s*\[?" + _SLOT),
    ("ip", r"(?:your|sending|connecting|client|server) IP(?: address)?(?: is)?[: ]\s*\[?" + _SLOT),
    ("mail server [", r"mail server \[" + _SLOT + r"\]"),
    ("query/ip/", r"query/ip/" + _SLOT),
    ("ip=", r"[?&;]ip=" + _SLOT),
    ("ip=", r"\bIP=" + _SLOT + r"\s+-"),
    (
        "",
        r"(?:IP|address|host) \[?"
        + _SLOT
        + r"\]? (?:is |was |has been )?(?:listed|blocked|black-?listed|banned)",
    ),
    ("[", r"\[" + _SLOT + r"\] (?:is |was |has been )?(?:listed|blocked|black-?listed|banned)"),
    ("rbl", r"\[" + _SLOT + r"\](?::\d+)? is in an RBL"),
    ("from ip address", r"from IP address " + _SLOT),
    (
        "poor reputation",
        r"Your access to this mail system has been rejected due to the sending MTA's poor reputation\.?.{0,80}?"
        + _SLOT,
    ),
)
_DIGIT = lazy(r"\d")
_SENDING_IP = [lazy(pattern, re.IGNORECASE) for _, pattern in _SENDING_IP_RULES]
_SENDING_IP_WORDS = tuple(word for word, _ in _SENDING_IP_RULES)
_BLOCK_WORDS = lazy(
    r"block|listed|spam|reputation|banned|ptr|reverse|rdns|dnsbl|rbl|policy|spf|not allowed|denied|refused",
    re.IGNORECASE,
)
_MASKED_QUAD = lazy(r"(?:[0-9xX*#?]{1,3}\.){3}[0-9xX*#?]{1,3}|[a-z](?:\.[a-z]){3}")


def masked_ip(token: str) -> bool:
    """True for what someone typed in place of an IP address ("xx.xx.xx.xx", "176.56.x.x",
    "IP.IP.IP.IP", "[HOME_IP_ADDRESS]", "***", an impossible "287.190.241.178")."""
    token = token.strip(".:")
    if not token or find_ips(token) == [token]:
        return False
    if _MASKED_QUAD.fullmatch(token) or re.fullmatch(r"[*#?xX]{1,20}", token):
        return True
    # "HOME_IP_ADDRESS", "companyIPAddress", "IP.IP.IP.IP" (not a word such as "IPs").
    return (
        bool(
            re.fullmatch(
                r"[A-Z_]{0,30}IP_?(?:ADDR(?:ESS)?)?[A-Z_]{0,30}|[a-z]{2,30}IPAddress|IP(?:\.IP){3}",
                token,
            )
        )
        and len(token) > 2
    )


def read_sending_ip(diagnostic: str, remote_ip: str | None = None) -> tuple[str | None, str | None]:
    """``(ip, hidden)``: the sender's IP as the rejecting server named it in ``diagnostic``, and,
    where the paste masked it instead, what stands in its place."""
    text = diagnostic[:4000]
    hidden = None
    lowered = text.lower()
    if "[" not in text and "ip" not in lowered and not _DIGIT.search(text):
        return None, None  # neither an address nor anything masking one
    for pattern, needs in zip(_SENDING_IP, _SENDING_IP_WORDS, strict=True):
        if needs and needs not in lowered:
            continue
        match = pattern.search(text)
        if match is None:
            continue
        token = match.group(1)
        ips = find_ips(token)
        if ips and ips[0] == token.strip(".:") and ips[0] != remote_ip:
            return ips[0], None
        if hidden is None and masked_ip(token):
            hidden = token
    if _BLOCK_WORDS.search(text):
        for ip in find_ips(" ".join(re.findall(r"\[([0-9A-Fa-f:.]{3,45})\]", text))):
            if ip != remote_ip:
                return ip, None
    return None, hidden


def find_sending_ip(diagnostic: str, remote_ip: str | None = None) -> str | None:
    """The sender's IP as the rejecting server named it in ``diagnostic``, or None."""
    return read_sending_ip(diagnostic, remote_ip)[0]


# Receivers' verdicts that name the sender's domain (Gmail, Outlook.com, Microsoft 365, Rackspace,
# Yahoo): the domain SPF or DMARC was checked for, for a paste that shows no sender address.
_DOMAIN = r"\[?\(?([A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+)\)?\]?"
_VERDICT_DOMAIN = [
    lazy(p, re.IGNORECASE)
    for p in (
        r"\bSPF " + _DOMAIN + r" with ip",
        r"\bSPF check for " + _DOMAIN,
        r"The MAIL FROM domain " + _DOMAIN,
        r"Unauthenticated email from " + _DOMAIN + r" is not accepted",
        r"DMARC policy for " + _DOMAIN,
        r"on behalf of " + _DOMAIN + r" could not be delivered",
        r"sending domain " + _DOMAIN + r" does not meet",
        r"your SPF\s+(?:[245]\d\d-[245]\.\d{1,3}\.\d{1,3}\s+)?domain " + _DOMAIN,
        r"DKIM domain " + _DOMAIN,
    )
]


def find_verdict_domain(diagnostic: str) -> str | None:
    """The sender's domain as a receiver's SPF/DMARC verdict names it ("SPF [contoso.com] with
    ip: [192.0.2.1] = did not pass", "Unauthenticated email from contoso.com is not accepted")."""
    text = diagnostic[:4000]
    lowered = text.lower()
    if not any(w in lowered for w in ("spf", "dmarc", "dkim", "domain", "behalf")):
        return None
    for pattern in _VERDICT_DOMAIN:
        match = pattern.search(text)
        if match and not find_ips(match.group(1)) and "_redacted_" not in match.group(1).lower():
            return match.group(1).lower().rstrip(".")
    return None


_REPORTING = lazy(
    r"Generating server:\s*([A-Za-z0-9][\w.-]{0,253})"
    r"|This is the mail system at host ([A-Za-z0-9][\w.-]{0,253}?)\.?\s*$"
    r"|This is the qmail-send program at ([A-Za-z0-9][\w.-]{0,253}?)\.?\s*$"
    r"|^Sent by:\s*([A-Za-z0-9][\w.-]{0,253})\s*$"
    r"|^Reporting[ -]MTA:\s*(?:dns;\s*)?([A-Za-z0-9][\w.-]{0,253})",
    re.IGNORECASE | re.MULTILINE,
)


def find_reporting_mta(text: str) -> str | None:
    """The server that wrote the report, as its text names it."""
    match = _REPORTING.search(text[:100_000])
    if not match:
        return None
    host = next(group for group in match.groups() if group)
    return host.rstrip(".").lower()


_SENDER_TEXT = lazy(
    r"^[ \t]*(?:Sender Address|Sender|From|Envelope[- ]From|Return-Path|X-Postfix-Sender)[ \t]*:[ \t]*(.{3,400})$",
    re.IGNORECASE | re.MULTILINE,
)


def find_sender_in_text(text: str) -> str | None:
    """A sender address stated in report text ("Sender Address: ...", "From: ...")."""
    for match in _SENDER_TEXT.finditer(text[:100_000]):
        address = normalise_address(match.group(1))
        if address and not address.lower().startswith(("mailer-daemon@", "postmaster@")):
            return address
    return None


_GMAIL_CONTINUATION = lazy(r"\s[245]\d\d-[245]\.\d{1,3}\.\d{1,3}\s")


# An application's stack trace glued after the server's reply: two frames in a row of Node
# ("at SMTPConnection._formatError (C:\\...\\index.js:784:19)"), Java ("at com.sun.mail.smtp.
# SMTPTransport.rcptTo(SMTPTransport.java:1873)") or .NET ("at System.Net.Mail.SmtpClient.Send(
# MailMessage message)"), or a Python traceback. The reply ends where the first frame starts.
_FRAME = r"at (?:[\w$<>\[\]`]{1,100}\.){0,12}[\w$<>\[\]`]{1,100} ?\([^()\n]{0,300}\)(?: in \S.{0,200}?:line \d+)?"
_STACK = lazy(
    rf"\s+{_FRAME}\s+{_FRAME}"
    r"|\s+Traceback \(most recent call last\)"
    r'|\s+File "[^"\n]{1,300}", line \d+, in '
)


_PY_REPLY = lazy(r"['\"]?[:\s]*\(\s*([2-5]\d\d)\s*,\s*b?(['\"])([^'\"]{0,2000})\2\s*\)\s*\}?\s*$")


_CONTINUED_REPLY = re.compile(r"([245]\d\d)-([245]\.\d{1,3}\.\d{1,3})\s")


def clean_diagnostic(text: str) -> str:
    """One line of the rejecting server's text: wrapping, multi-line reply prefixes, quotes and
    an application's stack trace gone."""
    text = " ".join(text.split())  # (re's \s is str.isspace: the same runs, one space each)
    stack = _STACK.search(text)
    if stack and stack.start() > 0:
        text = text[: stack.start()]
    python = _PY_REPLY.match(text)
    if python:
        text = f"{python.group(1)} {python.group(3)}"  # smtplib's {'a@b': (550, b'...')}
    # Gmail repeats "550-5.7.26" on every line of a multi-line reply (RFC 5321 section 4.2.1).
    first = _CONTINUED_REPLY.match(text)
    if first:
        code, status = first.groups()
        text = f"{code} {status} " + text[first.end() :]
        text = re.sub(rf"\s{code}[- ]{re.escape(status)}(?=\s|$)", " ", text)
    text = _GMAIL_CONTINUATION.sub(" ", text)
    text = " ".join(text.split()).strip("'\"").strip()
    return text[:2000]
