"""Pure validation of the names and addresses people give to a check (no I/O).

A malformed target is refused with :class:`InvalidTarget` before any query is sent, with a
sentence that says what is wrong.
"""

from __future__ import annotations

import ipaddress
import re

from handlers.checks.result import InvalidTarget

__all__ = ["IPAddress", "is_valid_domain", "normalise_domain", "parse_ip", "reverse_name"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 1035 section 2.3.1 letters-digits-hyphens, plus "_" which service labels (RFC 8552) use.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def is_valid_domain(name: str) -> bool:
    """True when ``name`` (already lower-case ASCII, no trailing dot) is a usable FQDN."""
    if not name or len(name) > 253:  # RFC 1035 section 2.3.4: 255 octets on the wire
        return False
    labels = name.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_LABEL.match(label) for label in labels)


def normalise_domain(text: str) -> str:
    """Return ``text`` as a lower-case ASCII domain (IDNA for Unicode) or raise InvalidTarget."""
    name = text.strip().rstrip(".").lower()
    if not name:
        raise InvalidTarget("no domain given")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise InvalidTarget(f"{text!r} is an IP address, not a domain name")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidTarget(f"{text!r} is not a valid internationalised domain name") from None
    if "@" in name:
        raise InvalidTarget(f"{text!r} looks like an e-mail address; give the domain after '@'")
    if not is_valid_domain(name):
        raise InvalidTarget(
            f"{text!r} is not a valid domain name (expected something like example.com: "
            "two or more labels of letters, digits and hyphens, each at most 63 characters)"
        )
    return name


def parse_ip(text: str) -> IPAddress:
    """Parse an IPv4 or IPv6 address or raise InvalidTarget."""
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise InvalidTarget(f"{text!r} is not an IPv4 or IPv6 address") from None


def reverse_name(ip: IPAddress) -> str:
    """The in-addr.arpa / ip6.arpa name of ``ip`` without the trailing dot."""
    return ip.reverse_pointer
