"""DNS and blocklist checks: SPF, DMARC, DKIM, MX, reverse DNS and DNSBLs.

Build one :class:`DnsClient` at the edge; say what to check as a :class:`CheckPlan`
(:mod:`handlers.checks.plan`) and run it with :func:`run_plan` (:mod:`handlers.checks.run`),
which contains failures. Every check returns a :class:`CheckResult` (a DNS timeout or SERVFAIL
is ``unknown``, never "missing" or "clean"), and a malformed domain or IP raises
:class:`InvalidTarget` before any query is sent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are loaded on first use (PEP 562), so reading a bounce without running checks (``ndrbot
# diagnose --no-checks``, the plan a diagnosis carries) does not load dnspython.
_WHERE = {
    "KNOWN_CHECKS": "plan",
    "CheckPlan": "plan",
    "CheckTargets": "plan",
    "Step": "plan",
    "plan_for_bounce": "plan",
    "plan_for_domain": "plan",
    "plan_for_ip": "plan",
    "single": "plan",
    "CheckResult": "result",
    "Finding": "result",
    "InvalidTarget": "result",
    "Severity": "result",
    "Status": "result",
    "DnsAnswer": "resolver",
    "DnsClient": "resolver",
    "DnsUnavailable": "resolver",
    "contained": "run",
    "run_plan": "run",
    "check_blocklist": "dnsbl",
    "check_dkim": "dkim",
    "check_dmarc": "dmarc",
    "check_mx": "mx",
    "check_rdns": "rdns",
    "check_spf": "spf",
}
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

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'handlers.checks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"handlers.checks.{module}"), name)
    globals()[name] = value
    return value
