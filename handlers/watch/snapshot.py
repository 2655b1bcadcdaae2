"""From check results to watch facts: a small, stable set of values worth comparing run to run.

A :class:`CheckResult` carries sentences, counts and trees that change for reasons nobody needs
to hear about (a TTL, an include's cost moving from 3 to 4). A watch compares *facts* instead:
``blocklist.Spamhaus ZEN = listed``, ``spf.lookup_limit = over``, ``dmarc.policy = reject``,
``dkim.selector1 = present``, ``mx = 10 mx1.contoso.com``. Each fact key has a :class:`Rule`
saying which changes are regressions. A fact DNS could not establish goes into
``Snapshot.unknown`` with the reason, never into ``facts``: a timeout is not a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from handlers.checks.result import CheckResult

__all__ = ["Rule", "Snapshot", "is_regression", "rule_for", "snapshot"]

# RFC 7208 section 4.6: each of these makes every receiver return permerror for the record.
_PERMERROR_CODES = (
    "spf.multiple_records",
    "spf.syntax_error",
    "spf.include_missing",
    "spf.include_loop",
    "spf.too_many_void_lookups",
)
_POLICY_RANK = {"none": 0, "quarantine": 1, "reject": 2}  # RFC 7489 section 6.3, weakest first
_BAD_VALUES = {
    "spf.record": {"missing"},
    "spf.lookup_limit": {"over"},
    "dmarc.record": {"missing", "multiple"},
    "rdns": {"missing", "not_confirmed"},
}


class Rule(StrEnum):
    """Which change of a fact's value is a regression (worth an alert)."""

    PROBLEM = "problem"  # some values are problems in themselves (listed, missing, permerror)
    WEAKER = "weaker"  # ordered values: moving down the order is a regression
    GONE = "gone"  # "present" becoming anything else is a regression
    CHANGED = "changed"  # any change is news (the MX set)


def rule_for(key: str) -> Rule:
    """The rule of a fact key."""
    if key in ("dmarc.policy", "dmarc.pct"):
        return Rule.WEAKER
    if key.startswith("dkim."):
        return Rule.GONE
    if key == "mx":
        return Rule.CHANGED
    return Rule.PROBLEM


def _is_bad(key: str, value: str) -> bool:
    if key.startswith("blocklist."):
        return value == "listed"
    if key == "spf.permerror":
        return value != "no"
    return value in _BAD_VALUES.get(key, ())


def _rank(key: str, value: str) -> int:
    if key == "dmarc.pct":
        return int(value) if value.isdigit() else 100
    return _POLICY_RANK.get(value, 0)


def is_regression(key: str, before: str | None, after: str) -> bool:
    """True when ``before -> after`` makes things worse; ``before`` None means never seen.

    A problem value seen for the first time is a regression (a new watch on a listed IP says
    so); for the other rules the first value is only the baseline.
    """
    rule = rule_for(key)
    if rule is Rule.PROBLEM:
        return _is_bad(key, after) and (before is None or not _is_bad(key, before))
    if before is None:
        return False
    if rule is Rule.WEAKER:
        return _rank(key, after) < _rank(key, before)
    if rule is Rule.GONE:
        return before == "present" and after != "present"
    return after != before


@dataclass(frozen=True)
class Snapshot:
    """What one run of a watch established (``facts``), could not (``unknown``, with reasons),
    and the sentences behind the facts (``details``, for the alert card)."""

    facts: Mapping[str, str] = field(default_factory=dict)
    unknown: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)


class _Builder:
    def __init__(self) -> None:
        self.facts: dict[str, str] = {}
        self.unknown: dict[str, str] = {}
        self.details: dict[str, str] = {}

    def known(self, key: str, value: str, detail: str = "") -> None:
        """Record an established fact (and the sentence behind it)."""
        self.facts[key] = value
        if detail:
            self.details[key] = detail

    def cannot(self, key: str, reason: str) -> None:
        """Record that DNS could not establish ``key``, and why."""
        self.unknown[key] = reason


def _codes(result: CheckResult) -> dict[str, str]:
    """Finding code -> first message with that code."""
    out: dict[str, str] = {}
    for finding in result.findings:
        out.setdefault(finding.code, finding.message)
    return out


def _first_unknown(result: CheckResult) -> str:
    return next(
        (f.message for f in result.findings if f.code.endswith("dns_unavailable")), result.summary
    )


def _spf(b: _Builder, r: CheckResult) -> None:
    codes = _codes(r)
    dns_trouble = "spf.dns_unavailable" in codes
    if "spf.missing" in codes:
        b.known("spf.record", "missing", codes["spf.missing"])
        return  # with no record, its lookups and syntax are not facts at all
    if r.details.get("record") or "spf.multiple_records" in codes or not dns_trouble:
        b.known("spf.record", "present")
    else:
        reason = _first_unknown(r)
        for key in ("spf.record", "spf.permerror", "spf.lookup_limit"):
            b.cannot(key, reason)
        return
    broken = next((c for c in _PERMERROR_CODES if c in codes), None)
    if broken is not None:
        b.known("spf.permerror", broken.removeprefix("spf."), codes[broken])
    elif dns_trouble:  # an include that did not answer may hide a broken record
        b.cannot("spf.permerror", _first_unknown(r))
    else:
        b.known("spf.permerror", "no")
    if "spf.too_many_lookups" in codes:
        b.known("spf.lookup_limit", "over", codes["spf.too_many_lookups"])
    elif dns_trouble:  # lookups behind an unanswered include were not counted
        b.cannot("spf.lookup_limit", _first_unknown(r))
    else:
        b.known("spf.lookup_limit", "within", f"{r.details.get('lookups', '?')} DNS lookups")


def _dmarc(b: _Builder, r: CheckResult) -> None:
    codes = _codes(r)
    if "dmarc.dns_unavailable" in codes:
        for key in ("dmarc.record", "dmarc.policy", "dmarc.pct"):
            b.cannot(key, codes["dmarc.dns_unavailable"])
        return
    if "dmarc.missing" in codes:
        b.known("dmarc.record", "missing", codes["dmarc.missing"])
        return
    if "dmarc.multiple_records" in codes:
        b.known("dmarc.record", "multiple", codes["dmarc.multiple_records"])
        return
    b.known("dmarc.record", "present", r.summary)
    details = r.details
    inherited = details.get("policy_domain") not in (None, r.target)
    # RFC 7489 section 6.3: a subdomain without its own record gets sp=, else p=.
    policy = (details.get("subdomain_policy") if inherited else None) or details.get("policy")
    b.known("dmarc.policy", str(policy or "none"), r.summary)
    b.known("dmarc.pct", str(details.get("pct", 100)))


def _dkim(b: _Builder, r: CheckResult) -> None:
    rows: Iterable[Mapping[str, Any]] = r.details.get("selectors", ())
    for row in rows:
        key = f"dkim.{row.get('selector')}"
        status = str(row.get("status", "unknown"))
        if status == "unknown":
            b.cannot(key, f"DNS did not answer for {row.get('selector')}: {row.get('error', '')}")
        else:
            b.known(key, "present" if status == "found" else status)


def _mx(b: _Builder, r: CheckResult) -> None:
    if "mx" not in r.details:  # the MX question itself went unanswered
        b.cannot("mx", _first_unknown(r))
        return
    if r.details.get("null_mx"):
        b.known("mx", "null MX (accepts no mail)", r.summary)
        return
    rows = sorted((int(x["preference"]), str(x["host"])) for x in r.details["mx"])
    b.known("mx", ", ".join(f"{p} {h}" for p, h in rows) or "none", r.summary)


def _blocklist(b: _Builder, r: CheckResult) -> None:
    listed = {f.message for f in r.findings if f.code == "blocklist.listed"}
    for row in r.details.get("lists", ()):
        key = f"blocklist.{row['list']}"
        if row["status"] == "unknown":
            b.cannot(key, str(row.get("reason", "no answer")))
        else:
            detail = next((m for m in listed if f" listed on {row['list']}:" in m), "")
            b.known(key, str(row["status"]), detail)


def _rdns(b: _Builder, r: CheckResult) -> None:
    codes = _codes(r)
    for code, value in (
        ("rdns.missing", "missing"),
        ("rdns.not_confirmed", "not_confirmed"),
        ("rdns.confirmed", "confirmed"),
    ):
        if code in codes:
            b.known("rdns", value, codes[code])
            return
    b.cannot("rdns", _first_unknown(r))


_READERS = {
    "spf": _spf,
    "dmarc": _dmarc,
    "dkim": _dkim,
    "mx": _mx,
    "blocklist": _blocklist,
    "rdns": _rdns,
}


def snapshot(results: Iterable[CheckResult]) -> Snapshot:
    """The watch facts of one run's results (checks without a reader are ignored)."""
    builder = _Builder()
    for result in results:
        reader = _READERS.get(result.check)
        if reader is not None:
            reader(builder, result)
    return Snapshot(builder.facts, builder.unknown, builder.details)
