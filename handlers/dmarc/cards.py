"""The ``/dmarcreport`` card: who sends as the domain and whether it authenticates, in the words a
mail administrator uses. Pure: a :class:`DomainSummary` in, a :class:`Card` out.

Source names come from reverse DNS and reports, which anyone can write: they are shown as plain
facts and quoted text, never as links or mentions (the renderers escape them).
"""

from __future__ import annotations

from handlers.card import Card, CodeBlock, Fact, Section, Tone
from handlers.dmarc.names import top_bases
from handlers.dmarc.readiness import Readiness
from handlers.dmarc.sources import BUCKET_TITLES, Bucket, DomainSummary, NamedSource

__all__ = ["chart_alt", "readiness_card", "report_card", "taken_card"]

MAX_SOURCES_PER_BUCKET = 5


def _n(count: int, word: str) -> str:
    """``1 report``, ``2 reports``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _pct(part: int, whole: int) -> str:
    if not whole:
        return "-"
    value = 100 * part / whole
    return f"{value:.1f}%" if value < 99.95 else "100%"


def _line(source: NamedSource) -> str:
    stats = source.stats
    where = source.name if source.name == stats.ip else f"{source.name} ({stats.ip})"
    if source.network:
        where += f" [{source.network}]"
    line = f"{where}: {stats.messages:,} messages, {_pct(stats.aligned, stats.messages)} aligned"
    if source.fix:
        line += f". Fix: {source.fix}"
    return line


def chart_alt(summary: DomainSummary) -> str:
    """What the report's chart shows, in words (its alt text)."""
    return (
        f"Messages per day for {summary.domain} over {_n(len(summary.per_day), 'day')}, passed "
        f"DMARC or not, and the biggest sources by bucket."
    )


def report_card(summary: DomainSummary) -> Card:
    """The summary of ``summary.domain``'s DMARC reports over ``summary.days`` days."""
    domain = summary.domain
    if not summary.messages:
        return Card(
            title=f"DMARC reports: {domain}",
            tone=Tone.INFO,
            summary=(
                f"No aggregate reports for {domain} in the last {summary.days} days. Check that "
                f"its DMARC record has rua= pointing at a mailbox that is fed to ndrbot "
                f"(/dmarccheck {domain}), and that reports are forwarded to /api/dmarc."
            ),
        )
    unknown = summary.buckets.get(Bucket.UNKNOWN, 0)
    fixable = summary.buckets.get(Bucket.FIXABLE, 0)
    share = summary.share
    tone = Tone.SUCCESS if share >= 0.98 else Tone.WARNING if share >= 0.9 else Tone.ERROR
    text = (
        f"{_n(summary.messages, 'message')} from {_n(len(summary.sources), 'source')} in "
        f"{_n(summary.reports, 'report')}; {_pct(summary.aligned, summary.messages)} passed DMARC."
    )
    if fixable:
        text += f" {fixable:,} came from services that authenticate as someone else: fixable."
    if unknown:
        text += f" {unknown:,} came from senders nothing vouches for (yours unlisted, or spoofing)."
    facts = [
        Fact("Period", f"{summary.first_day} to {summary.last_day} ({summary.days} days asked)"),
        Fact("Messages", f"{summary.messages:,}"),
        Fact("Aligned (DMARC pass)", _pct(summary.aligned, summary.messages)),
        Fact("Spoofing or unknown", f"{unknown:,} ({_pct(unknown, summary.messages)})"),
        Fact(
            "Reported by",
            ", ".join(f"{org} ({n:,})" for org, n in summary.receivers[:6])
            + (f" and {len(summary.receivers) - 6} more" if len(summary.receivers) > 6 else ""),
        ),
    ]
    if summary.failures:
        facts.append(
            Fact("Failure reports", f"{summary.failures:,} (redacted; context only, not counted)")
        )
    sections = []
    for bucket in (Bucket.FIXABLE, Bucket.UNKNOWN, Bucket.FORWARDER, Bucket.ALIGNED):
        members = [s for s in summary.sources if s.bucket is bucket]
        if not members:
            continue
        volume = summary.buckets.get(bucket, 0)
        lines = [f"- {_line(s)}" for s in members[:MAX_SOURCES_PER_BUCKET]]
        if len(members) > MAX_SOURCES_PER_BUCKET:
            rest = members[MAX_SOURCES_PER_BUCKET:]
            more = (
                f"- and {len(rest)} more sources, {sum(s.stats.messages for s in rest):,} messages"
            )
            bases = top_bases(s.base for s in rest)
            if bases:  # who runs them, by their reverse DNS names' domains
                more += " (" + ", ".join(f"{base}: {n}" for base, n in bases) + ")"
            lines.append(more)
        title = f"{BUCKET_TITLES[bucket]}: {volume:,} messages ({_pct(volume, summary.messages)})"
        sections.append(Section(title, "\n".join(lines)))
    return Card(
        title=f"DMARC reports: {domain}",
        tone=tone,
        summary=text,
        facts=tuple(facts),
        sections=tuple(sections),
        footer="From DMARC aggregate reports (RFC 7489 and RFC 9990 formats) sent to ndrbot.",
        meta={"card": "dmarc_report", "domain": domain},
    )


def taken_card(results: list[tuple[str, str]]) -> Card:
    """What became of the report files someone sent the bot: one line per report."""
    stored = sum(1 for status, _ in results if status == "stored")
    again = sum(1 for status, _ in results if status == "duplicate")
    refused = len(results) - stored - again
    parts = [f"{stored} stored"] + ([f"{again} already stored"] if again else [])
    parts += [f"{refused} refused (why, below)"] if refused else []
    tone = Tone.SUCCESS if not refused else Tone.WARNING if stored or again else Tone.ERROR
    return Card(
        title="DMARC reports received",
        tone=tone,
        summary=", ".join(parts) + ". Type /dmarcreport DOMAIN to see who sends as it.",
        sections=(
            Section("Reports", "\n".join(f"- {status}: {text}" for status, text in results)),
        ),
        meta={"card": "dmarc_taken"},
    )


_MARK = {True: "[pass]", False: "[FAIL]", None: "[unknown]"}


def readiness_card(r: Readiness) -> Card:
    """``/dmarcready``: where the domain stands, the next step, each gate with its evidence, and
    the record to publish when the gates hold."""
    ready = r.ready
    if r.current == "unknown":
        tone, verdict = Tone.WARNING, f"Cannot tell where {r.domain} stands: see below."
    elif not r.next_step:
        tone, verdict = (Tone.SUCCESS, f"{r.domain} is at enforcement ({r.current}).")
    elif ready:
        tone, verdict = Tone.SUCCESS, f"Safe to move {r.domain} to {r.next_step}."
    elif ready is None:
        tone, verdict = Tone.WARNING, f"Cannot tell yet whether {r.domain} can move on."
    else:
        tone, verdict = Tone.WARNING, f"Not yet: {r.domain} should stay at {r.current} for now."
    gates = "\n".join(f"{_MARK[g.ok]} {g.name}: {g.evidence}" for g in r.gates)
    sections = [Section("Gates", gates)] if gates else []
    if r.forwarders:
        sections.append(
            Section(
                "Forwarders and lists (not counted against readiness)",
                "\n".join(f"- {s.name}: {s.stats.messages:,} messages" for s in r.forwarders[:5]),
            )
        )
    if r.diff:
        sections.append(Section("Change from the live record", "\n".join(r.diff)))
    code: tuple[CodeBlock, ...] = ()
    if r.record and ready is not False:
        code = (CodeBlock(f"_dmarc.{r.domain} TXT (publish it yourself)", r.record, "dns"),)
    facts = [Fact("Now", r.current)] + ([Fact("Next step", r.next_step)] if r.next_step else [])
    if r.unknown_volume:
        facts.append(Fact("Unknown or spoofing", f"{r.unknown_volume:,} messages"))
    return Card(
        title=f"DMARC enforcement: {r.domain}",
        tone=tone,
        summary=verdict,
        facts=tuple(facts),
        sections=tuple(sections),
        code=code,
        notes=r.notes,
        footer="ndrbot never changes DNS. Gates: NDRBOT_DMARC_* settings.",
        meta={"card": "dmarc_ready", "domain": r.domain},
    )
