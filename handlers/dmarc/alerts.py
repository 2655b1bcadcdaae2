"""What in a domain's DMARC reports is worth an alert in the IT channel, and its card. Pure.

- **A new sending source with real volume**: an IP first reported after the domain's reports had
  been coming in for a while (so the first import of a mailbox is not a storm), with at least
  ``min_messages`` in the last week. Whatever its bucket: a new service set up right is news too.
- **The aligned share dropping**: the last week's share of messages passing DMARC is more than
  ``points`` below the four weeks before it, on real volume.
- **A known sender starting to fail**: a named service that passed at ``source_floor`` or more in
  the four weeks before passes below ``failing_below`` in the last week.
- **Silence**: no report covered the domain for ``silent_days`` days (the rua mailbox or its
  feed to ndrbot broke).
- **The weekly digest**: due once per ISO week, from Monday ``digest_hour`` UTC.
- **After a policy change**: for ``watch_days`` after the reports first show a new published
  policy (``p=none`` to ``p=quarantine; t=y``, say), the share of legitimate mail (aligned and
  fixable sources) failing DMARC is compared with the ``before_days`` before the change; a rise
  of more than ``points`` on real volume is an alert, once per change, before receivers act on
  the new policy for long.

Each alert has a key that makes it happen once (a source once ever, a drop once per week).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from handlers.card import Card, Fact, Tone
from handlers.dmarc.sources import BUCKET_TITLES, Bucket, NamedSource

__all__ = [
    "AfterChange",
    "AlertRules",
    "Drop",
    "PolicyChange",
    "after_change_card",
    "digest_due",
    "drop_card",
    "failing_after_change",
    "failing_card",
    "failing_services",
    "new_source_card",
    "new_sources",
    "policy_change",
    "policy_label",
    "share_drop",
    "silent",
    "silent_card",
]


@dataclass(frozen=True)
class AlertRules:
    """The thresholds (settings)."""

    min_messages: int = 100  # a new source's messages in the last week
    settle_days: int = 7  # reports needed before a source counts as new
    recent_days: int = 7
    before_days: int = 28
    points: float = 5.0  # percentage points of aligned share
    min_volume: int = 500  # messages in the recent window for a drop to count
    source_floor: float = 0.98  # a known sender's share before ...
    failing_below: float = 0.90  # ... and after, for "started failing"
    source_volume: int = 50  # its messages in the recent window
    silent_days: int = 3
    digest_hour: int = 8
    watch_days: int = 30  # how long after a policy change its effect is watched
    change_volume: int = 200  # legitimate messages since the change before judging it


@dataclass(frozen=True)
class Drop:
    before: float
    after: float
    messages: int  # in the recent window


def _day(days_ago: int, today: date) -> str:
    return date.fromordinal(today.toordinal() - days_ago).isoformat()


def new_sources(
    named: Sequence[NamedSource], *, domain_first_day: str, today: date, rules: AlertRules
) -> list[NamedSource]:
    """Sources first seen in the last ``settle_days`` days, with real volume, once the domain's
    reports go back further than that."""
    window = _day(rules.settle_days, today)
    if not domain_first_day or domain_first_day >= window:
        return []  # too little history: everything would look new
    return [
        s
        for s in named
        if s.stats.first_day
        and s.stats.first_day > window
        and s.stats.first_day > domain_first_day
        and s.stats.messages >= rules.min_messages
    ]


def share_drop(
    per_day: Sequence[tuple[str, int, int]], *, today: date, rules: AlertRules
) -> Drop | None:
    """The drop, when the recent window's aligned share fell more than ``points`` below the
    window before it; None otherwise (or with too little mail to judge)."""
    split = _day(rules.recent_days, today)
    start = _day(rules.recent_days + rules.before_days, today)
    recent = [(n, a) for day, n, a in per_day if day > split]
    before = [(n, a) for day, n, a in per_day if start < day <= split]
    recent_n, before_n = sum(n for n, _ in recent), sum(n for n, _ in before)
    if recent_n < rules.min_volume or before_n < rules.min_volume:
        return None
    after_share = sum(a for _, a in recent) / recent_n
    before_share = sum(a for _, a in before) / before_n
    if (before_share - after_share) * 100 <= rules.points:
        return None
    return Drop(before_share, after_share, recent_n)


def new_source_card(domain: str, source: NamedSource) -> Card:
    """The alert for a new sending source."""
    stats = source.stats
    aligned = source.bucket is Bucket.ALIGNED
    return Card(
        title=f"New sender for {domain}: {source.name}",
        tone=Tone.INFO if aligned else Tone.WARNING,
        summary=(
            f"DMARC reports show a new source sending as {domain} since {stats.first_day}: "
            f"{stats.messages:,} messages in the last week, {BUCKET_TITLES[source.bucket].lower()}."
        ),
        facts=(
            Fact("Source", f"{source.name} ({stats.ip})" if source.name != stats.ip else stats.ip),
            *_host_facts(source),
            *([Fact("Network", source.network)] if source.network else []),
            Fact("Passed DMARC", f"{100 * source.share:.1f}%"),
            Fact("Reported by", ", ".join(stats.receivers[:5]) or "-"),
        ),
        notes=(source.fix,) if source.fix else (),
        footer=f"/dmarcreport {domain} shows every source.",
        meta={"card": "dmarc_new_source", "domain": domain},
    )


def _host_facts(source: NamedSource) -> list[Fact]:
    """Whose host it is; a source named by its reverse DNS name is not shown that name twice."""
    if not source.base:
        return []
    if source.name == source.ptr:
        return [Fact("Run from", source.base)]
    return [Fact("Reverse DNS", f"{source.ptr} (run from {source.base})")]


def drop_card(domain: str, drop: Drop, rules: AlertRules) -> Card:
    """The alert for a drop in the aligned share."""
    return Card(
        title=f"DMARC pass rate down for {domain}",
        tone=Tone.WARNING,
        summary=(
            f"In the last {rules.recent_days} days {100 * drop.after:.1f}% of {drop.messages:,} "
            f"messages passed DMARC, down from {100 * drop.before:.1f}% in the "
            f"{rules.before_days} days before: a sender may have lost its SPF or DKIM."
        ),
        footer=f"/dmarcreport {domain} {rules.recent_days} shows which sources fail.",
        meta={"card": "dmarc_share_drop", "domain": domain},
    )


def failing_services(
    recent: Sequence[NamedSource], before: Sequence[NamedSource], rules: AlertRules
) -> list[tuple[str, str, int, float, float]]:
    """``(service key, name, recent messages, share before, share now)`` for each known service
    that passed before and fails now (its sources summed)."""

    def sums(named: Sequence[NamedSource]) -> dict[str, tuple[str, int, int]]:
        out: dict[str, tuple[str, int, int]] = {}
        for s in named:
            if s.service is None or s.service.kind == "forwarder":
                continue
            name, n, a = out.get(s.service.key, (s.service.name, 0, 0))
            out[s.service.key] = (name, n + s.stats.messages, a + s.stats.aligned)
        return out

    now, then = sums(recent), sums(before)
    failing = []
    for key, (name, n, a) in now.items():
        if key not in then or n < rules.source_volume or not then[key][1]:
            continue
        before_share = then[key][2] / then[key][1]
        share = a / n
        if before_share >= rules.source_floor and share < rules.failing_below:
            failing.append((key, name, n, before_share, share))
    return failing


def failing_card(domain: str, name: str, messages: int, before: float, now: float) -> Card:
    """The alert for a known sender that started failing DMARC."""
    return Card(
        title=f"{name} started failing DMARC for {domain}",
        tone=Tone.ERROR,
        summary=(
            f"{name} sent {messages:,} messages as {domain} in the last week and "
            f"{100 * now:.1f}% passed DMARC, down from {100 * before:.1f}%: its DKIM key or "
            "SPF include probably changed or was removed."
        ),
        footer=f"/dmarcreport {domain} 7 shows the failing sources; /dkimcheck and /spfcheck {domain} the records.",
        meta={"card": "dmarc_sender_failing", "domain": domain},
    )


def silent(last_day: str, today: date, rules: AlertRules) -> bool:
    """True when the domain had reports but none cover the last ``silent_days`` days."""
    return bool(last_day) and last_day < _day(rules.silent_days, today)


def silent_card(domain: str, last_day: str, rules: AlertRules) -> Card:
    """The alert for a domain whose reports stopped."""
    return Card(
        title=f"No DMARC reports for {domain}",
        tone=Tone.WARNING,
        summary=(
            f"The last report covered {last_day}: nothing for {rules.silent_days} days or more. "
            "Check the DMARC record's rua= address, the mailbox it points at, and the flow that "
            "posts its reports to ndrbot."
        ),
        footer=f"/dmarccheck {domain} shows the record's reporting addresses.",
        meta={"card": "dmarc_silent", "domain": domain},
    )


def digest_due(now_weekday: int, now_hour: int, rules: AlertRules) -> bool:
    """True from Monday ``digest_hour`` UTC on (the week's key makes it once)."""
    return now_weekday > 0 or now_hour >= rules.digest_hour


@dataclass(frozen=True)
class PolicyChange:
    """The latest day the reports show a different published policy than the day before."""

    day: str
    before: str  # "p=none"
    after: str  # "p=quarantine; t=y"


@dataclass(frozen=True)
class AfterChange:
    """Legitimate mail failing DMARC before a policy change and since."""

    change: PolicyChange
    before: float  # share failing
    after: float
    messages: int  # legitimate messages since the change
    failing: tuple[NamedSource, ...]  # the legitimate sources failing since, most mail first


def policy_label(policy: Mapping[str, object]) -> str:
    """A published policy as the record says it: ``p=quarantine; t=y``."""
    label = f"p={policy.get('p') or 'none'}"
    if str(policy.get("testing") or "") == "y":
        label += "; t=y"
    pct = str(policy.get("pct") or "")
    if pct and pct != "100":
        label += f"; pct={pct}"
    return label


def _most(values: Sequence[str]) -> str:
    return max(sorted(set(values)), key=values.count) if values else ""


def policy_change(reports: Sequence[tuple[str, Mapping[str, object]]]) -> PolicyChange | None:
    """The last change in the published policy, from ``(day, policy published)`` of each report,
    or None when it never changed.

    A day's policy is the ``p`` (and ``pct``) most of its reports state, and ``t=y`` when most of
    those that state ``testing`` say ``y``; a day whose reports do not say (RFC 7489 reports
    have no such field) keeps the day before's: their silence is not ``t=n``."""
    days: dict[str, list[Mapping[str, object]]] = {}
    for day, policy in reports:
        days.setdefault(day, []).append(policy)
    labels: list[tuple[str, str]] = []
    testing = ""
    for day, policies in sorted(days.items()):
        stated = [str(p.get("testing")) for p in policies if p.get("testing") in ("y", "n")]
        testing = _most(stated) or testing
        label = policy_label(
            {
                "p": _most([str(p.get("p") or "none") for p in policies]),
                "pct": _most([str(p.get("pct") or "") for p in policies]),
                "testing": testing,
            }
        )
        labels.append((day, label))
    for (_, before), (day, after) in zip(reversed(labels[:-1]), reversed(labels[1:]), strict=True):
        if before != after:
            return PolicyChange(day, before, after)
    return None


def failing_after_change(
    before: Sequence[NamedSource],
    since: Sequence[NamedSource],
    change: PolicyChange,
    *,
    today: date,
    rules: AlertRules,
) -> AfterChange | None:
    """The rise in legitimate mail failing DMARC since ``change`` (sources legitimate before it
    or since), when it is more than ``points`` on ``change_volume`` messages or more, within
    ``watch_days`` of the change; None otherwise."""
    if change.day < _day(rules.watch_days, today):
        return None
    legit = {s.stats.ip for s in (*before, *since) if s.bucket in (Bucket.ALIGNED, Bucket.FIXABLE)}
    then = [s for s in before if s.stats.ip in legit]
    now = [s for s in since if s.stats.ip in legit]
    then_n, now_n = sum(s.stats.messages for s in then), sum(s.stats.messages for s in now)
    if now_n < rules.change_volume or not then_n:
        return None
    then_fail = 1 - sum(s.stats.aligned for s in then) / then_n
    now_fail = 1 - sum(s.stats.aligned for s in now) / now_n
    if (now_fail - then_fail) * 100 <= rules.points:
        return None
    earlier = {s.stats.ip: s.share for s in then}

    def worse(s: NamedSource) -> float:  # failing messages beyond what the source failed before
        return (earlier.get(s.stats.ip, 1.0) - s.share) * s.stats.messages

    failing = sorted((s for s in now if worse(s) > 0), key=lambda s: (-worse(s), s.stats.ip))
    return AfterChange(change, then_fail, now_fail, now_n, tuple(failing[:5]))


def after_change_card(domain: str, found: AfterChange) -> Card:
    """The alert for legitimate mail failing more since a policy change."""
    change = found.change
    acts = "quarantine or reject" if "t=y" not in change.after else "start acting on"
    return Card(
        title=f"More legitimate mail fails DMARC since {domain} moved to {change.after}",
        tone=Tone.ERROR,
        summary=(
            f"Reports show {change.after} from {change.day} on (it was {change.before}). Since "
            f"then {100 * found.after:.1f}% of {found.messages:,} messages from {domain}'s "
            f"legitimate senders failed DMARC, up from {100 * found.before:.1f}% before: "
            f"receivers {acts} that mail. Fix the senders below, or step back to "
            f"{change.before} until they pass."
        ),
        facts=tuple(
            Fact(s.name, f"{100 * s.share:.1f}% passed of {s.stats.messages:,}")
            for s in found.failing
        ),
        notes=tuple(s.fix for s in found.failing if s.fix)[:3],
        footer=f"/dmarcready {domain} shows the gates; /dmarcreport {domain} 7 every source.",
        meta={"card": "dmarc_after_change", "domain": domain},
    )
