"""DNS and blocklist checks: SPF, DMARC, DKIM, MX, reverse DNS and DNSBLs.

Build one :class:`DnsClient` at the edge; say what to check as a :class:`CheckPlan`
(:mod:`handlers.checks.plan`) and run it with :func:`run_plan` (:mod:`handlers.checks.run`),
which contains failures. Every check returns a :class:`CheckResult` (a DNS timeout or SERVFAIL
is ``unknown``, never "missing" or "clean"), and a malformed domain or IP raises
:class:`InvalidTarget` before any query is sent.
"""

from __future__ import annotations

from handlers.checks.dkim import check_dkim
from handlers.checks.dmarc import check_dmarc
from handlers.checks.dnsbl import check_blocklist
from handlers.checks.mx import check_mx
from handlers.checks.plan import (
    KNOWN_CHECKS,
    CheckPlan,
    CheckTargets,
    Step,
    plan_for_bounce,
    plan_for_domain,
    plan_for_ip,
    single,
)
from handlers.checks.rdns import check_rdns
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, InvalidTarget, Severity, Status
from handlers.checks.run import contained, run_plan
from handlers.checks.spf import check_spf

__all__ = [
    "KNOWN_CHECKS",
    "CheckPlan",
    "CheckResult",
    "CheckTargets",
    "DnsAnswer",
    "DnsClient",
    "DnsUnavailable",
    "Finding",
    "InvalidTarget",
    "Severity",
    "Status",
    "Step",
    "check_blocklist",
    "check_dkim",
    "check_dmarc",
    "check_mx",
    "check_rdns",
    "check_spf",
    "contained",
    "plan_for_bounce",
    "plan_for_domain",
    "plan_for_ip",
    "run_plan",
    "single",
]
