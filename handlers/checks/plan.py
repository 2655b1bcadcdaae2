"""Run the checks a diagnosis calls for, concurrently, with whatever targets the bounce gave.

Vocabulary (the catalogue's): ``spf``, ``dkim``, ``dmarc``, ``dnsbl``, ``rdns``, ``mx``,
``connector``. A check whose target is missing (no sending IP in the bounce, say) or malformed
is not run, and says so: it comes back as an ``unknown`` result with ``details.skipped = true``
and the reason, so a reader sees what was not checked rather than silence. ``connector`` cannot
be checked from outside the tenant and always comes back that way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from handlers.checks.dkim import check_dkim
from handlers.checks.dmarc import check_dmarc
from handlers.checks.dnsbl import check_blocklist
from handlers.checks.mx import check_mx
from handlers.checks.rdns import check_rdns
from handlers.checks.resolver import DnsClient
from handlers.checks.result import CheckResult, Finding, InvalidTarget, Severity, Status
from handlers.checks.spf import check_spf

__all__ = ["KNOWN_CHECKS", "run_planned_checks"]

KNOWN_CHECKS = ("spf", "dkim", "dmarc", "dnsbl", "rdns", "mx", "connector")
_RESULT_NAME = {"dnsbl": "blocklist"}


def _skipped(check: str, target: str, reason: str) -> CheckResult:
    name = _RESULT_NAME.get(check, check)
    finding = Finding(Severity.UNKNOWN, f"{name}.not_run", reason)
    return CheckResult(
        name,
        target,
        Status.UNKNOWN,
        f"Not checked: {reason}",
        (finding,),
        {"skipped": True, "reason": reason},
    )


async def _guarded(check: str, target: str, run: Awaitable[CheckResult]) -> CheckResult:
    try:
        return await run
    except InvalidTarget as exc:
        return _skipped(check, target, f"the bounce gave no usable target: {exc}")


def _connector() -> CheckResult:
    reason = (
        "an Exchange Online connector can only be read inside the tenant: run "
        "Get-InboundConnector | Format-List Name,SenderDomains,SenderIPAddresses,"
        "RequireTls,TlsSenderCertificateName,RestrictDomainsToIPAddresses in Exchange Online PowerShell"
    )
    finding = Finding(Severity.UNKNOWN, "connector.needs_tenant_data", reason)
    return CheckResult(
        "connector",
        "",
        Status.UNKNOWN,
        "The connector cannot be checked from outside the tenant.",
        (finding,),
        {"skipped": True, "reason": reason},
    )


async def run_planned_checks(
    dns: DnsClient,
    *,
    checks: Sequence[str],
    sender_domain: str | None,
    sending_ip: str | None,
    from_domain: str | None = None,
    spf_domain: str | None = None,
    dkim_domains: Sequence[str] = (),
    dkim_selectors: Sequence[tuple[str, str]] = (),
    dqs_key: str | None = None,
    mx_domain: str | None = None,
    sending_ip_hidden: str | None = None,
) -> list[CheckResult]:
    """Run ``checks`` concurrently; one result per known check name, in the order given.

    ``dkim_selectors`` are ``(domain, selector)`` pairs seen in the bounce's DKIM-Signature.
    ``mx_domain`` is the domain whose MX matters (most often the recipient's); the sender's
    domain when not given. ``sending_ip_hidden`` is what the paste showed where it masked the
    sending IP: the checks that need it say so and ask for the real address.
    Unknown check names raise ValueError (a catalogue typo, not a user's problem).
    """
    unknown = [c for c in checks if c not in KNOWN_CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(KNOWN_CHECKS)}")
    author = from_domain or sender_domain
    jobs: list[Awaitable[CheckResult]] = []
    for check in dict.fromkeys(checks):
        jobs.append(
            _job(
                check,
                dns,
                author,
                sender_domain,
                sending_ip,
                spf_domain,
                dkim_domains,
                dkim_selectors,
                dqs_key,
                mx_domain,
                sending_ip_hidden,
            )
        )
    return list(await asyncio.gather(*jobs))


async def _job(
    check: str,
    dns: DnsClient,
    author: str | None,
    sender_domain: str | None,
    ip: str | None,
    spf_domain: str | None,
    dkim_domains: Sequence[str],
    dkim_selectors: Sequence[tuple[str, str]],
    dqs_key: str | None,
    mx_domain: str | None = None,
    ip_hidden: str | None = None,
) -> CheckResult:
    if check == "connector":
        return _connector()
    if check in ("dnsbl", "rdns"):
        if not ip and ip_hidden:
            return _skipped(
                check,
                "",
                f"the paste hides the sending IP (shown as {ip_hidden[:45]}); run this check "
                "with the real address",
            )
        if not ip:
            return _skipped(check, "", "the bounce does not show the sending IP")
        run = check_blocklist(dns, ip, dqs_key=dqs_key) if check == "dnsbl" else check_rdns(dns, ip)
        return await _guarded(check, ip, run)
    if check == "spf":
        domain = spf_domain or sender_domain
        if not domain:
            return _skipped(check, "", "the bounce does not show the sender's domain")
        return await _guarded(check, domain, check_spf(dns, domain, ip=ip))
    if check == "mx" and mx_domain:
        return await _guarded(check, mx_domain, check_mx(dns, mx_domain))
    if not author:
        return _skipped(check, "", "the bounce does not show the sender's domain")
    if check == "dmarc":
        return await _guarded(
            check,
            author,
            check_dmarc(dns, author, spf_domain=spf_domain, dkim_domains=dkim_domains),
        )
    if check == "mx":
        return await _guarded(check, author, check_mx(dns, author))
    selectors = [s for d, s in dkim_selectors if d.lower().rstrip(".") == author.lower()]
    return await _guarded(check, author, check_dkim(dns, author, selectors))
