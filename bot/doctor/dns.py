"""The resolvers: do they answer, do they tell the truth both ways, and do the blocklists answer
their RFC 5782 test points through them (Spamhaus's refusal codes explained)."""

from __future__ import annotations

import secrets

from bot.doctor import Finding, Verdict
from handlers.checks import CheckPlan, DnsClient, DnsUnavailable, Step, run_plan

__all__ = ["check_dns"]

_RESOLVER_FIX = (
    "set NDRBOT_NAMESERVERS to a resolver of your own that answers truthfully (not a public one: "
    "Spamhaus refuses those)"
)


async def check_dns(
    dns: DnsClient, probe: str, *, blocklists: bool = True, dqs_key: str | None = None
) -> list[Finding]:
    """The resolver checks, in order; the blocklists (unless ``blocklists`` is false, and asked
    as checks ask them: through the Spamhaus DQS zone when ``dqs_key`` is set) only when the
    resolver can be trusted."""
    where = ", ".join(dns.servers) or "the system resolver"
    out: list[Finding] = []
    try:
        exists = await dns.query(probe, "A")
    except DnsUnavailable as error:
        return [
            Finding(
                "dns",
                "resolver answers",
                Verdict.FAIL,
                f"{where} gave no answer for {probe}: {error.reason}",
                _RESOLVER_FIX,
            )
        ]
    out.append(Finding("dns", "resolver answers", Verdict.PASS, f"{where} answers"))
    if exists.void:
        out.append(
            Finding(
                "dns",
                "a name that exists resolves",
                Verdict.FAIL,
                f"{where} says {probe} does not exist: it lies, so every 'no record' answer is "
                "shown as unknown",
                _RESOLVER_FIX,
            )
        )
    else:
        out.append(Finding("dns", "a name that exists resolves", Verdict.PASS, f"{probe} resolves"))
    invented = f"ndrbot-doctor-{secrets.token_hex(6)}.invalid"
    try:
        missing = await dns.query(invented, "A")
    except DnsUnavailable as error:
        out.append(
            Finding(
                "dns",
                "a name that cannot exist is NXDOMAIN",
                Verdict.WARN,
                f"no answer for {invented}: {error.reason}",
                _RESOLVER_FIX,
            )
        )
    else:
        if missing.void:
            out.append(
                Finding("dns", "a name that cannot exist is NXDOMAIN", Verdict.PASS, "it is")
            )
        else:
            out.append(
                Finding(
                    "dns",
                    "a name that cannot exist is NXDOMAIN",
                    Verdict.FAIL,
                    f"{where} gave an address for {invented} (RFC 6761 .invalid): it rewrites "
                    "answers, so blocklist and record checks cannot be trusted",
                    _RESOLVER_FIX,
                )
            )
    if not blocklists:
        return out
    if any(f.verdict is Verdict.FAIL for f in out):
        out.append(Finding("dns", "blocklists", Verdict.SKIPPED, "not asked: the resolver lies"))
        return out
    return out + await _blocklists(dns, dqs_key)


async def _blocklists(dns: DnsClient, dqs_key: str | None) -> list[Finding]:
    plan = CheckPlan((Step("dnsbl", "192.0.2.1"),))  # TEST-NET-1: only the test points matter
    (result,) = await run_plan(dns, plan, dqs_key=dqs_key)
    out = []
    for row in result.details.get("lists", ()):
        name = str(row.get("list"))
        if row.get("status") == "unknown":
            out.append(
                Finding(
                    "dns",
                    f"blocklist {name}",
                    Verdict.FAIL,
                    str(row.get("reason") or "its answers cannot be trusted"),
                    _RESOLVER_FIX
                    if "spamhaus" not in name.lower()
                    else (
                        "use a resolver of your own, or set NDRBOT_SPAMHAUS_DQS_KEY to a (free) "
                        "Spamhaus Data Query Service key"
                    ),
                )
            )
        else:
            out.append(
                Finding(
                    "dns",
                    f"blocklist {name}",
                    Verdict.PASS,
                    "its test points answer as they should",
                )
            )
    return out
