"""``check_spf``: a domain's SPF record judged as a whole, and optionally for one client IP."""

from __future__ import annotations

import asyncio
from typing import Any

from handlers.checks.names import normalise_domain, parse_ip
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, Severity, Status, overall_status
from handlers.checks.spf_eval import (
    MAX_LOOKUPS,
    MAX_VOID_LOOKUPS,
    SpfEvaluation,
    SpfResult,
    check_host,
)
from handlers.checks.spf_flatten import M365_INCLUDE, propose_flattening
from handlers.checks.spf_tree import SpfNode, walk_spf

__all__ = ["check_spf"]

_I, _W, _E, _U = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.UNKNOWN
_RESULT_SEVERITY = {
    "pass": _I,
    "fail": _E,
    "softfail": _W,
    "neutral": _W,
    "none": _E,
    "permerror": _E,
    "temperror": _U,
}
_M365_MX = ".mail.protection.outlook.com"


def _node_findings(root: SpfNode) -> list[Finding]:
    out: list[Finding] = []
    for node in root.walk():
        where = "" if node is root else f" ({node.via}, reached from {root.domain})"
        kind = node.error_kind
        if kind == "dns" and node.dns_failure is not None:
            out.append(
                Finding(
                    _U,
                    "spf.dns_unavailable",
                    f"DNS did not answer: {node.dns_failure}; the SPF record{where} could not be read, so nothing can be said about it",
                )
            )
        elif kind == "missing" and node is root:
            out.append(
                Finding(
                    _E,
                    "spf.missing",
                    f"{root.domain} publishes no SPF record, so receivers get SPF 'none'. Publish one TXT record such as 'v=spf1 include:<your mail provider> -all'",
                )
            )
        elif kind == "missing":
            out.append(
                Finding(
                    _E,
                    "spf.include_missing",
                    f"{node.domain} has no SPF record{where}: receivers return permerror for the whole record (RFC 7208 section 5.2). Remove or correct that term",
                )
            )
        elif kind == "multiple":
            out.append(
                Finding(
                    _E,
                    "spf.multiple_records",
                    f"{node.domain} publishes {len(node.records)} SPF records{where}; receivers return permerror (RFC 7208 section 4.5). Merge them into one: {' | '.join(node.records)}",
                )
            )
        elif kind == "syntax":
            hint = ""
            if len(node.strings) > 1:
                hint = f" The record is published as {len(node.strings)} strings, which DNS joins with no space (RFC 7208 section 3.3): check each boundary ends or starts with a space"
            out.append(
                Finding(
                    _E,
                    "spf.syntax_error",
                    f"The SPF record of {node.domain}{where} has a {node.error}; receivers return permerror.{hint}",
                )
            )
        elif kind == "loop":
            out.append(
                Finding(
                    _E,
                    "spf.include_loop",
                    f"{node.error}; receivers run out of lookups and return permerror",
                )
            )
        elif kind == "macro":
            out.append(
                Finding(
                    _I,
                    "spf.macro_target",
                    f"'{node.via}' uses macros: its cost depends on the sender and IP, and is counted here as one lookup",
                )
            )
        if node.parsed is not None and any(m.kind == "ptr" for m in node.parsed.mechanisms):
            out.append(
                Finding(
                    _W,
                    "spf.ptr",
                    f"The record of {node.domain} uses 'ptr', which is slow, unreliable and SHOULD NOT be used (RFC 7208 section 5.5); list the addresses with ip4:/ip6: instead",
                )
            )
    return out


def _record_findings(root: SpfNode) -> list[Finding]:
    out: list[Finding] = []
    record = root.parsed
    if record is None:
        return out
    alls = [m for m in record.mechanisms if m.kind == "all"]
    if any(m.qualifier == "+" for m in alls):
        out.append(
            Finding(
                _E,
                "spf.plus_all",
                "The record ends in '+all', which authorises every server on the Internet to send as this domain; use '-all' or '~all'",
            )
        )
    elif any(m.qualifier == "?" for m in alls):
        out.append(
            Finding(
                _W,
                "spf.neutral_all",
                "The record ends in '?all' (neutral): servers not listed are neither authorised nor refused, so SPF protects nothing; use '~all' or '-all'",
            )
        )
    elif not alls and record.redirect is None:
        out.append(
            Finding(
                _W,
                "spf.no_all",
                "The record has no 'all' and no 'redirect=': unlisted servers get 'neutral'; end it with '-all' or '~all'",
            )
        )
    if root.answer_size > 512:
        out.append(
            Finding(
                _W,
                "spf.too_long_for_udp",
                f"The TXT answer for {root.domain} is {root.answer_size} octets, over the 512 that fit a plain UDP answer (RFC 7208 section 3.4): some receivers will not retry over TCP and see temperror. Shorten the record or move terms into an include",
            )
        )
    if len(root.strings) > 1:
        out.append(
            Finding(
                _I,
                "spf.split_strings",
                f"The record is published as {len(root.strings)} strings of {', '.join(str(len(s)) for s in root.strings)} characters, joined with no separator (RFC 7208 section 3.3)",
            )
        )
    if any(len(s) == 255 for s in root.strings):
        out.append(
            Finding(
                _W,
                "spf.string_at_limit",
                "One string of the record is exactly 255 characters, the most a TXT string can hold: check the DNS host did not cut the record short (split long records into several strings)",
            )
        )
    return out


def _lookup_findings(root: SpfNode) -> list[Finding]:
    total = root.total_lookups
    costs = ", ".join(f"{c.via} costs {c.cost}" for c in root.children if c.via)
    out: list[Finding] = []
    if total > MAX_LOOKUPS:
        out.append(
            Finding(
                _E,
                "spf.too_many_lookups",
                f"The record needs {total} DNS lookups; receivers stop at {MAX_LOOKUPS} and return permerror (RFC 7208 section 4.6.4). {costs}",
            )
        )
    elif total >= MAX_LOOKUPS - 1:
        out.append(
            Finding(
                _W,
                "spf.lookups_near_limit",
                f"The record needs {total} of the {MAX_LOOKUPS} DNS lookups allowed; one more include will break it. {costs}",
            )
        )
    void = sum(1 for n in root.walk() if n.void)
    if void > MAX_VOID_LOOKUPS:
        out.append(
            Finding(
                _E,
                "spf.too_many_void_lookups",
                f"{void} includes point at names that do not exist; more than {MAX_VOID_LOOKUPS} such void lookups is a permerror (RFC 7208 section 4.6.4)",
            )
        )
    return out


def _m365_findings(
    root: SpfNode, mx: DnsAnswer | BaseException | None, m365: bool | None
) -> tuple[list[Finding], bool | None]:
    if m365 is None and isinstance(mx, DnsAnswer):
        m365 = any(host.endswith(_M365_MX) for _p, host in mx.mx)
    has = any(n.domain == M365_INCLUDE for n in root.walk())
    if m365 and not has and root.parsed is not None:
        return [
            Finding(
                _W,
                "spf.m365_include_missing",
                f"Microsoft 365 sends mail for {root.domain} but the record does not include {M365_INCLUDE}: add 'include:{M365_INCLUDE}' before the 'all'",
            )
        ], m365
    if has:
        return [
            Finding(_I, "spf.m365_include", f"The record includes Microsoft 365 ({M365_INCLUDE})")
        ], m365
    return [], m365


def _evaluation_finding(ev: SpfEvaluation, ip: str, domain: str) -> Finding:
    text = f"check_host({ip}, {domain}) = {ev.result}: {ev.reason}"
    if ev.explanation:
        text += f". Explanation: {ev.explanation}"
    return Finding(_RESULT_SEVERITY[str(ev.result)], f"spf.result.{ev.result}", text)


async def check_spf(
    dns: DnsClient,
    domain: str,
    *,
    ip: str | None = None,
    sender: str | None = None,
    helo: str | None = None,
    microsoft365: bool | None = None,
) -> CheckResult:
    """Judge ``domain``'s SPF record; with ``ip``, also run RFC 7208 check_host() for it.

    ``microsoft365``: whether Microsoft 365 sends for the domain (None: guess from its MX).
    """
    domain = normalise_domain(domain)
    address = parse_ip(ip) if ip else None
    mail_from = sender or f"postmaster@{domain}"
    async with dns.deadline():
        # The tree, the MX (to recognise Microsoft 365) and check_host() run side by side.
        async with asyncio.TaskGroup() as group:
            walk = group.create_task(walk_spf(dns, domain))
            mx = group.create_task(_mx(dns, domain)) if microsoft365 is None else None
            evaluation = (
                group.create_task(
                    check_host(dns, address, domain, mail_from, helo=helo or "unknown")
                )
                if address is not None
                else None
            )
        root = walk.result()
        mx_answer = mx.result() if mx else None
        ev = evaluation.result() if evaluation else None
        flattening = await propose_flattening(dns, root)
    findings = _node_findings(root) + _lookup_findings(root) + _record_findings(root)
    m365_findings, m365 = _m365_findings(root, mx_answer, microsoft365)
    findings += m365_findings
    details: dict[str, Any] = {
        "record": root.record,
        "strings": list(root.strings),
        "lookups": root.total_lookups,
        "lookup_limit": MAX_LOOKUPS,
        "void_lookups": sum(1 for n in root.walk() if n.void),
        "answer_size": root.answer_size,
        "microsoft365": m365,
        "tree": root.to_json(),
    }
    if flattening is not None:
        details["flattening"] = flattening.to_json()
    if ev is not None and address is not None:
        findings.insert(0, _evaluation_finding(ev, str(address), domain))
        details.update(
            result=str(ev.result),
            reason=ev.reason,
            explanation=ev.explanation,
            record_lookups=root.total_lookups,
            lookups=ev.lookups,
            void_lookups=ev.void_lookups,
            evaluation_tree=ev.tree,
            ip=str(address),
            sender=mail_from,
        )
    status = overall_status(findings)
    return CheckResult(
        "spf",
        domain,
        status,
        _summary(domain, status, root, ev, str(address)),
        tuple(findings),
        details,
    )


async def _mx(dns: DnsClient, domain: str) -> DnsAnswer | None:
    try:
        return await dns.query(domain, "MX")
    except DnsUnavailable:
        return None


def _summary(domain: str, status: Status, root: SpfNode, ev: SpfEvaluation | None, ip: str) -> str:
    if ev is not None:
        text = f"SPF gives {ev.result} for {ip} sending as {domain}: {ev.reason}."
        if root.total_lookups > MAX_LOOKUPS and ev.result is not SpfResult.PERMERROR:
            text += f" But the record needs {root.total_lookups} DNS lookups (limit {MAX_LOOKUPS}): senders matched later get permerror."
        elif status is Status.FAIL and _RESULT_SEVERITY[str(ev.result)] is not _E:
            text += " The record itself has problems (see the findings)."
        return text
    if root.error_kind == "dns":
        return f"The SPF record of {domain} could not be read: {root.error}."
    if root.error_kind == "missing":
        return f"{domain} has no SPF record."
    if root.error_kind is not None:
        return f"The SPF record of {domain} is broken: {root.error}."
    plural = "" if root.total_lookups == 1 else "s"
    lookups = f"{root.total_lookups} DNS lookup{plural}; the limit is {MAX_LOOKUPS}"
    if status is Status.PASS:
        return f"The SPF record of {domain} is valid ({lookups})."
    if status is Status.UNKNOWN:
        return f"The SPF record of {domain} could only be partly checked: DNS did not answer for part of it ({lookups} counted)."
    return f"The SPF record of {domain} has problems ({lookups})."
