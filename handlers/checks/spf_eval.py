"""RFC 7208 ``check_host()``: evaluate an SPF policy for a client IP, sender and HELO name.

All DNS goes through the :class:`~handlers.checks.resolver.DnsClient` passed in; everything
else (record syntax, macros) is in the pure modules. Mechanisms are evaluated left to right as
the RFC requires, but the lookups *inside* one mechanism (the addresses of every MX host, the
forward checks of every PTR name) are issued concurrently.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from handlers.checks.names import IPAddress, is_valid_domain
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.spf_macro import (
    MacroEnv,
    MacroString,
    SpfSyntaxError,
    parse_macro_string,
    truncate_domain,
)
from handlers.checks.spf_parse import Mechanism, SpfRecord, is_spf_record, parse_record

__all__ = [
    "MAX_LOOKUPS",
    "MAX_VOID_LOOKUPS",
    "SpfEvaluation",
    "SpfResult",
    "check_host",
    "evaluate",
]

MAX_LOOKUPS = 10  # RFC 7208 section 4.6.4
MAX_VOID_LOOKUPS = 2  # RFC 7208 section 4.6.4 (the RECOMMENDED default)
MAX_NAMES = 10  # MX hosts per mx mechanism and PTR names per ptr (section 4.6.4)


class SpfResult(StrEnum):
    """The seven results of RFC 7208 section 2.6."""

    PASS = "pass"  # noqa: S105 (an SPF result, not a password)
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


@dataclass(frozen=True)
class SpfEvaluation:
    """What ``check_host()`` decided, why, and what it cost."""

    result: SpfResult
    reason: str  # one sentence: which mechanism matched, or what went wrong
    explanation: str | None  # the exp= text (or the default) for a fail
    lookups: int
    void_lookups: int
    tree: dict[str, Any]  # the records evaluated: domain, record, lookups, result, children
    dns_failure: DnsUnavailable | None = field(default=None, compare=False)


class _PermError(Exception):
    pass


class _TempError(Exception):
    def __init__(self, message: str, cause: DnsUnavailable) -> None:
        super().__init__(message)
        self.cause = cause


def _ip_parts(ip: IPAddress) -> tuple[str, str]:
    """The %{i} and %{v} values (RFC 7208 section 7.3)."""
    if ip.version == 4:
        return str(ip), "in-addr"
    # Nibbles upper-case, as the reference implementation (pyspf) and its test suite write them.
    return ".".join(ip.exploded.replace(":", "").upper()), "ip6"


def _queryable(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and all(0 < len(label.encode()) <= 63 for label in labels)


class _Evaluator:
    def __init__(
        self, dns: DnsClient, ip: IPAddress, sender: str, helo: str, default_exp: str | None
    ) -> None:
        self.dns, self.ip, self.helo, self.default_exp = dns, ip, helo, default_exp
        local, _, domain = sender.rpartition("@")
        self.sender = f"{local or 'postmaster'}@{domain}"
        self.local, self.sender_domain = local or "postmaster", domain
        self.lookups = 0
        self.void = 0

    def env(self, domain: str, p: str = "unknown") -> MacroEnv:
        i, v = _ip_parts(self.ip)
        return MacroEnv(
            s=self.sender,
            l=self.local,
            o=self.sender_domain,
            d=domain,
            i=i,
            v=v,
            h=self.helo,
            c=str(self.ip),
            t=str(int(time.time())),
            p=p,
        )

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        if not _queryable(name):
            # A target no DNS query can be built for (empty or over-long label, e.g. from a
            # macro) is treated as a name that does not exist: RFC 7208 sections 4.3 and 4.8.
            return DnsAnswer(name=name, rdtype=rdtype, nxdomain=True)
        try:
            return await self.dns.query(name, rdtype)
        except DnsUnavailable as exc:
            raise _TempError(str(exc), exc) from None

    def count(self, node: dict[str, Any], term: str) -> None:
        self.lookups += 1
        node["lookups"] += 1
        if self.lookups > MAX_LOOKUPS:
            raise _PermError(
                f"{term} in the record of {node['domain']} is DNS lookup number {self.lookups}; "
                f"RFC 7208 section 4.6.4 allows {MAX_LOOKUPS}"
            )

    def void_check(self, answer: DnsAnswer, term: str) -> None:
        if answer.void:
            self.void += 1
            if self.void > MAX_VOID_LOOKUPS:
                raise _PermError(
                    f"{term}: {answer.name} is void lookup number {self.void} (no such name or no "
                    f"records); RFC 7208 section 4.6.4 allows {MAX_VOID_LOOKUPS}"
                )

    async def target(self, spec: MacroString | None, domain: str) -> str:
        if spec is None:
            return domain
        p = await self.validated_name(domain) if spec.uses("p") else "unknown"
        return truncate_domain(spec.expand(self.env(domain, p)).rstrip(".").lower())

    async def addresses(self, name: str) -> tuple[str, ...]:
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        return (await self.query(name, rdtype)).addresses

    def ip_in(self, address: str, mech: Mechanism) -> bool:
        cidr = mech.cidr4 if self.ip.version == 4 else mech.cidr6
        try:
            return self.ip in ipaddress.ip_network(f"{address}/{cidr}", strict=False)
        except ValueError:
            return False

    async def validated_names(self) -> list[str]:
        """PTR names of the IP whose forward lookup gives the IP back (section 5.5)."""
        try:
            answer = await self.dns.query(self.ip.reverse_pointer, "PTR")
        except DnsUnavailable:
            return []

        async def confirm(name: str) -> str | None:
            try:
                found = await self.addresses(name)
            except _TempError:
                return None  # section 5.5: a DNS error skips that name
            return name if any(ipaddress.ip_address(a) == self.ip for a in found) else None

        checked = await asyncio.gather(*(confirm(n) for n in answer.names[:MAX_NAMES]))
        return [n for n in checked if n]

    async def validated_name(self, domain: str) -> str:
        """The %{p} value: a validated name, preferring ``domain`` or its subdomains."""
        names = await self.validated_names()
        for name in names:
            if name == domain or name.endswith("." + domain):
                return name
        return names[0] if names else "unknown"

    async def check_host(
        self, domain: str, node: dict[str, Any]
    ) -> tuple[SpfResult, str, str | None]:
        """Return (result, reason, explanation) for ``domain``; errors raise."""
        if not is_valid_domain(domain):
            return SpfResult.NONE, f"{domain!r} is not a valid domain name (section 4.3)", None
        answer = await self.query(domain, "TXT")
        records = [t for t in answer.txt_strings if is_spf_record(t)]
        if not records:
            return SpfResult.NONE, f"{domain} publishes no SPF record", None
        if len(records) > 1:
            node["records"] = records
            raise _PermError(f"{domain} publishes {len(records)} SPF records (section 4.5)")
        node["record"] = records[0]
        try:
            record = parse_record(records[0])
        except SpfSyntaxError as exc:
            raise _PermError(f"the record of {domain} has a syntax error: {exc}") from None
        for mech in record.mechanisms:
            if await self.match(mech, domain, node):
                reason = f"'{mech.text}' in the record of {domain} matched {self.ip}"
                exp = await self.explain(record, domain) if mech.result == "fail" else None
                return SpfResult(mech.result), reason, exp
        if record.redirect is not None and not record.has_all:
            term = f"redirect={record.redirect.text}"
            self.count(node, term)
            target = await self.target(record.redirect, domain)
            child = self.child(node, target, term)
            result, reason, exp = await self.run_child(target, child)
            if result is SpfResult.NONE:
                raise _PermError(f"{term}: {target} has no SPF record (section 6.1)")
            return result, reason, exp
        return SpfResult.NEUTRAL, f"nothing in the record of {domain} matched {self.ip}", None

    @staticmethod
    def child(node: dict[str, Any], domain: str, via: str) -> dict[str, Any]:
        child: dict[str, Any] = {"domain": domain, "via": via, "lookups": 0, "children": []}
        node["children"].append(child)
        return child

    async def run_child(
        self, domain: str, node: dict[str, Any]
    ) -> tuple[SpfResult, str, str | None]:
        try:
            result, reason, exp = await self.check_host(domain, node)
        except (_PermError, _TempError) as exc:
            node["error"] = str(exc)
            raise
        node["result"] = str(result)
        return result, reason, exp

    async def match(self, mech: Mechanism, domain: str, node: dict[str, Any]) -> bool:
        kind = mech.kind
        if kind == "all":
            return True
        if kind in ("ip4", "ip6"):
            return mech.network is not None and self.ip in mech.network
        self.count(node, mech.text)
        target = await self.target(mech.domain, domain)
        if kind == "include":
            result, _reason, _exp = await self.run_child(
                target, self.child(node, target, mech.text)
            )
            if result in (SpfResult.NONE,):
                raise _PermError(f"{mech.text}: {target} has no SPF record (section 5.2)")
            return result is SpfResult.PASS
        if kind == "a":
            answer = await self.query(target, "A" if self.ip.version == 4 else "AAAA")
            self.void_check(answer, mech.text)
            return any(self.ip_in(a, mech) for a in answer.addresses)
        if kind == "mx":
            return await self.match_mx(mech, target)
        if kind == "ptr":
            names = await self.validated_names()
            return any(n == target or n.endswith("." + target) for n in names)
        # exists: an A query whatever the IP version (section 5.7)
        answer = await self.query(target, "A")
        self.void_check(answer, mech.text)
        return bool(answer.addresses)

    async def match_mx(self, mech: Mechanism, target: str) -> bool:
        answer = await self.query(target, "MX")
        self.void_check(answer, mech.text)
        hosts = [host for _pref, host in answer.mx if host not in ("", ".")]  # RFC 7505 null MX
        if len(hosts) > MAX_NAMES:
            raise _PermError(f"{mech.text}: {target} has {len(hosts)} MX hosts; the limit is 10")
        found = await asyncio.gather(*(self.addresses(h) for h in hosts))
        return any(self.ip_in(a, mech) for addrs in found for a in addrs)

    async def explain(self, record: SpfRecord, domain: str) -> str | None:
        """The explanation for a fail (section 6.2); any trouble gives the default."""
        if record.exp is None:
            return self.default_exp
        try:
            target = await self.target(record.exp, domain)
            answer = await self.dns.query(target, "TXT")
        except (DnsUnavailable, _TempError):
            return self.default_exp
        if len(answer.txt) != 1:
            return self.default_exp
        text = answer.txt_strings[0]
        try:
            if not text.isascii():
                raise SpfSyntaxError("non-ASCII explanation")
            spec = parse_macro_string(text, explanation=True)
            p = await self.validated_name(domain) if spec.uses("p") else "unknown"
            return spec.expand(self.env(domain, p))
        except SpfSyntaxError:
            return self.default_exp


async def check_host(
    dns: DnsClient,
    ip: IPAddress,
    domain: str,
    sender: str,
    *,
    helo: str = "unknown",
    default_explanation: str | None = None,
) -> SpfEvaluation:
    """Run RFC 7208 ``check_host(ip, domain, sender)``; DNS failures give ``temperror``."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # section 5: an IPv4-mapped address is treated as IPv4
    state = _Evaluator(dns, ip, sender, helo, default_explanation)
    domain = domain.rstrip(".").lower()
    tree: dict[str, Any] = {"domain": domain, "via": None, "lookups": 0, "children": []}
    failure: DnsUnavailable | None = None
    explanation: str | None = None
    try:
        result, reason, explanation = await state.run_child(domain, tree)
    except _PermError as exc:
        result, reason = SpfResult.PERMERROR, str(exc)
    except _TempError as exc:
        result, reason, failure = SpfResult.TEMPERROR, str(exc), exc.cause
    tree["result"] = str(result)
    return SpfEvaluation(result, reason, explanation, state.lookups, state.void, tree, failure)


async def evaluate(
    dns: DnsClient,
    ip: IPAddress,
    sender: str,
    helo: str,
    *,
    default_explanation: str | None = None,
) -> SpfEvaluation:
    """Check the MAIL FROM identity, or ``postmaster@HELO`` when the sender is empty (2.4)."""
    if not sender:
        sender = f"postmaster@{helo}"
    domain = sender.rpartition("@")[2]
    return await check_host(
        dns, ip, domain, sender, helo=helo, default_explanation=default_explanation
    )
