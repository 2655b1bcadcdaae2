"""SPF record parsing (RFC 7208 sections 4.5, 5, 6 and 12): text in, values out, no I/O.

Any syntax error anywhere in a record makes the whole record a permerror (section 4.6), so
:func:`parse_record` either returns a complete :class:`SpfRecord` or raises SpfSyntaxError.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from handlers.checks.spf_macro import Macro, MacroString, SpfSyntaxError, parse_macro_string

__all__ = [
    "LOOKUP_MECHANISMS",
    "Mechanism",
    "Modifier",
    "SpfRecord",
    "SpfSyntaxError",
    "is_spf_record",
    "parse_record",
]

# Section 4.6.4: the terms that cost one of the 10 DNS lookups (plus the redirect modifier).
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
_MECHANISMS = LOOKUP_MECHANISMS | {"all", "ip4", "ip6"}
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.\-]*)=(.*)$", re.DOTALL)
_DIRECTIVE = re.compile(r"^([+\-~?]?)([A-Za-z][A-Za-z0-9]*)(.*)$", re.DOTALL)
_CIDR_LEN = r"(?:0|[1-9][0-9]?[0-9]?)"  # section 12: no leading zeros
_DUAL_CIDR = re.compile(rf"(?:/({_CIDR_LEN}))?(?://({_CIDR_LEN}))?$")
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IP4 = re.compile(rf"^{_QNUM}(?:\.{_QNUM}){{3}}$")
# domain-end = ( "." toplabel [ "." ] ) / macro-expand; toplabel has a letter or a hyphen inside
_TOPLABEL_END = re.compile(
    r"\.(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9])\.?$"
)
QUALIFIER_RESULTS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A directive: qualifier, mechanism name and its arguments."""

    text: str
    qualifier: str  # one of + - ~ ?
    kind: str  # all include a mx ptr ip4 ip6 exists
    domain: MacroString | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int = 32
    cidr6: int = 128

    @property
    def result(self) -> str:
        """The SPF result this directive gives when it matches (section 4.6.2)."""
        return QUALIFIER_RESULTS[self.qualifier]


@dataclass(frozen=True, slots=True)
class Modifier:
    """A ``name=value`` term; only ``redirect`` and ``exp`` mean anything (section 6)."""

    text: str
    name: str  # lower-case
    value: MacroString


@dataclass(frozen=True, slots=True)
class SpfRecord:
    """One parsed SPF record."""

    text: str
    mechanisms: tuple[Mechanism, ...]
    modifiers: tuple[Modifier, ...]
    redirect: MacroString | None
    exp: MacroString | None

    @property
    def has_all(self) -> bool:
        """A record with ``all`` ignores ``redirect`` (section 6.1)."""
        return any(m.kind == "all" for m in self.mechanisms)

    @property
    def lookup_terms(self) -> tuple[str, ...]:
        """The terms that cost a DNS lookup, in record order (section 4.6.4)."""
        terms = [m.text for m in self.mechanisms if m.kind in LOOKUP_MECHANISMS]
        if self.redirect is not None and not self.has_all:
            terms.append(f"redirect={self.redirect.text}")
        return tuple(terms)


def is_spf_record(text: str) -> bool:
    """True for a TXT string that starts with ``v=spf1`` then a space or the end (section 4.5)."""
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


def _domain_spec(text: str, term: str) -> MacroString:
    if not text:
        raise SpfSyntaxError(f"{term!r}: missing domain after ':'")
    spec = parse_macro_string(text)
    # The literal tail must end with a real top-level label, unless a macro ends the spec.
    if not isinstance(spec.parts[-1], Macro) and not _TOPLABEL_END.search(text):
        raise SpfSyntaxError(f"{term!r}: {text!r} is not a domain name (RFC 7208 section 7.1)")
    return spec


def _prefix(length: str, maximum: int, term: str) -> int:
    if not length:
        return maximum
    if not re.fullmatch(_CIDR_LEN, length) or int(length) > maximum:
        raise SpfSyntaxError(f"{term!r}: bad prefix length /{length} (RFC 7208 section 5.6)")
    return int(length)


def _cidr(text: str, term: str, *, v4: bool, v6: bool) -> tuple[str, int, int]:
    """Split a trailing dual-cidr-length off ``text``; returns (rest, cidr4, cidr6)."""
    match = _DUAL_CIDR.search(text)
    assert match is not None  # the pattern can match the empty string at the end
    c4, c6 = match.group(1), match.group(2)
    if (c4 and not v4) or (c6 and not v6):
        raise SpfSyntaxError(f"{term!r}: CIDR length not allowed here")
    cidr4 = int(c4) if c4 else 32
    cidr6 = int(c6) if c6 else 128
    if cidr4 > 32 or cidr6 > 128:
        raise SpfSyntaxError(f"{term!r}: CIDR length out of range (section 5.6)")
    return text[: match.start()], cidr4, cidr6


def _mechanism(term: str) -> Mechanism:
    match = _DIRECTIVE.match(term)
    if not match:
        raise SpfSyntaxError(f"{term!r} is neither a mechanism nor a modifier")
    qualifier, name, rest = match.group(1) or "+", match.group(2).lower(), match.group(3)
    if name not in _MECHANISMS:
        raise SpfSyntaxError(f"unknown mechanism {name!r} in {term!r} (RFC 7208 section 5)")
    if name == "all":
        if rest:
            raise SpfSyntaxError(f"{term!r}: 'all' takes no argument")
        return Mechanism(term, qualifier, name)
    if name in ("ip4", "ip6"):
        return _ip_mechanism(term, qualifier, name, rest)
    if name in ("a", "mx"):
        rest, cidr4, cidr6 = _cidr(rest, term, v4=True, v6=True)
    else:
        cidr4, cidr6 = 32, 128
    if not rest:
        if name in ("include", "exists"):
            raise SpfSyntaxError(f"{term!r}: '{name}' needs ':domain'")
        return Mechanism(term, qualifier, name, cidr4=cidr4, cidr6=cidr6)
    if not rest.startswith(":"):
        raise SpfSyntaxError(f"{term!r}: expected ':' after '{name}'")
    return Mechanism(term, qualifier, name, _domain_spec(rest[1:], term), None, cidr4, cidr6)


def _ip_mechanism(term: str, qualifier: str, name: str, rest: str) -> Mechanism:
    if not rest.startswith(":"):
        raise SpfSyntaxError(f"{term!r}: expected ':' and an address")
    body = rest[1:]
    address, _, length = body.partition("/")
    if name == "ip4":
        if not _IP4.match(address):
            raise SpfSyntaxError(f"{term!r}: {address!r} is not an IPv4 address")
        prefix = _prefix(length, 32, term)
    else:
        if not address or not re.fullmatch(r"[0-9A-Fa-f:.]+", address):
            raise SpfSyntaxError(f"{term!r}: {address!r} is not an IPv6 address")
        prefix = _prefix(length, 128, term)
    try:
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    except ValueError:
        raise SpfSyntaxError(f"{term!r}: {address!r} is not a valid address") from None
    if (name == "ip4") != (network.version == 4):
        raise SpfSyntaxError(f"{term!r}: wrong address family for {name}")
    return Mechanism(term, qualifier, name, network=network)


def parse_record(text: str) -> SpfRecord:
    """Parse one SPF record (already selected with :func:`is_spf_record`)."""
    if not text.isascii():
        raise SpfSyntaxError("the record contains non-ASCII characters (RFC 7208 section 3.1)")
    if not is_spf_record(text):
        raise SpfSyntaxError("the record does not start with 'v=spf1'")
    mechanisms: list[Mechanism] = []
    modifiers: list[Modifier] = []
    for term in text[6:].split(" "):
        if not term:
            continue  # terms are separated by one or more spaces
        modifier = _MODIFIER.match(term)
        if modifier:
            name = modifier.group(1).lower()
            value = modifier.group(2)
            spec = _domain_spec(value, term) if name in ("redirect", "exp") else None
            modifiers.append(Modifier(term, name, spec or parse_macro_string(value)))
        else:
            mechanisms.append(_mechanism(term))
    redirect = [m for m in modifiers if m.name == "redirect"]
    exp = [m for m in modifiers if m.name == "exp"]
    if len(redirect) > 1 or len(exp) > 1:
        raise SpfSyntaxError("'redirect' and 'exp' may each appear once (RFC 7208 section 6)")
    return SpfRecord(
        text=text,
        mechanisms=tuple(mechanisms),
        modifiers=tuple(modifiers),
        redirect=redirect[0].value if redirect else None,
        exp=exp[0].value if exp else None,
    )
