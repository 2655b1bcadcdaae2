"""Status codes, reply codes, addresses, hosts and IPs inside diagnostic text.

RFC 3463 enhanced status codes (``5.7.1``) and RFC 5321 reply codes (``550``). Where a report
wraps the rejecting server's reply in its own (Exchange's ``#5.7.1 smtp;550 5.7.1 ...``), the code
nearest the rejecting server's text wins: it is the most specific and the one vendors document.
"""

from __future__ import annotations

import ipaddress
import re

from handlers.ndr.lazyre import lazy

__all__ = [
    "ADDRESS_BODY",
    "ADDRESS_RE",
    "MASKED_BODY",
    "find_ips",
    "find_status",
    "has_code",
    "is_expiry_status",
    "is_generic_status",
    "is_masked_address",
    "leading_reply_code",
    "masked_address",
    "normalise_address",
    "rejecting_text",
    "split_reply",
]

# An enhanced status code not glued to other digits or dots (so not "15.1.112.19" or an IPv4).
# RFC 3463 section 3.2: subjects run from 0 to 7.
# (In these patterns a character's lookbehind comes after it, "[245](?<![\d.][245])": the
# same as "(?<![\d.])[245]", but a pattern that starts with a class lets re skip to the next
# character in it instead of trying the lookbehind at every position; about three times faster.)
STATUS_RE = lazy(r"([245])(?<![\d.][245])\.([0-7]|0[0-7])\.(\d{1,3})(?!\.?\d)")
# A reply code directly followed by an enhanced code: the rejecting server speaking.
_PAIR_RE = lazy(r"[245](?<![\d.][245])[0-5]\d[ -]['\"]?([245]\.(?:[0-7]|0[0-7])\.\d{1,3})(?!\.?\d)")
# A reply code at the start of the text or after a wrapper, followed by space, dash or end.
_LEADING_REPLY = lazy(r"^[\s'\"(<#]{0,4}([245][0-5]\d)(?:[ \-:]|$)")
_SMTP_WRAPPER = lazy(r"smtp\s*;\s*", re.IGNORECASE)
# Local part kept permissive (real bounces carry odd ones); domain needs a dot or brackets.
ADDRESS_BODY = (
    r"(?:\"[^\"\r\n@<>]{1,64}\"|[\w.!#$%&'*+/=?^`{|}~-]{1,64})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}|[\w.+=-]{1,64}@\[[0-9A-Fa-f:.]{3,45}\]"
)
ADDRESS_RE = lazy(r"(?<![\w.+=-])(" + ADDRESS_BODY + r")(?![\w-])")
_IPV4 = lazy(r"(\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3})(?![\d.]?\d)")
_IPV6 = lazy(r"(?<![\w:])((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})(?![\w:])")


# ("(?:^|\s)[245]" spelt as above: the class first, the blank or start before it a lookbehind)
_REPLY_IN_TEXT = lazy(r"[245](?<!\S[245])\d\d[ -]")


def has_code(text: str) -> bool:
    """True when ``text`` carries an enhanced status code or an SMTP reply code."""
    return bool(STATUS_RE.search(text) or _REPLY_IN_TEXT.search(text))


def find_status(text: str) -> str | None:
    """The rejecting server's enhanced status code in ``text``, or None.

    After an ``smtp;`` wrapper only the wrapped reply counts; otherwise the first code that is
    not a bare ``x.0.0`` wins over later ones, since later codes are usually quoted boilerplate.
    """
    return _status_in(text, _unwrapped(text))


def _unwrapped(text: str) -> list[str]:
    """``text`` split at its ``smtp;`` wrappers (a text without ";" has none: not searched)."""
    return _SMTP_WRAPPER.split(text) if ";" in text else [text]


def _status_in(text: str, wrapped: list[str]) -> str | None:
    if len(wrapped) > 1:
        for part in reversed(wrapped[1:]):
            code = _first_status(part)
            if code:
                return code
    return _first_status(text)


def _first_status(text: str) -> str | None:
    paired = [m.group(1) for m in _PAIR_RE.finditer(text[:4000])]
    for code in paired:
        code = _canonical(code)
        if not is_expiry_status(code) and not is_generic_status(code):
            return code
    first: str | None = None
    for match in STATUS_RE.finditer(text[:4000]):
        code = _canonical(match.group(0))
        if is_expiry_status(code) and first is None:
            # "4.4.7 Message expired ... <421 4.4.2 Connection timed out>": the reporter's own
            # give-up code wraps the cause; the cause, when quoted, is the useful one.
            first = code
            continue
        if not is_generic_status(code):
            return code
        first = first or code
    return first


def _canonical(code: str) -> str:
    return ".".join(str(int(part)) for part in code.split("."))


def is_expiry_status(code: str | None) -> bool:
    """True for x.4.7 (delivery time expired), which reporters put over the real cause."""
    return bool(code) and code[1:] == ".4.7"  # type: ignore[index]


def is_generic_status(code: str | None) -> bool:
    """True for ``x.0.0``: a class without a subject, which says little."""
    return bool(code) and code[1:] == ".0.0"  # type: ignore[index]


def leading_reply_code(text: str) -> str | None:
    """The SMTP reply code the rejecting server's reply starts with, if it does."""
    return _leading_in(_unwrapped(text))


def _leading_in(wrapped: list[str]) -> str | None:
    for part in reversed(wrapped):
        match = _LEADING_REPLY.match(part)
        if match:
            return match.group(1)
    return None


_ANY_REPLY = lazy(
    r"([245](?<![\w.#-][245])[0-5]\d)(?:[ -][245]\.\d{1,3}\.\d{1,3}|[ -](?=[A-Za-z<'\"])|:\s)"
)


def split_reply(text: str) -> tuple[str | None, str | None]:
    """``(reply_code, status)`` for a diagnostic; the reply code may sit mid-text.

    When the status came from a cause quoted inside an expiry wrapper, the reply code is the one
    that goes with that cause.
    """
    wrapped = _unwrapped(text)
    status = _status_in(text, wrapped)
    reply = _leading_in(wrapped)
    matches = [m.group(1) for m in _ANY_REPLY.finditer(text[:4000])]
    if reply is None and matches:
        reply = matches[0]
    if status and reply and reply[0] != status[0] and len(matches) > 1:
        same_class = [code for code in matches if code[0] == status[0]]
        if same_class:
            reply = same_class[-1]
    return reply, status


def rejecting_text(text: str) -> str:
    """The part of a diagnostic written by the rejecting server (after any ``smtp;`` wrapper)."""
    parts = _unwrapped(text)
    return parts[-1].strip() if len(parts) > 1 else text.strip()


def normalise_address(text: str | None) -> str | None:
    """A bare address from ``<a@b>``, ``"Name" <a@b>``, ``rfc822;a@b`` or ``a@b<mailto:a@b>``.

    An address someone masked before pasting (``***@gmail.com``, ``xxx@xxx.com``,
    ``redacted@redacted.net``) is not an address: None.
    """
    if not text:
        return None
    match = ADDRESS_RE.search(text)
    if not match:
        return None
    address = match.group(1).strip("'.")
    local, _, domain = address.rpartition("@")
    if not local or is_masked_address(address):
        return None
    return f"{local}@{domain.lower()}"


# Words people type in place of what they hide, and runs of masking characters.
_MASK_WORDS = frozenset(
    (
        "redacted",
        "censored",
        "removed",
        "hidden",
        "masked",
        "anonymized",
        "anonymised",
        "obfuscated",
        "snip",
        "snipped",
    )
)
# Something in an address that masking could explain; without it the address is not masked.
_MASK_HINT = lazy(
    r"[*?#\[\]]|xxx|^[._-]|^@|@[._-]|@[^.]*$|\.[._-]|[._-]@|[._-]\.|[._-]$|"
    r"redacted|censored|removed|hidden|masked|anonymi|obfuscated|snip",
    re.IGNORECASE,
)
_MASK_RUN = lazy(r"^[*?#_.\-]+$|^x{3,}$|[*?#]{2,}", re.IGNORECASE)
# An address as a paste may show it masked: the address characters plus "*?#[]" in both parts.
MASKED_BODY = r"[\w.*?#!$%&'+/=^`{|}~\[\]-]{0,64}@[\w.*?#\[\]-]{1,255}"
_MASKED_TOKEN = lazy(r"(?<![\w.+=-])(" + MASKED_BODY + r")(?![\w-])")


def is_masked_address(address: str) -> bool:
    """True for an address with its local part or domain hidden (``***@x.com``, ``a@[...]``)."""
    if not _MASK_HINT.search(address):
        return False  # the common case, said by one cheap test
    local, _, domain = address.rpartition("@")
    local = local.strip("[]()<>\"'")
    if not local or _MASK_RUN.search(local) or local.lower() in _MASK_WORDS:
        return True
    labels = domain.strip("[]").lower().split(".")
    if find_ips(domain.strip("[]")):
        return False
    return any(not label or _MASK_RUN.search(label) or label in _MASK_WORDS for label in labels)


def masked_address(text: str) -> str | None:
    """The first masked address in ``text`` (``***@***.***``, ``CENSORED@CENSORED``), if any."""
    for match in _MASKED_TOKEN.finditer(text[:4000]):
        token = match.group(1).strip(".")
        if "@" in token and is_masked_address(token):
            return token
    return None


def _ipv4(dotted: str) -> str | None:
    """``str(ipaddress.IPv4Address(dotted))`` for four dot-separated runs of 1-3 digits, or None
    where it would refuse (a non-ASCII digit, a leading zero, an octet over 255), without
    building the object: the reader meets an IPv4 address in nearly every Received: line."""
    if not dotted.isascii():
        return None
    for octet in dotted.split("."):
        if (len(octet) > 1 and octet[0] == "0") or int(octet) > 255:
            return None
    return dotted


def find_ips(text: str) -> list[str]:
    """Every syntactically valid IPv4/IPv6 address in ``text``, in order, without repeats."""
    found: list[tuple[int, str]] = []
    if "." in text:
        for match in _IPV4.finditer(text):
            ip = _ipv4(match.group(1))
            if ip is not None:
                found.append((match.start(), ip))
    if ":" in text:
        for match in _IPV6.finditer(text):
            try:
                ip = str(ipaddress.IPv6Address(match.group(1)))
            except ValueError:
                continue
            found.append((match.start(), ip))
    ordered: list[str] = []
    for _, ip in sorted(found):
        if ip not in ordered:
            ordered.append(ip)
    return ordered
