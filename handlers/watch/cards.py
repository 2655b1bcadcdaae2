"""Alert cards: watch transitions, trends, unreadable intake, and the /ndrwatch replies.

Pure builders over values; every string is plain text (renderers escape it). Nothing secret goes
in: check sentences already redact the Spamhaus DQS key, and intake cards show a subject line,
never the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from handlers.card import Card, Fact, Section, Tone
from handlers.cards import diagnosis_card
from handlers.diagnosis import Diagnosis
from handlers.watch.model import Watch
from handlers.watch.transitions import Event, EventKind, WatchState
from handlers.watch.trends import TrendKey
from handlers.watch.wording import headline, is_minor
from knowledge import Catalogue

__all__ = [
    "event_cards",
    "resolved_card",
    "trend_card",
    "unreadable_card",
    "watch_list_card",
]


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _footer(watch: Watch) -> str:
    return f"ndrbot watch #{watch.id} · stop it with /ndrwatch remove {watch.kind} {watch.target}"


def _title(watch: Watch, phrases: Sequence[str], many: str) -> str:
    if len(phrases) == 1:
        return f"{watch.target}: {phrases[0]}"
    return f"{watch.target}: {many}"


def _alerts_card(watch: Watch, events: Sequence[Event], at: datetime) -> Card:
    phrases = [headline(e) for e in events]
    minor = all(is_minor(e) for e in events)
    sections = tuple(
        Section(phrase[:1].upper() + phrase[1:], e.detail or phrase)
        for phrase, e in zip(phrases, events, strict=True)
    )
    summary = (
        f"The watch on {watch.label} noticed a change at {_when(at)}. "
        "If it was intended, nothing needs doing; ndrbot will not repeat it."
        if minor
        else f"The watch on {watch.label} found {len(events)} new "
        f"problem{'s' if len(events) > 1 else ''} at {_when(at)}. "
        "ndrbot posts again when it is fixed, and stays quiet while nothing changes."
    )
    return Card(
        title=_title(watch, phrases, f"{len(events)} new problems"),
        tone=Tone.WARNING if minor else Tone.ERROR,
        summary=summary,
        facts=(Fact("Watch", watch.label), Fact("Checked", _when(at))),
        sections=sections,
        footer=_footer(watch),
        meta={"alert": "watch", "watch_id": str(watch.id)},
    )


def _recoveries_card(watch: Watch, events: Sequence[Event], at: datetime) -> Card:
    phrases = [headline(e) for e in events]
    return Card(
        title="Fixed: " + _title(watch, phrases, f"{len(events)} problems fixed"),
        tone=Tone.SUCCESS,
        summary=f"The watch on {watch.label} saw this fixed at {_when(at)}.",
        facts=(Fact("Watch", watch.label), Fact("Checked", _when(at))),
        steps=tuple(p[:1].upper() + p[1:] for p in phrases) if len(phrases) > 1 else (),
        footer=_footer(watch),
        meta={"alert": "recovery", "watch_id": str(watch.id)},
    )


def resolved_card(opening: Card, at: datetime) -> Card:
    """The alert that opened an incident, as it reads once everything it led to has recovered:
    marked resolved (with who took it, if anyone did), nothing left to click."""
    return replace(
        opening,
        title=f"Resolved: {opening.title}"[:300],
        tone=Tone.SUCCESS,
        summary=(
            f"Resolved at {_when(at)}: every problem of this alert has recovered (the thread says "
            f"what changed, and when). What it reported: {opening.summary}"
        ),
        actions=(),
    )


def _availability_card(watch: Watch, event: Event, at: datetime, runs: int) -> Card:
    if event.kind is EventKind.CAN_CHECK_AGAIN:
        return Card(
            title=f"{watch.target}: can be checked again",
            tone=Tone.SUCCESS,
            summary=f"DNS answers again; the watch on {watch.label} ran completely at {_when(at)}.",
            footer=_footer(watch),
            meta={"alert": "can_check_again", "watch_id": str(watch.id)},
        )
    return Card(
        title=f"{watch.target}: cannot be checked",
        tone=Tone.WARNING,
        summary=(
            f"The last {runs} runs of the watch on {watch.label} could not get answers from DNS, "
            "so ndrbot cannot tell whether anything changed. This is not a finding about the "
            "records themselves: check the resolver ndrbot uses (NDRBOT_NAMESERVERS)."
        ),
        facts=(Fact("Watch", watch.label), Fact("Since", _when(at))),
        sections=(Section("What did not answer", event.detail[:1500]),),
        footer=_footer(watch),
        meta={"alert": "cannot_check", "watch_id": str(watch.id)},
    )


def event_cards(
    watch: Watch, events: Sequence[Event], at: datetime, *, unknown_runs: int = 0
) -> list[tuple[EventKind, Card]]:
    """One card per kind of event in a run: new problems, fixes, and check availability."""
    out: list[tuple[EventKind, Card]] = []
    alerts = [e for e in events if e.kind is EventKind.ALERT]
    recoveries = [e for e in events if e.kind is EventKind.RECOVERY]
    if alerts:
        out.append((EventKind.ALERT, _alerts_card(watch, alerts, at)))
    if recoveries:
        out.append((EventKind.RECOVERY, _recoveries_card(watch, recoveries, at)))
    for event in events:
        if event.kind in (EventKind.CANNOT_CHECK, EventKind.CAN_CHECK_AGAIN):
            out.append((event.kind, _availability_card(watch, event, at, unknown_runs)))
    return out


def trend_card(
    diagnosis: Diagnosis,
    catalogue: Catalogue,
    *,
    key: TrendKey,
    count: int,
    window: timedelta,
    sources: Sequence[str],
    card_id: str,
) -> Card:
    """One alert for a burst, carrying the diagnosis card of its latest bounce."""
    card = diagnosis_card(diagnosis, catalogue, card_id=card_id)
    minutes = int(window.total_seconds() // 60)
    where = ", ".join(sorted(set(sources))[:5])
    trend_facts = (
        Fact("Bounces", f"{count} in {minutes} minutes"),
        Fact("Sender domain", key.sender_domain),
        Fact("Seen in", where),
    )
    return replace(
        card,
        title=f"Trend: {count} bounces in {minutes} min - {card.title}",
        summary=(
            f"{count} bounces of the same kind for senders at {key.sender_domain} "
            f"within {minutes} minutes. One alert for the burst instead of a thread each; the "
            f"latest one is below. {card.summary}"
        ).strip(),
        facts=trend_facts + card.facts,
        meta={**card.meta, "alert": "trend"},
    )


def unreadable_card(
    *, intake_id: int, size: int, source: str, subject: str | None, reason: str, others: int
) -> Card:
    """A bounce arrived through intake and could not be read: it is kept, and this says so."""
    facts = [Fact("Kept as", f"intake #{intake_id} ({size} bytes)"), Fact("From", source)]
    if subject:
        facts.append(Fact("Subject", subject[:200]))
    notes: tuple[str, ...] = ()
    if others:
        notes = (f"{others} more could not be read since the last alert like this one.",)
    return Card(
        title="A bounce could not be read",
        tone=Tone.WARNING,
        summary=(
            f"ndrbot received a bounce it could not read ({reason}). Nothing is lost: the raw "
            f"message is kept in ndrbot's database as intake #{intake_id}. Paste it to ndrbot "
            "or forward it to whoever maintains ndrbot so the reader can learn it."
        ),
        facts=tuple(facts),
        notes=notes,
        meta={"alert": "unreadable", "intake_id": str(intake_id)},
    )


def _state_text(state: WatchState | None) -> str:
    if state is None or not state.facts:
        return "not checked yet"
    problems = len(state.open)
    text = "ok" if not problems else f"{problems} open problem{'s' if problems > 1 else ''}"
    if state.unknown_alerted:
        text += ", cannot be checked at the moment"
    return text


def watch_list_card(
    watches: Sequence[Watch], states: Mapping[int, WatchState], *, hint: str = ""
) -> Card:
    """``/ndrwatch list``: every active watch, who added it, its state."""
    if not watches:
        return Card(
            title="Nothing is watched",
            tone=Tone.INFO,
            summary="Add a watch with /ndrwatch add domain contoso.com or /ndrwatch add ip 203.0.113.5.",
        )
    facts = []
    for watch in watches:
        last = _when(watch.last_run_at) if watch.last_run_at else "never"
        facts.append(
            Fact(
                f"#{watch.id} {watch.label}",
                f"{_state_text(states.get(watch.id))}; last checked {last}; added by "
                f"{watch.added_by} on {watch.added_at.strftime('%Y-%m-%d')}",
            )
        )
    return Card(
        title=f"Watched: {len(watches)}",
        tone=Tone.INFO,
        summary=hint or "Domains and IPs ndrbot checks on a schedule, alerting on changes.",
        facts=tuple(facts),
    )
