"""Run a :class:`~handlers.checks.plan.CheckPlan`: concurrently, in order, failures contained.

The only place that awaits the checks. The rules are in :mod:`handlers.checks.plan`'s docstring:
a skipped step is an ``unknown`` result with its reason; a malformed target from a bounce is
skipped, from a person refuses the plan (InvalidTarget); any other exception is a bug, turned
into an ``unknown`` result naming the check and the error class and logged with its frames.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from handlers.checks.dkim import check_dkim
from handlers.checks.dmarc import check_dmarc
from handlers.checks.dnsbl import check_blocklist
from handlers.checks.mx import check_mx
from handlers.checks.plan import CheckPlan, Step
from handlers.checks.rdns import check_rdns
from handlers.checks.resolver import DnsClient
from handlers.checks.result import CheckResult, Finding, InvalidTarget, Severity, Status
from handlers.checks.spf import check_spf
from handlers.failures import innermost, log_failure

__all__ = ["contained", "crashed", "run_plan"]

log = logging.getLogger(__name__)


async def run_plan(
    dns: DnsClient, plan: CheckPlan, *, dqs_key: str | None = None
) -> list[CheckResult]:
    """Run ``plan`` concurrently; one result per step, in the plan's order.

    Raises InvalidTarget only for a plan ``from_person`` (see the module's rules).
    """
    if not plan.steps:
        return []
    outcomes = await asyncio.gather(
        *(_run_step(dns, step, dqs_key) for step in plan.steps), return_exceptions=True
    )
    results: list[CheckResult] = []
    for step, outcome in zip(plan.steps, outcomes, strict=True):
        if isinstance(outcome, InvalidTarget):
            if plan.from_person:
                raise outcome
            outcome = _skipped(step, f"the bounce gave no usable target: {outcome}")
        elif isinstance(outcome, BaseException):
            raise outcome  # cancelled: contained() lets nothing else through
        results.append(outcome)
    return results


async def _run_step(dns: DnsClient, step: Step, dqs_key: str | None) -> CheckResult:
    if step.skip is not None:
        return _skipped(step, step.skip)
    return await contained(step.result_name, step.target, _start(dns, step, dqs_key))


def _start(dns: DnsClient, step: Step, dqs_key: str | None) -> Awaitable[CheckResult]:
    if step.check == "spf":
        return check_spf(dns, step.target, ip=step.ip, sender=step.sender, helo=step.helo)
    if step.check == "dmarc":
        return check_dmarc(
            dns, step.target, spf_domain=step.spf_domain, dkim_domains=step.dkim_domains
        )
    if step.check == "dkim":
        return check_dkim(dns, step.target, step.selectors, common=step.common_selectors)
    if step.check == "mx":
        return check_mx(dns, step.target)
    if step.check == "rdns":
        return check_rdns(dns, step.target)
    return check_blocklist(dns, step.target, step.lists, dqs_key=dqs_key)


async def contained(check: str, target: str, run: Awaitable[CheckResult]) -> CheckResult:
    """Await one check; a bug inside it becomes an ``unknown`` result, logged with its traceback.

    InvalidTarget (the caller's input) and cancellation pass through unchanged.
    """
    try:
        return await run
    except InvalidTarget:
        raise
    except Exception as error:
        log_failure(log, f"the {check} check", error)
        return crashed(check, target, error)


def crashed(check: str, target: str, error: BaseException) -> CheckResult:
    """The ``unknown`` result of a check that failed inside ndrbot (``details.error``)."""
    kind = type(innermost(error)).__name__
    message = (
        "This is a bug in ndrbot, not an answer from DNS, and it was logged. "
        "Run the check again, or by hand"
    )
    finding = Finding(Severity.UNKNOWN, f"{check}.internal_error", message)
    return CheckResult(
        check,
        target,
        Status.UNKNOWN,
        f"Could not check: the {check} check failed inside ndrbot ({kind}).",
        (finding,),
        {"error": kind},
    )


def _skipped(step: Step, reason: str) -> CheckResult:
    name = step.result_name
    finding = Finding(Severity.UNKNOWN, f"{name}.not_run", reason)
    return CheckResult(
        name,
        step.target,
        Status.UNKNOWN,
        f"Not checked: {reason}",
        (finding,),
        {"skipped": True, "reason": reason},
    )
