"""``check_domain``: every domain check at once (SPF, DMARC, DKIM, MX, domain blocklists)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from handlers.checks.dkim import check_dkim
from handlers.checks.dmarc import check_dmarc
from handlers.checks.dnsbl import check_blocklist
from handlers.checks.mx import check_mx
from handlers.checks.names import normalise_domain
from handlers.checks.resolver import DnsClient
from handlers.checks.result import CheckResult
from handlers.checks.spf import check_spf

__all__ = ["check_domain"]


async def check_domain(
    dns: DnsClient,
    domain: str,
    *,
    selectors: Sequence[str] = (),
    dqs_key: str | None = None,
    blocklists: bool = True,
) -> list[CheckResult]:
    """Run the domain checks concurrently; results in a fixed order (spf, dmarc, dkim, mx, ...)."""
    domain = normalise_domain(domain)  # refuse a bad name before any query
    checks = [
        check_spf(dns, domain),
        check_dmarc(dns, domain),
        check_dkim(dns, domain, selectors),
        check_mx(dns, domain),
    ]
    if blocklists:
        checks.append(check_blocklist(dns, domain, dqs_key=dqs_key))
    return list(await asyncio.gather(*checks))
