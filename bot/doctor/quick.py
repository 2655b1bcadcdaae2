"""The doctor's fast, offline-safe checks (the resolver, the database), for start-up: ``ndrbot
serve`` logs each problem once with its fix; the console shows them in its first lines."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.doctor import Finding, Verdict
from bot.settings import DEFAULT_DNS_PROBE, Settings

__all__ = ["StartupCheck", "problems", "quick_check", "resolver_checks"]

log = logging.getLogger("ndrbot.doctor")


async def resolver_checks(
    settings: Settings, *, blocklists: bool, timeout: float, deadline: float
) -> list[Finding]:
    """The doctor's DNS checks through the configured resolvers (asked without the probe that
    checks use: the doctor asks the probe name itself, and names the resolver that lies)."""
    from bot.doctor.dns import check_dns
    from handlers.checks.resolver import DnsClient

    dns = DnsClient(settings.nameservers, timeout=timeout, deadline=deadline)
    try:
        return await check_dns(
            dns,
            settings.dns_probe or DEFAULT_DNS_PROBE,
            blocklists=blocklists,
            dqs_key=settings.spamhaus_dqs_key,
        )
    finally:
        dns.close()


async def quick_check(settings: Settings) -> list[Finding]:
    """The resolver's truthfulness and the database; a few seconds at most."""
    from bot.doctor.storage import check_storage

    timeout = min(settings.dns_timeout, 2.0)
    found = await resolver_checks(settings, blocklists=False, timeout=timeout, deadline=5.0)
    if settings.db_path != ":memory:":
        found += check_storage(settings.db_path)
    return found


def problems(findings: list[Finding]) -> list[Finding]:
    """The warnings and failures, worst first."""
    bad = [f for f in findings if f.verdict in (Verdict.FAIL, Verdict.WARN)]
    return sorted(bad, key=lambda f: f.verdict is not Verdict.FAIL)


class StartupCheck:
    """A server part: after start-up, runs :func:`quick_check` once in the background and logs
    each problem once, with its fix (start-up itself never waits for it or fails on it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def attach(self, app: web.Application) -> None:
        """No routes."""

    async def start(self) -> None:
        """Run the checks in the background."""
        self._task = asyncio.create_task(self._run(), name="ndrbot-startup-check")

    async def _run(self) -> None:
        try:
            found = await quick_check(self.settings)
        except Exception as error:  # a check that crashes must not take the server with it
            log.warning("start-up check could not run (%s)", type(error).__name__)
            return
        for finding in problems(found):
            log.warning(
                "%s: %s: %s (fix: %s; `ndrbot doctor` checks everything)",
                finding.area,
                finding.check,
                finding.found,
                finding.fix or "see ndrbot doctor",
            )

    async def stop(self) -> None:
        """Cancel the check if it is still running."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
