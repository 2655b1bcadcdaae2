"""DNS and blocklist checks: SPF, DMARC, DKIM, MX, reverse DNS and DNSBLs.

Build one :class:`DnsClient` at the edge and pass it to each check; every check returns a
:class:`CheckResult` (a DNS timeout or SERVFAIL is ``unknown``, never "missing" or "clean"), and
a malformed domain or IP raises :class:`InvalidTarget` before any query is sent.
"""

from __future__ import annotations

from handlers.checks.dkim import check_dkim
from handlers.checks.dmarc import check_dmarc
from handlers.checks.dnsbl import check_blocklist
from handlers.checks.domain import check_domain
from handlers.checks.mx import check_mx
from handlers.checks.plan import KNOWN_CHECKS, run_planned_checks
from handlers.checks.rdns import check_rdns
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import CheckResult, Finding, InvalidTarget, Severity, Status
from handlers.checks.spf import check_spf

__all__ = [
    "KNOWN_CHECKS",
    "CheckResult",
    "DnsAnswer",
    "DnsClient",
    "DnsUnavailable",
    "Finding",
    "InvalidTarget",
    "Severity",
    "Status",
    "check_blocklist",
    "check_dkim",
    "check_dmarc",
    "check_domain",
    "check_mx",
    "check_rdns",
    "check_spf",
    "run_planned_checks",
]
