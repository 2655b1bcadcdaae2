"""DKIM key records (RFC 6376 section 3.6.1, RFC 8463): parse tags and measure the key. Pure."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

__all__ = ["DkimKey", "parse_dkim_key"]


@dataclass(frozen=True, slots=True)
class DkimKey:
    """What a ``<selector>._domainkey`` TXT record says."""

    key_type: str  # "rsa" | "ed25519" | other
    bits: int | None  # RSA modulus size; 256 for Ed25519; None when unreadable
    revoked: bool  # empty p= (RFC 6376 section 3.6.1)
    testing: bool  # t=y
    problems: tuple[str, ...] = ()


def _der_length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """Top-level (tag, content) pairs of a DER buffer."""
    items, pos = [], 0
    while pos < len(data):
        tag = data[pos]
        length, start = _der_length(data, pos + 1)
        items.append((tag, data[start : start + length]))
        pos = start + length
    return items


def rsa_bits(der: bytes) -> int | None:
    """Modulus size of an RSA key given as SubjectPublicKeyInfo or as a bare RSAPublicKey."""
    try:
        ((tag, body),) = _der_items(der)
        if tag != 0x30:
            return None
        inner = _der_items(body)
        if inner and inner[0][0] == 0x30 and len(inner) == 2 and inner[1][0] == 0x03:
            ((tag, body),) = _der_items(inner[1][1][1:])  # BIT STRING: skip unused-bits octet
            inner = _der_items(body)
        if not inner or inner[0][0] != 0x02:
            return None
        modulus = inner[0][1].lstrip(b"\x00")
        return len(modulus) * 8 - (8 - modulus[0].bit_length()) if modulus else None
    except (ValueError, IndexError):
        return None


def parse_dkim_key(text: str) -> DkimKey:
    """Parse a key record; unreadable parts are listed in ``problems``."""
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not part.strip():
            continue
        if not sep:
            problems.append(f"{part.strip()!r} is not a tag=value pair")
            continue
        tags[name.strip().lower()] = "".join(value.split())  # whitespace inside p= is folding
    if "v" in tags and tags["v"] != "DKIM1":
        problems.append(f"v={tags['v']!r}: the only version is DKIM1")
    key_type = tags.get("k", "rsa").lower()
    testing = "y" in tags.get("t", "").lower().split(":")
    if "p" not in tags:
        return DkimKey(
            key_type, None, False, testing, (*problems, "the required p= tag is missing")
        )
    if not tags["p"]:
        return DkimKey(key_type, None, True, testing, tuple(problems))
    try:
        raw = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return DkimKey(key_type, None, False, testing, (*problems, "p= is not valid base64"))
    if key_type == "ed25519":
        bits = 256 if len(raw) == 32 else None  # RFC 8463 section 4.2: the raw 32-octet key
    elif key_type == "rsa":
        bits = rsa_bits(raw)
    else:
        problems.append(f"k={key_type!r} is not a key type receivers know (rsa, ed25519)")
        bits = None
    if bits is None and key_type in ("rsa", "ed25519"):
        problems.append("the key in p= could not be read")
    return DkimKey(key_type, bits, False, testing, tuple(problems))
