"""``check_mx``: where a domain's mail goes (RFC 5321 section 5.1), null MX (RFC 7505).

Three steps: read the MX answer (:func:`check_mx`), handle the answers that end the check early
(no domain, a null MX, no MX at all: :func:`_no_hosts`), then resolve every mail host and judge
each one (:func:`_host_findings`).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from handlers.checks.names import normalise_domain
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, Severity, overall_status

__all__ = ["check_mx"]

_I, _W, _E, _U = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.UNKNOWN
_NULL_HOSTS = ("", ".")  # RFC 7505 section 3: a null MX is "0 ." (some servers give "")


async def _addresses(dns: DnsClient, host: str) -> tuple[list[str], bool, DnsUnavailable | None]:
    """(addresses, is_cname, failure) for one MX host; A and AAAA asked together."""
    answers = await asyncio.gather(
        dns.query(host, "A"), dns.query(host, "AAAA"), return_exceptions=True
    )
    found: list[str] = []
    cname = False
    failure = None
    for answer in answers:
        if isinstance(answer, DnsUnavailable):
            failure = answer
        elif isinstance(answer, DnsAnswer):
            found += answer.addresses
            cname = cname or bool(answer.cname_chain)
        else:
            raise answer
    return found, cname, failure


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _result(domain: str, summary: str, findings: list[Finding], **details: Any) -> CheckResult:
    return CheckResult("mx", domain, overall_status(findings), summary, tuple(findings), details)


async def check_mx(dns: DnsClient, domain: str) -> CheckResult:
    """Check the MX records of ``domain`` and that every mail host resolves."""
    domain = normalise_domain(domain)
    async with dns.deadline():
        try:
            answer = await dns.query(domain, "MX")
        except DnsUnavailable as exc:
            f = Finding(_U, "mx.dns_unavailable", f"DNS did not answer: {exc}")
            # No "mx" detail: nothing is known about the records (a watch must not see "none").
            return _result(domain, f"Could not read the MX records of {domain}: {exc}.", [f])
        if answer.nxdomain:
            f = Finding(
                _E,
                "mx.domain_missing",
                f"{domain} does not exist in DNS (NXDOMAIN): mail to it cannot be delivered",
            )
            return _result(domain, f"{domain} does not exist.", [f], mx=[])
        records = [(pref, host) for pref, host in answer.mx if host not in _NULL_HOSTS]
        findings: list[Finding] = []
        if answer.mx and not records:
            f = Finding(
                _W,
                "mx.null_mx",
                f"{domain} publishes a null MX (RFC 7505): it accepts no mail, so replies and bounces to it fail. Remove it if the domain should receive mail",
            )
            return _result(
                domain, f"{domain} declares it accepts no mail (null MX).", [f], mx=[], null_mx=True
            )
        if len(records) < len(answer.mx):
            findings.append(
                Finding(
                    _E,
                    "mx.null_mx_mixed",
                    "A null MX is published beside other MX records; RFC 7505 section 3 forbids that. Remove one or the other",
                )
            )
        if not records:
            findings += await _no_hosts(dns, domain)
            return _result(domain, f"{domain} has no MX records.", findings, mx=[])
        resolved = await asyncio.gather(*(_addresses(dns, host) for _p, host in records))
    rows: list[dict[str, Any]] = []
    for (pref, host), (addrs, cname, failure) in zip(records, resolved, strict=True):
        rows.append({"preference": pref, "host": host, "addresses": addrs, "cname": cname})
        findings += _host_findings(host, addrs, cname, failure)
    if any(host.endswith(".mail.protection.outlook.com") for _p, host in records):
        findings.append(
            Finding(
                _I,
                "mx.microsoft365",
                "Mail is received by Microsoft 365 (Exchange Online Protection)",
            )
        )
    good = [r["host"] for r in rows if r["addresses"]]
    summary = f"{domain} receives mail at {', '.join(good) or 'no reachable host'}."
    return CheckResult(
        "mx", domain, overall_status(findings), summary, tuple(findings), {"mx": rows}
    )


async def _no_hosts(dns: DnsClient, domain: str) -> list[Finding]:
    """No MX record: senders fall back to the domain's own address (RFC 5321 section 5.1)."""
    implicit, _cname, failure = await _addresses(dns, domain)
    if failure:
        return [Finding(_U, "mx.dns_unavailable", f"DNS did not answer: {failure}")]
    if implicit:
        return [
            Finding(
                _W,
                "mx.implicit",
                f"{domain} has no MX record; senders fall back to its address {', '.join(implicit)} (RFC 5321 section 5.1). Publish an MX record",
            )
        ]
    return [
        Finding(
            _E,
            "mx.missing",
            f"{domain} has no MX record and no address: no mail can be delivered to it",
        )
    ]


def _host_findings(
    host: str, addrs: list[str], cname: bool, failure: DnsUnavailable | None
) -> list[Finding]:
    """What is wrong with one mail host, if anything."""
    if _is_ip(host):
        return [
            Finding(
                _E,
                "mx.ip_literal",
                f"MX {host} is an IP address; an MX must name a host (RFC 7505 section 3, RFC 5321 section 5.1)",
            )
        ]
    if failure is not None and not addrs:
        return [Finding(_U, "mx.dns_unavailable", f"DNS did not answer: {failure}")]
    if not addrs:
        return [
            Finding(
                _E,
                "mx.host_unresolvable",
                f"MX host {host} has no A or AAAA record: senders cannot reach it",
            )
        ]
    if cname:
        return [
            Finding(
                _W,
                "mx.cname",
                f"MX host {host} is a CNAME; RFC 2181 section 10.3 says an MX must name the host directly",
            )
        ]
    return []
