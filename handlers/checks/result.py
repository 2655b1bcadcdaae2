"""The value every check returns: an overall status, findings for a person, and details.

Expected outcomes are data, not exceptions: an NXDOMAIN, a listing or an SPF permerror is a
``CheckResult``; a timeout or SERVFAIL is ``Status.UNKNOWN``, never "missing", "clean" or "listed".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from handlers.refusals import Refusal

__all__ = ["CheckResult", "Finding", "InvalidTarget", "Severity", "Status", "overall_status"]


class Status(StrEnum):
    """Overall verdict of one check."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"  # the check could not decide (timeout, SERVFAIL, lying resolver, ...)


class Severity(StrEnum):
    """How much one finding matters."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    UNKNOWN = "unknown"  # a question DNS could not answer


class InvalidTarget(Refusal):
    """A domain name or IP address given to a check is malformed; no query was sent."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check noticed, with a stable ``code`` (e.g. ``spf.too_many_lookups``)."""

    severity: Severity
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The ``{"severity", "code", "message"}`` object of the JSON output."""
        return {"severity": str(self.severity), "code": self.code, "message": self.message}


def _frozen(details: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(details))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check of one target found. ``details`` must be JSON-serialisable."""

    check: str  # "spf" | "dmarc" | "dkim" | "mx" | "rdns" | "blocklist" | "connector"
    target: str  # the domain or IP checked
    status: Status
    summary: str  # one sentence for a person
    findings: tuple[Finding, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A read-only view, so a frozen result cannot be changed through its details either.
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "details", _frozen(self.details))

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON object: check, target, status, summary, findings, details."""
        return {
            "check": self.check,
            "target": self.target,
            "status": str(self.status),
            "summary": self.summary,
            "findings": [f.to_json() for f in self.findings],
            "details": _plain(self.details),
        }


def _plain(value: Any) -> Any:
    """Copy ``value`` into plain dicts and lists so ``json.dumps`` accepts it."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, StrEnum):
        return str(value)
    return value


def overall_status(findings: tuple[Finding, ...] | list[Finding]) -> Status:
    """Worst finding wins: an error is FAIL; else anything unknown is UNKNOWN; else WARN/PASS."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return Status.FAIL
    if Severity.UNKNOWN in severities:
        return Status.UNKNOWN
    if Severity.WARNING in severities:
        return Status.WARN
    return Status.PASS
