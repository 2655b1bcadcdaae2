"""``check_dmarc``: find a domain's DMARC policy, validate it, and judge alignment.

Policy discovery and the Organizational Domain use the RFC 9989 DNS Tree Walk instead of a
Public Suffix List (no list to ship or keep fresh). The walk's queries are independent, so all
of them are sent at once and the answers read in the order the walk defines: one round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.checks.dmarc_record import DmarcRecord, ReportUri, is_dmarc_record, parse_dmarc
from handlers.checks.names import normalise_domain
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, Severity, overall_status

__all__ = ["Discovery", "check_dmarc", "discover", "organizational_domain", "walk_names"]

_I, _W, _E, _U = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.UNKNOWN


def walk_names(domain: str) -> list[str]:
    """The names the Tree Walk asks, most specific first (RFC 9989 section 4.10.1).

    The domain itself, then (past eight labels) its seven right-most labels, then one label
    fewer each time down to the top-level domain.
    """
    labels = domain.split(".")
    names = [domain]
    start = min(len(labels) - 1, 7)
    names += [".".join(labels[-k:]) for k in range(start, 0, -1)]
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Discovery:
    """What the walk found: the policy record that applies and the Organizational Domain."""

    domain: str
    policy_domain: str | None  # where the applicable record was found
    record: DmarcRecord | None
    org_domain: str
    failure: DnsUnavailable | None = None  # a name the walk needed did not answer
    multiple: tuple[str, ...] = ()  # several DMARC records at policy_domain


def _records(answer: DnsAnswer) -> list[str]:
    return [t for t in answer.txt_strings if is_dmarc_record(t)]


async def discover(dns: DnsClient, domain: str) -> Discovery:
    """Run the Tree Walk for ``domain`` (every query concurrently) and read it in order."""
    names = walk_names(domain)
    answers = await asyncio.gather(
        *(dns.query(f"_dmarc.{n}", "TXT") for n in names), return_exceptions=True
    )
    found: list[tuple[str, list[str]]] = []
    failure: DnsUnavailable | None = None
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, DnsUnavailable):
            failure = failure or answer
            continue
        if isinstance(answer, BaseException):
            raise answer
        texts = _records(answer)
        if texts:
            found.append((name, texts))
    policy_domain: str | None = None
    record: DmarcRecord | None = None
    multiple: tuple[str, ...] = ()
    if found:
        policy_domain, texts = found[0]
        if len(texts) > 1:
            multiple = tuple(texts)  # RFC 7489 section 6.6.3: more than one record is none
        else:
            record = parse_dmarc(texts[0])
    # A failure above the record found does not matter for the policy; below it, it might.
    blocking = failure
    if failure is not None and policy_domain is not None:
        failed = failure.name.removeprefix("_dmarc.")
        if len(failed.split(".")) < len(policy_domain.split(".")):
            blocking = None
    org = _org_from(domain, found)
    return Discovery(domain, policy_domain, record, org, blocking, multiple)


def _org_from(domain: str, found: list[tuple[str, list[str]]]) -> str:
    """RFC 9989 section 4.10.2: psd=n marks it, psd=y is one below, else the fewest labels."""
    best = domain
    for name, texts in found:
        if len(texts) != 1:
            continue
        record = parse_dmarc(texts[0])
        if record.psd == "n":
            return name
        if record.psd == "y":
            labels = domain.split(".")
            depth = len(name.split(".")) + 1
            return ".".join(labels[-depth:]) if depth <= len(labels) else domain
        best = name  # later entries have fewer labels
    return best


async def organizational_domain(dns: DnsClient, domain: str) -> str:
    """The Organizational Domain of ``domain`` by the Tree Walk."""
    return (await discover(dns, domain)).org_domain


async def _authorised(dns: DnsClient, policy_domain: str, uri: ReportUri) -> Finding | None:
    """RFC 7489 section 7.1: an external destination must publish ``<d>._report._dmarc.<dest>``."""
    name = f"{policy_domain}._report._dmarc.{uri.domain}"
    try:
        answer = await dns.query(name, "TXT")
    except DnsUnavailable as exc:
        return Finding(
            _U,
            "dmarc.report_authorisation_unknown",
            f"Could not check that {uri.domain} accepts reports for {policy_domain}: {exc}",
        )
    if any(is_dmarc_record(t) for t in answer.txt_strings):
        return None
    return Finding(
        _W,
        "dmarc.external_report_unauthorised",
        f"Reports go to {uri.address}, outside {policy_domain}, but {uri.domain} does not publish '{name} TXT \"v=DMARC1\"' (RFC 7489 section 7.1): receivers will not send those reports. Ask the report service to publish it",
    )


def _policy_findings(d: Discovery) -> list[Finding]:
    record = d.record
    assert record is not None
    out = [Finding(_E, code, f"_dmarc.{d.policy_domain}: {text}") for code, text in record.problems]
    for tag in record.unknown_tags:
        out.append(
            Finding(
                _W,
                "dmarc.unknown_tag",
                f"Unknown tag {tag!r} in _dmarc.{d.policy_domain}; receivers ignore it",
            )
        )
    inherited = d.policy_domain != d.domain
    applies = (record.subdomain_policy or record.policy) if inherited else record.policy
    if inherited:
        out.append(
            Finding(
                _I,
                "dmarc.inherited",
                f"{d.domain} has no record of its own; the policy of {d.policy_domain} applies (p={applies})",
            )
        )
    if applies == "none":
        out.append(
            Finding(
                _W,
                "dmarc.p_none",
                "The policy is p=none: receivers only report, and spoofed mail is still delivered. Move to p=quarantine and then p=reject once reports show your own mail passes",
            )
        )
    if record.pct < 100:
        out.append(
            Finding(
                _W,
                "dmarc.pct",
                f"pct={record.pct}: the policy applies to only {record.pct}% of failing mail",
            )
        )
    if not record.rua:
        out.append(
            Finding(
                _W,
                "dmarc.no_rua",
                f"No rua= address: nobody receives aggregate reports, so you cannot see who sends as {d.policy_domain}. Add rua=mailto:dmarc-reports@{d.policy_domain}",
            )
        )
    return out


def _aligned(a: str, b: str, mode: str, orgs: dict[str, str]) -> bool:
    if mode == "s":
        return a == b
    return orgs.get(a, a) == orgs.get(b, b)  # relaxed: same Organizational Domain


async def _alignment(
    dns: DnsClient, d: Discovery, spf_domain: str | None, dkim_domains: Sequence[str]
) -> tuple[list[Finding], dict[str, Any]]:
    record = d.record
    adkim, aspf = (record.adkim, record.aspf) if record else ("r", "r")
    others = [x for x in {spf_domain, *dkim_domains} if x and x != d.domain]
    orgs = {d.domain: d.org_domain}
    for name, org in zip(
        others, await asyncio.gather(*(organizational_domain(dns, o) for o in others)), strict=True
    ):
        orgs[name] = org
    out: list[Finding] = []
    spf_ok = bool(spf_domain) and _aligned(spf_domain or "", d.domain, aspf, orgs)
    dkim_ok = [x for x in dkim_domains if _aligned(x, d.domain, adkim, orgs)]
    if spf_domain:
        mode = "strict" if aspf == "s" else "relaxed"
        out.append(
            Finding(
                _I if spf_ok else _W,
                "dmarc.spf_aligned" if spf_ok else "dmarc.spf_not_aligned",
                f"SPF domain {spf_domain} {'is' if spf_ok else 'is not'} aligned with From domain {d.domain} ({mode})",
            )
        )
    for x in dkim_domains:
        ok = x in dkim_ok
        mode = "strict" if adkim == "s" else "relaxed"
        out.append(
            Finding(
                _I if ok else _W,
                "dmarc.dkim_aligned" if ok else "dmarc.dkim_not_aligned",
                f"DKIM domain d={x} {'is' if ok else 'is not'} aligned with From domain {d.domain} ({mode})",
            )
        )
    if not spf_ok and not dkim_ok:
        out.append(
            Finding(
                _E,
                "dmarc.not_aligned",
                f"Neither SPF nor DKIM is aligned with {d.domain}, so DMARC fails even where SPF or DKIM pass: sign with d={d.domain} (or a subdomain) or send with a MAIL FROM in {d.org_domain}",
            )
        )
    details = {
        "from_domain": d.domain,
        "spf_domain": spf_domain,
        "dkim_domains": list(dkim_domains),
        "spf_aligned": spf_ok,
        "dkim_aligned": dkim_ok,
        "organizational_domains": orgs,
    }
    return out, details


async def check_dmarc(
    dns: DnsClient, domain: str, *, spf_domain: str | None = None, dkim_domains: Sequence[str] = ()
) -> CheckResult:
    """Check ``domain``'s DMARC policy; with SPF/DKIM domains, judge alignment (RFC 7489 3.1)."""
    domain = normalise_domain(domain)
    spf_domain = normalise_domain(spf_domain) if spf_domain else None
    dkim = [normalise_domain(x) for x in dkim_domains]
    async with dns.deadline():
        d = await discover(dns, domain)
        findings: list[Finding] = []
        details: dict[str, Any] = {
            "policy_domain": d.policy_domain,
            "organizational_domain": d.org_domain,
            "record": d.record.text if d.record else None,
        }
        if d.failure is not None:
            findings.append(
                Finding(
                    _U,
                    "dmarc.dns_unavailable",
                    f"DNS did not answer: {d.failure}. Whether {domain} has a DMARC policy is unknown",
                )
            )
        elif d.multiple:
            findings.append(
                Finding(
                    _E,
                    "dmarc.multiple_records",
                    f"_dmarc.{d.policy_domain} has {len(d.multiple)} DMARC records, so receivers apply none (RFC 7489 section 6.6.3). Keep one",
                )
            )
        elif d.record is None:
            findings.append(
                Finding(
                    _E,
                    "dmarc.missing",
                    f'No DMARC record for {domain} or its parents: receivers apply no policy and send you no reports. Publish _dmarc.{d.org_domain} TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@{d.org_domain}" and tighten it later',
                )
            )
        else:
            findings += _policy_findings(d)
            policy_org = d.policy_domain or domain
            external = [
                u
                for u in (*d.record.rua, *d.record.ruf)
                if not (u.domain == d.org_domain or u.domain.endswith("." + d.org_domain))
            ]
            checks = await asyncio.gather(*(_authorised(dns, policy_org, u) for u in external))
            findings += [f for f in checks if f is not None]
            details.update(
                policy=d.record.policy,
                subdomain_policy=d.record.subdomain_policy,
                adkim=d.record.adkim,
                aspf=d.record.aspf,
                pct=d.record.pct,
                rua=[u.uri for u in d.record.rua],
                ruf=[u.uri for u in d.record.ruf],
                tags=d.record.tags,
            )
        if spf_domain or dkim:
            aligned, alignment = await _alignment(dns, d, spf_domain, dkim)
            findings += aligned
            details["alignment"] = alignment
    status = overall_status(findings)
    if d.failure is not None:
        summary = f"Could not tell whether {domain} has a DMARC policy: {d.failure}."
    elif d.record is None:
        summary = f"{domain} has no usable DMARC policy."
    else:
        summary = (
            f"DMARC policy for {domain} (from {d.policy_domain}): p={d.record.policy}"
            + (f", sp={d.record.subdomain_policy}" if d.record.subdomain_policy else "")
            + "."
        )
    return CheckResult("dmarc", domain, status, summary, tuple(findings), details)
