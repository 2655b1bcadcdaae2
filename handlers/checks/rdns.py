"""``check_rdns``: reverse DNS of a sending IP with forward confirmation (FCrDNS)."""

from __future__ import annotations

import asyncio
import ipaddress
import re

from handlers.checks.names import parse_ip
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, Severity, overall_status

__all__ = ["check_rdns"]

_I, _W, _E, _U = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.UNKNOWN
# Names that look like an access network's rather than a mail server's (M3AAWG guidance).
_GENERIC = re.compile(
    r"(dynamic|dyn|dhcp|pool|dsl|cable|ppp|client|broadband|customer|\d+[-.]\d+[-.]\d+[-.]\d+)",
    re.I,
)


async def _confirm(
    dns: DnsClient, name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> bool | DnsUnavailable:
    try:
        answer: DnsAnswer = await dns.query(name, "A" if ip.version == 4 else "AAAA")
    except DnsUnavailable as exc:
        return exc
    return any(ipaddress.ip_address(a) == ip for a in answer.addresses)


async def check_rdns(dns: DnsClient, ip: str) -> CheckResult:
    """Check that ``ip`` has a PTR name whose forward lookup gives ``ip`` back."""
    address = parse_ip(ip)
    target = str(address)
    async with dns.deadline():
        try:
            answer = await dns.query(address.reverse_pointer, "PTR")
        except DnsUnavailable as exc:
            f = Finding(_U, "rdns.dns_unavailable", f"DNS did not answer: {exc}")
            return CheckResult(
                "rdns",
                target,
                overall_status([f]),
                f"Could not read the reverse DNS of {target}: {exc}.",
                (f,),
                {},
            )
        names = list(answer.names[:10])
        confirmations = await asyncio.gather(*(_confirm(dns, n, address) for n in names))
    if not names:
        f = Finding(
            _E,
            "rdns.missing",
            f"{target} has no reverse DNS (no PTR at {address.reverse_pointer}). Many receivers (Microsoft, Gmail) refuse mail from such IPs: ask whoever owns the IP range (hosting provider or ISP) to set a PTR to the server's mail host name",
        )
        return CheckResult(
            "rdns", target, overall_status([f]), f"{target} has no reverse DNS.", (f,), {"ptr": []}
        )
    confirmed = [n for n, ok in zip(names, confirmations, strict=True) if ok is True]
    failures = [ok for ok in confirmations if isinstance(ok, DnsUnavailable)]
    findings: list[Finding] = []
    if confirmed:
        findings.append(
            Finding(
                _I, "rdns.confirmed", f"{target} -> {confirmed[0]} -> {target}: forward-confirmed"
            )
        )
        if all(_GENERIC.search(n) for n in confirmed):
            findings.append(
                Finding(
                    _W,
                    "rdns.generic",
                    f"{confirmed[0]} looks like an access-network name; receivers may treat the IP as a home or dynamic address. Use a name such as mail.<your domain>",
                )
            )
    elif failures:
        findings.append(
            Finding(
                _U,
                "rdns.dns_unavailable",
                f"DNS did not answer while confirming {', '.join(names)}: {failures[0]}",
            )
        )
    else:
        findings.append(
            Finding(
                _E,
                "rdns.not_confirmed",
                f"{target} reverses to {', '.join(names)}, but that name does not resolve back to {target}; receivers treat this as no reverse DNS. Add an A/AAAA record for {names[0]} pointing to {target}",
            )
        )
    summary = f"{target} reverses to {', '.join(names)}" + (
        " (forward-confirmed)." if confirmed else ", not forward-confirmed."
    )
    details = {"ptr": names, "confirmed": confirmed}
    return CheckResult("rdns", target, overall_status(findings), summary, tuple(findings), details)
