"""``/dmarcready``: where a domain stands on the way to DMARC enforcement, whether the next step is
safe, and the exact record for it. Pure: the live checks and the report summary come in.

The ladder follows RFC 9989: no percentage ramp (``pct`` is gone), but

1. a record with ``p=none`` and reports (``rua``);
2. ``np=reject`` early: names that do not exist send no legitimate mail;
3. ``p=quarantine; t=y``: the testing step (receivers apply one level less);
4. ``p=quarantine``;
5. ``p=reject``.

A step is proposed only when its gates hold, each shown with its evidence: enough days of
reports from the big receivers, enough messages, the aligned share of legitimate mail (aligned
and fixable sources; forwarders and unknown senders are shown apart and not counted), no
legitimate source below its own floor, no new legitimate source lately, SPF within its limits.
ndrbot never edits DNS: the record is for a person to publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.checks.dmarc_record import DmarcRecord
from handlers.checks.result import CheckResult, Status
from handlers.dmarc.sources import Bucket, DomainSummary, NamedSource

__all__ = ["Gate", "Gates", "Readiness", "assess"]

BIG_RECEIVERS = ("google", "outlook", "microsoft", "yahoo")
OBSOLETE_TAGS = {"pct": "pct (a percentage ramp)", "rf": "rf", "ri": "ri"}


@dataclass(frozen=True)
class Gates:
    """The thresholds a step must meet (settings; RFC 9989 sets none, these are cautious)."""

    min_days: int = 30
    min_messages: int = 1000
    quarantine_share: float = 0.98
    reject_share: float = 0.995
    source_share: float = 0.98
    quiet_days: int = 14
    min_source_messages: int = 10  # smaller sources are not judged one by one


@dataclass(frozen=True)
class Gate:
    """One condition for the next step, with what the reports or checks say."""

    name: str
    ok: bool | None  # None: could not be judged (a check did not run)
    evidence: str


@dataclass(frozen=True)
class Readiness:
    """The verdict: the current step, the next, its gates, the record to publish and notes."""

    domain: str
    current: str  # "no record", "p=none", "p=none; np=reject", ...
    next_step: str  # "" when at p=reject already
    gates: tuple[Gate, ...]
    record: str = ""  # the proposed record ("" when nothing to propose)
    diff: tuple[str, ...] = ()  # "p: none → quarantine"
    notes: tuple[str, ...] = ()
    forwarders: tuple[NamedSource, ...] = ()
    unknown_volume: int = 0

    @property
    def ready(self) -> bool | None:
        """True when every gate holds; None when one could not be judged."""
        if any(g.ok is False for g in self.gates):
            return False
        if any(g.ok is None for g in self.gates):
            return None
        return bool(self.next_step)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _step(record: DmarcRecord | None) -> int:
    """0 no record, 1 p=none, 2 np=reject, 3 quarantine t=y, 4 quarantine, 5 reject."""
    if record is None or record.policy is None:
        return 0
    testing = record.tags.get("t", "n").lower() == "y"
    if record.policy == "reject":
        return 4 if testing else 5  # reject in testing is applied as quarantine: one step left
    if record.policy == "quarantine":
        return 3 if testing else 4
    return 2 if record.nonexistent_policy == "reject" else 1


_NAMES = {
    0: "no DMARC record",
    1: "p=none (monitoring)",
    2: "p=none with np=reject",
    3: "p=quarantine in testing (t=y)",
    4: "p=quarantine",
    5: "p=reject",
}


_POLICIES = ("none", "quarantine", "reject")
_KEPT = {  # tags carried over from the live record, when their value is valid
    "sp": lambda v: v in _POLICIES,
    "np": lambda v: v in _POLICIES,
    "adkim": lambda v: v in ("r", "s"),
    "aspf": lambda v: v in ("r", "s"),
    "psd": lambda v: v in ("y", "n", "u"),
    "fo": lambda v: all(o in ("0", "1", "d", "s") for o in v.split(":")),
}


def _tags_for(step: int, record: DmarcRecord | None, domain: str) -> dict[str, str]:
    """The proposed record's tags: the live record's valid ones kept, the step's set."""
    tags: dict[str, str] = {"v": "DMARC1"}
    if record is not None:
        for name, value in record.tags.items():
            check = _KEPT.get(name)
            if check is not None and check(value.strip().lower()):
                tags[name] = value.strip().lower()
        if record.rua:
            tags["rua"] = ",".join(u.uri for u in record.rua)
        if record.ruf:
            tags["ruf"] = ",".join(u.uri for u in record.ruf)
    tags.setdefault("rua", f"mailto:dmarc-reports@{domain}")
    if step >= 2:
        tags["np"] = "reject"
    tags["p"] = {1: "none", 2: "none", 3: "quarantine", 4: "quarantine", 5: "reject"}[step]
    if step == 3:
        tags["t"] = "y"
    order = ["v", "p", "t", "np", "sp"]
    ordered = [k for k in order if k in tags] + [k for k in tags if k not in order]
    return {k: tags[k] for k in ordered}


def _record_text(tags: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in tags.items())


def _diff(record: DmarcRecord | None, proposed: dict[str, str]) -> tuple[str, ...]:
    old = record.tags if record else {}
    out = []
    for key in dict.fromkeys([*old, *proposed]):
        before, after = old.get(key), proposed.get(key)
        if before == after:
            continue
        out.append(f"{key}: {before or '(absent)'} → {after or '(removed)'}")
    return tuple(out)


def _legitimate(summary: DomainSummary) -> list[NamedSource]:
    return [s for s in summary.sources if s.bucket in (Bucket.ALIGNED, Bucket.FIXABLE)]


def assess(
    summary: DomainSummary,
    record: DmarcRecord | None,
    dmarc: CheckResult | None,
    spf: CheckResult | None,
    *,
    today: date,
    gates: Gates = Gates(),
) -> Readiness:
    """Where ``summary.domain`` stands and whether its next step is safe."""
    domain = summary.domain
    if dmarc is not None and dmarc.status is Status.UNKNOWN:
        return Readiness(
            domain,
            "unknown",
            "",
            (Gate("the live DMARC record", None, f"could not be read: {dmarc.summary}"),),
            notes=("Run ndrbot doctor if DNS answers look wrong.",),
        )
    step = _step(record)
    current = _NAMES[step]
    if record is not None and record.policy == "reject" and step == 4:
        current = "p=reject in testing (t=y, applied as quarantine)"
    notes: list[str] = []
    if record is not None and record.problems:
        notes.append(
            "The live record has problems, left out of the proposal: "
            + "; ".join(text for _code, text in record.problems[:3])
        )
    if record is not None:
        old = [OBSOLETE_TAGS[t] for t in record.tags if t in OBSOLETE_TAGS]
        if old:
            notes.append(
                f"Information: {', '.join(old)} no longer exist in RFC 9989; receivers ignore "
                "them. The proposed record drops them (t=y replaces pct=0 for testing)."
            )
    if domain.endswith(".onmicrosoft.com"):
        notes.append(
            "This is a Microsoft 365 initial domain: add its DMARC TXT record in the Microsoft "
            "365 admin center (Settings > Domains), where Microsoft hosts its DNS."
        )
    legit = _legitimate(summary)
    legit_volume = sum(s.stats.messages for s in legit)
    legit_aligned = sum(s.stats.aligned for s in legit)
    share = legit_aligned / legit_volume if legit_volume else 0.0
    days = len(summary.per_day)
    big = sorted(
        {org for org, _n in summary.receivers if any(b in org.lower() for b in BIG_RECEIVERS)}
    )
    gates_out: list[Gate] = []
    if 2 <= step < 5:  # np=reject (and the first record) need no reports: nothing to break
        gates_out.append(
            Gate(
                f"at least {gates.min_days} days of reports, from the big receivers",
                days >= gates.min_days and bool(big),
                f"{days} days with reports ({summary.first_day or '-'} to "
                f"{summary.last_day or '-'}); big receivers: {', '.join(big) or 'none yet'}",
            )
        )
        gates_out.append(
            Gate(
                f"at least {gates.min_messages:,} messages",
                summary.messages >= gates.min_messages,
                f"{summary.messages:,} messages in {summary.reports} reports",
            )
        )
    if step >= 3 and step < 5:  # proposing quarantine (from testing) or reject
        floor = gates.reject_share if step == 4 else gates.quarantine_share
        gates_out.append(
            Gate(
                f"legitimate mail aligned at {_pct(floor)} or more",
                bool(legit_volume) and share >= floor,
                f"{legit_aligned:,} of {legit_volume:,} messages from aligned and fixable "
                f"sources passed DMARC ({_pct(share)})",
            )
        )
        weak = [
            s
            for s in legit
            if s.stats.messages >= gates.min_source_messages and s.share < gates.source_share
        ]
        gates_out.append(
            Gate(
                f"no legitimate source below {_pct(gates.source_share)}",
                not weak,
                "; ".join(f"{s.name} at {_pct(s.share)} ({s.stats.messages:,})" for s in weak[:5])
                or "every legitimate source is above it",
            )
        )
        cutoff = date.fromordinal(today.toordinal() - gates.quiet_days).isoformat()
        new = [s for s in legit if s.stats.first_day and s.stats.first_day > cutoff]
        gates_out.append(
            Gate(
                f"no new legitimate source in {gates.quiet_days} days",
                not new,
                "; ".join(f"{s.name} since {s.stats.first_day}" for s in new[:5])
                or f"none first seen after {cutoff}",
            )
        )
    if step < 5:
        if spf is None or spf.status is Status.UNKNOWN:
            gates_out.append(Gate("SPF within its limits", None, "SPF could not be checked"))
        else:
            gates_out.append(
                Gate("SPF within its limits", spf.status is not Status.FAIL, spf.summary)
            )
    if step == 5:
        return Readiness(
            domain,
            _NAMES[5],
            "",
            tuple(gates_out),
            notes=(
                *notes,
                "At enforcement: keep reading the reports; a new sender will now be rejected.",
            ),
            forwarders=tuple(s for s in summary.sources if s.bucket is Bucket.FORWARDER),
            unknown_volume=summary.buckets.get(Bucket.UNKNOWN, 0),
        )
    target = step + 1
    if step == 0:
        notes.append(
            "Start by monitoring: p=none sends you reports without changing delivery. If the "
            "domain sends no mail at all (a parked domain), publish v=spf1 -all and "
            "v=DMARC1; p=reject now instead: there is nothing to wait for."
        )
    if target == 5:
        notes.append(
            "RFC 9989 advises against p=reject for general mailbox domains whose users post to "
            "mailing lists: lists that rewrite messages would have them rejected. p=quarantine "
            "may be the right place to stay for such a domain."
        )
    proposed = _tags_for(target, record, domain)
    return Readiness(
        domain,
        current,
        _NAMES[target],
        tuple(gates_out),
        _record_text(proposed),
        _diff(record, proposed),
        tuple(notes),
        tuple(s for s in summary.sources if s.bucket is Bucket.FORWARDER),
        summary.buckets.get(Bucket.UNKNOWN, 0),
    )
