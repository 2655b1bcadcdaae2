"""Header facts of the original message: who sent it, how it authenticated, the IP it came from.

Input is a list of ``(name, value)`` pairs (from the MIME parser) or a block of header text
(from a paste); folded lines are unfolded first (RFC 5322 section 2.2.3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from handlers.ndr.codes import find_ips, normalise_address
from handlers.ndr.lazyre import lazy
from handlers.ndr.model import AuthResult, OriginalMessage
from handlers.ndr.text import decode_header

__all__ = ["parse_auth_results", "parse_header_block", "parse_original"]

_HEADER = lazy(r"^([!-9;-~]{1,76}):[ \t]?(.*)$")
_MAX_HEADERS = 500


def parse_header_block(text: str) -> list[tuple[str, str]]:
    """Header lines at the start of ``text`` as ``(name, value)`` pairs; stops at a blank line."""
    headers: list[tuple[str, str]] = []
    for line in text.split("\n"):
        if not line.strip():
            if headers:
                break
            continue
        if line[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        match = _HEADER.match(line)
        if not match:
            if headers:
                break
            continue
        headers.append((match.group(1), match.group(2).strip()))
        if len(headers) >= _MAX_HEADERS:
            break
    return headers


_METHOD = lazy(r"^\s*([A-Za-z][\w.-]{0,30})\s*=\s*([A-Za-z][\w-]{0,30})")
_PROPERTY = lazy(
    r"([A-Za-z][\w-]{0,30}(?:\.[A-Za-z][\w-]{0,30})?)\s*=\s*(\"[^\"]{0,300}\"|[^\s;()]{1,300})"
)
_COMMENT = lazy(r"\(([^()]{0,500})\)")


def _split_clauses(value: str) -> list[str]:
    """Split on ``;`` outside parentheses and quotes."""
    clauses: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == ";" and depth == 0:
            clauses.append(value[start:index])
            start = index + 1
    clauses.append(value[start:])
    return [clause.strip() for clause in clauses if clause.strip()]


def parse_auth_results(value: str) -> list[AuthResult]:
    """Method results of one Authentication-Results value (RFC 8601 section 2.2).

    Microsoft omits the authserv-id and repeats the recipient domain between methods; both
    shapes are accepted.
    """
    results: list[AuthResult] = []
    authserv = ""
    clauses = _split_clauses(value[:8000])
    for index, clause in enumerate(clauses):
        method = _METHOD.match(clause)
        if not method:
            if index == 0:
                authserv = clause.split()[0] if clause.split() else ""
            continue
        name, outcome = method.group(1).lower(), method.group(2).lower()
        if name in ("i", "arc.chain") or "." in name:
            continue  # ARC instance tag, not a method
        rest = clause[method.end() :]
        comments = " ".join(m.group(1).strip() for m in _COMMENT.finditer(rest))
        props = tuple(
            (m.group(1).lower(), m.group(2).strip('"'))
            for m in _PROPERTY.finditer(_COMMENT.sub(" ", rest))
        )
        reason = comments
        for key, prop in props:
            if key in ("reason", "action"):
                reason = f"{reason} {key}={prop}".strip()
        results.append(AuthResult(name, outcome, props, reason, authserv))
    return results


_UNFOLD = lazy(r"\r?\n[ \t]*")
_DKIM_TAG = lazy(r"(?:^|;)\s*([ds])\s*=\s*([^;\s]{1,255})")


# The headers parse_original reads (the first value of the first six; every one of the rest).
_READ = frozenset(
    (
        "from", "return-path", "to", "subject", "message-id", "date",
        "authentication-results", "arc-authentication-results", "authentication-results-original",
        "dkim-signature", "x-forefront-antispam-report", "received-spf",
    )
)  # fmt: skip


def parse_original(headers: Sequence[tuple[str, str]]) -> OriginalMessage | None:
    """Facts of the returned original message from its headers; None when there are none."""
    if not headers:
        return None
    first: dict[str, str] = {}
    auth: list[AuthResult] = []
    selectors: list[tuple[str, str]] = []
    connecting_ip: str | None = None
    for name, raw in headers:
        key = name.lower()
        if key not in _READ:
            continue  # (most of an original's headers: Received:, ARC-Seal:, X-...)
        value = _UNFOLD.sub(" ", raw) if "\n" in raw else raw
        if key not in first:
            first[key] = value
        if key in (
            "authentication-results",
            "arc-authentication-results",
            "authentication-results-original",
        ):
            auth.extend(parse_auth_results(value))
        elif key == "dkim-signature":
            tags = dict((m.group(1), m.group(2)) for m in _DKIM_TAG.finditer(value))
            if "d" in tags and "s" in tags:
                selectors.append((tags["d"].lower(), tags["s"]))
        elif key == "x-forefront-antispam-report" and connecting_ip is None:
            cip = re.search(r"CIP:([0-9A-Fa-f:.]{3,45});", value)
            connecting_ip = _ip_or_none(cip.group(1)) if cip else None
        elif key == "received-spf" and connecting_ip is None:
            client = re.search(r"client-ip=([0-9A-Fa-f:.]{3,45})", value)
            connecting_ip = _ip_or_none(client.group(1)) if client else None
    from_address = normalise_address(first.get("from"))
    return OriginalMessage(
        sender=normalise_address(first.get("return-path")) or from_address,
        from_address=from_address,
        to=tuple(_addresses(first.get("to", ""))),
        subject=decode_header(first["subject"]) if first.get("subject") else None,
        message_id=first.get("message-id") or None,
        date=first.get("date") or None,
        auth_results=tuple(auth),
        connecting_ip=connecting_ip,
        dkim_selectors=tuple(dict.fromkeys(selectors)),
    )


def _ip_or_none(text: str) -> str | None:
    ips = find_ips(text)
    return ips[0] if ips else None


def _addresses(value: str) -> Iterable[str]:
    for part in value.split(",")[:50]:
        address = normalise_address(part)
        if address:
            yield address
