"""Small readings of report text: the reporting server, the sender, and the sending IP the
rejecting side named.
"""

from __future__ import annotations

import re

from handlers.ndr.codes import find_ips, normalise_address

__all__ = [
    "clean_diagnostic",
    "find_reporting_mta",
    "find_sender_in_text",
    "find_sending_ip",
]

_IP = r"([0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})"
# Phrases with which receivers name the connecting (sending) IP, most explicit first.
_SENDING_IP = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"banned sending IP \[" + _IP + r"\]",
        r"Client host \[" + _IP + r"\]",
        r"messages from \[" + _IP + r"\]",
        r"Messages from " + _IP + r" (?:temporarily|permanently) deferred",
        r"with ip: \[" + _IP + r"\]",
        r"\[" + _IP + r"\]\s*(?:\d{3}[- ]\d\.\d{1,3}\.\d{1,3}\s*)?The IP you're using",
        r"The IP (?:address )?you're using[^\[]{0,80}\[" + _IP + r"\]",
        r"reverse hostname,? \[" + _IP + r"\]",
        r"sender IP is " + _IP,
        r"client[- _]ip[=: ]\s*\[?" + _IP,
        r"(?:your|sending|connecting|client) IP(?: address)?(?: is)?[: ]\s*\[?" + _IP,
        r"query/ip/" + _IP,
        r"[?&]ip=" + _IP,
        r"(?:IP|address|host) \[?"
        + _IP
        + r"\]? (?:is |was |has been )?(?:listed|blocked|black-?listed|banned)",
        r"\[" + _IP + r"\] (?:is |was |has been )?(?:listed|blocked|black-?listed|banned)",
        r"from IP address " + _IP,
        r"Your access to this mail system has been rejected due to the sending MTA's poor reputation\.?.{0,80}?"
        + _IP,
    )
]
_BLOCK_WORDS = re.compile(
    r"block|listed|spam|reputation|banned|ptr|reverse|rdns|dnsbl|rbl|policy|spf|not allowed|denied|refused",
    re.IGNORECASE,
)


def find_sending_ip(diagnostic: str, remote_ip: str | None = None) -> str | None:
    """The sender's IP as the rejecting server named it in ``diagnostic``, or None."""
    text = diagnostic[:4000]
    for pattern in _SENDING_IP:
        match = pattern.search(text)
        if match:
            ips = find_ips(match.group(1))
            if ips and ips[0] != remote_ip:
                return ips[0]
    if _BLOCK_WORDS.search(text):
        for ip in find_ips(" ".join(re.findall(r"\[([0-9A-Fa-f:.]{3,45})\]", text))):
            if ip != remote_ip:
                return ip
    return None


_REPORTING = re.compile(
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


_SENDER_TEXT = re.compile(
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


_GMAIL_CONTINUATION = re.compile(r"\s[245]\d\d-[245]\.\d{1,3}\.\d{1,3}\s")
_WS = re.compile(r"\s+")


def clean_diagnostic(text: str) -> str:
    """One line of the rejecting server's text: wrapping, multi-line reply prefixes and quotes gone."""
    text = _WS.sub(" ", text).strip()
    # Gmail repeats "550-5.7.26" on every line of a multi-line reply (RFC 5321 section 4.2.1).
    first = re.match(r"([245]\d\d)-([245]\.\d{1,3}\.\d{1,3})\s", text)
    if first:
        code, status = first.groups()
        text = f"{code} {status} " + text[first.end() :]
        text = re.sub(rf"\s{code}[- ]{re.escape(status)}(?=\s|$)", " ", text)
    text = _GMAIL_CONTINUATION.sub(" ", text)
    text = _WS.sub(" ", text).strip().strip("'\"").strip()
    return text[:2000]
