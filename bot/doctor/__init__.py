"""``ndrbot doctor``: every setting read, then live checks of what ndrbot depends on, each with a
verdict (pass, warn, fail, skipped), what it found and the fix.

Each area has its module (``dns``, ``storage``, ``slack``, ``teams``, ``alerts``); they return
:class:`Finding` values and never raise for a problem they were asked to find. Secrets are never part of a finding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

__all__ = ["Finding", "Verdict", "exit_status", "render_json", "render_text"]


class Verdict(StrEnum):
    """How one doctor check came out."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    """One doctor check: its area, what it checked, the verdict, what it found, and the fix."""

    area: str  # "settings", "dns", "storage", "slack", "teams", "alerts"
    check: str
    verdict: Verdict
    found: str
    fix: str = ""


_MARK = {Verdict.PASS: "ok  ", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL", Verdict.SKIPPED: "skip"}


def render_text(findings: Sequence[Finding]) -> str:
    """One line per check (and its fix, indented), grouped by area, then a summary line."""
    lines: list[str] = []
    area = ""
    for f in findings:
        if f.area != area:
            area = f.area
            lines.append(f"\n{area}")
        lines.append(f"  [{_MARK[f.verdict]}] {f.check}: {f.found}")
        if f.fix and f.verdict in (Verdict.WARN, Verdict.FAIL):
            lines.append(f"         fix: {f.fix}")
    counts = {v: sum(1 for f in findings if f.verdict is v) for v in Verdict}
    lines.append(
        f"\n{counts[Verdict.FAIL]} failed, {counts[Verdict.WARN]} warnings, "
        f"{counts[Verdict.PASS]} passed, {counts[Verdict.SKIPPED]} skipped"
    )
    return "\n".join(lines).lstrip("\n")


def render_json(findings: Sequence[Finding]) -> str:
    """``{"ok": ..., "findings": [...]}``."""
    return json.dumps(
        {"ok": exit_status(findings) == 0, "findings": [asdict(f) for f in findings]}, indent=1
    )


def exit_status(findings: Sequence[Finding]) -> int:
    """0 when nothing failed, 1 otherwise."""
    return 1 if any(f.verdict is Verdict.FAIL for f in findings) else 0
