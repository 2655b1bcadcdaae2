"""``check_blocklist``: an IP or domain against DNS blocklists, all lists at once (RFC 5782).

Every list is asked three questions in the same round trip: the target, the list's "listed"
test point and its "not listed" test point (RFC 5782 section 5). A resolver that gets the test
points wrong (a public resolver a list refuses, an ISP resolver that rewrites NXDOMAIN) gives
``unknown`` for that list, never "clean" or "listed". A Spamhaus DQS key never appears in output.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from typing import Any

from handlers.checks.dnsbl_lists import (
    DEFAULT_DOMAIN_LISTS,
    DEFAULT_IP_LISTS,
    Blocklist,
    blocklist_for,
)
from handlers.checks.names import IPAddress, normalise_domain
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, Severity, overall_status

__all__ = ["check_blocklist", "query_name"]

_E, _U, _I = Severity.ERROR, Severity.UNKNOWN, Severity.INFO
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def query_name(target: IPAddress | str, zone: str) -> str:
    """``<reversed IPv4 octets | IPv6 nibbles | domain>.<zone>`` (RFC 5782 sections 2.1-2.3)."""
    if isinstance(target, str):
        return f"{target}.{zone}"
    reverse = target.reverse_pointer
    return f"{reverse.rsplit('.', 2)[0]}.{zone}"


def _test_target(value: str, ip_version: int) -> IPAddress | str:
    if ip_version == 6:
        # RFC 5782 section 5: IPv6 lists carry ::FFFF:7F00:2 and never ::FFFF:7F00:1
        return ipaddress.IPv6Address("::ffff:" + value)
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return value


def _classify(bl: Blocklist, answer: DnsAnswer) -> tuple[str, list[str]]:
    """("clean" | "listed" | "refused" | "bogus", the answers)."""
    addresses = list(answer.addresses)
    if not addresses:
        return "clean", []
    if any(a in bl.refusals for a in addresses):
        return "refused", addresses
    if any(ipaddress.ip_address(a) not in _LOOPBACK for a in addresses):
        return "bogus", addresses  # RFC 5782 section 2.3: answers are in 127.0.0.0/8
    return "listed", addresses


class _Redactor:
    def __init__(self, key: str | None) -> None:
        self.key = key

    def __call__(self, text: str) -> str:
        return text.replace(self.key, "<DQS key>") if self.key else text


async def _one(
    dns: DnsClient, bl: Blocklist, target: IPAddress | str, key: str | None, redact: _Redactor
) -> dict[str, Any]:
    zone = bl.zone_for(key)
    version = target.version if not isinstance(target, str) else 4
    names = [
        query_name(target, zone),
        query_name(_test_target(bl.test_listed, version), zone),
        query_name(_test_target(bl.test_clean, version), zone),
    ]
    answers = await asyncio.gather(*(dns.query(n, "A") for n in names), return_exceptions=True)
    row: dict[str, Any] = {"list": bl.name, "zone": redact(zone), "delist": bl.delist}
    failure = next((a for a in answers if isinstance(a, DnsUnavailable)), None)
    if failure is not None:
        return row | {
            "status": "unknown",
            "code": "blocklist.dns_unavailable",
            "reason": redact(f"DNS did not answer: {failure}"),
        }
    for a in answers:
        if isinstance(a, BaseException):
            raise a
    main, listed, clean = (_classify(bl, a) for a in answers if isinstance(a, DnsAnswer))
    for kind, codes in (main, listed, clean):
        if kind == "refused":
            why = "; ".join(bl.refusals[c] for c in codes if c in bl.refusals)
            return row | {
                "status": "unknown",
                "code": "blocklist.refused",
                "answers": codes,
                "reason": f"{bl.name} did not give a real answer: {why}. {bl.refusal_fix}".strip(),
            }
    if listed[0] != "listed" or clean[0] != "clean" or main[0] == "bogus":
        detail = (
            f"its test entry {bl.test_listed} came back {listed[0]}"
            if listed[0] != "listed"
            else f"its never-listed test entry {bl.test_clean} came back {clean[0]}"
        )
        if main[0] == "bogus":
            detail = f"it answered {', '.join(main[1])}, outside 127.0.0.0/8"
        return row | {
            "status": "unknown",
            "code": "blocklist.untrustworthy_answers",
            "reason": f"The answers for {bl.name} cannot be trusted: {detail} (RFC 5782 section 5). The resolver is not passing the list's real answers through; use a resolver of your own",
        }
    if main[0] == "clean":
        return row | {"status": "clean"}
    meanings = [bl.codes.get(code, f"listed (answer {code})") for code in main[1]]
    return row | {"status": "listed", "answers": main[1], "meaning": meanings}


async def check_blocklist(
    dns: DnsClient,
    target: str,
    lists: Sequence[str | Blocklist] | None = None,
    *,
    dqs_key: str | None = None,
) -> CheckResult:
    """Look ``target`` (IPv4, IPv6 or domain) up on ``lists`` (defaults by kind), in parallel."""
    parsed: IPAddress | str
    try:
        parsed = ipaddress.ip_address(target.strip().strip("[]"))
        kind = "ip"
    except ValueError:
        parsed = normalise_domain(target)
        kind = "domain"
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    chosen = [
        b if isinstance(b, Blocklist) else blocklist_for(b, kind)
        for b in (lists or (DEFAULT_IP_LISTS if kind == "ip" else DEFAULT_DOMAIN_LISTS))
    ]
    ipv6 = isinstance(parsed, ipaddress.IPv6Address)
    usable = [b for b in chosen if b.kind == kind and (b.ipv6 or not ipv6)]
    skipped = [b.name for b in chosen if b not in usable]
    redact = _Redactor(dqs_key)
    async with dns.deadline():
        rows = await asyncio.gather(*(_one(dns, b, parsed, dqs_key, redact) for b in usable))
    findings: list[Finding] = []
    for row in rows:
        if row["status"] == "listed":
            findings.append(
                Finding(
                    _E,
                    "blocklist.listed",
                    f"{parsed} is listed on {row['list']}: {'; '.join(row['meaning'])}. Delisting: {row['delist']}",
                )
            )
        elif row["status"] == "unknown":
            findings.append(Finding(_U, row["code"], redact(row["reason"])))
    listed = [r["list"] for r in rows if r["status"] == "listed"]
    unknown = [r["list"] for r in rows if r["status"] == "unknown"]
    if not listed and not unknown:
        findings.append(
            Finding(
                _I,
                "blocklist.clean",
                f"{parsed} is not listed on any of the {len(rows)} lists checked",
            )
        )
    if listed:
        summary = (
            f"{parsed} is listed on {len(listed)} of {len(rows)} blocklists: {', '.join(listed)}."
        )
    elif len(unknown) == len(rows):
        summary = f"Could not check {parsed} reliably on any of the {len(rows)} blocklists: {', '.join(unknown)}."
    elif unknown:
        summary = f"{parsed} is not listed on {len(rows) - len(unknown)} lists, but {len(unknown)} could not be checked reliably: {', '.join(unknown)}."
    else:
        summary = f"{parsed} is not listed on any of the {len(rows)} blocklists checked."
    details = {
        "kind": kind,
        "lists": rows,
        "listed": listed,
        "unknown": unknown,
        "skipped": skipped,
        "dqs": bool(dqs_key),
    }
    return CheckResult(
        "blocklist", str(parsed), overall_status(findings), summary, tuple(findings), details
    )
