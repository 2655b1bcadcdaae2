"""Cases: a delisting request someone sent, followed up in the thread of its card until it clears.

Pure. A case opens when a request is marked sent (:meth:`handlers.router.Router.on_delist_sent`)
on a card posted in a channel. What happens next is decided here, from the case and the last look
at its blocklist, and carried out by the alerts side (``bot.alerts.cases``) through the outbox, so
each message is posted exactly once, across restarts:

- a route with a DNS blocklist (Spamhaus, Barracuda) looks the IP address up on it every
  :data:`CHECK_EVERY`: when it is no longer listed, a "cleared" reply in the thread closes the
  case; one reminder after :data:`REMIND_AFTER` if it is not cleared by then (saying "still
  listed", or that the list could not be asked: a look that could not be made never concludes
  anything); after :data:`FOLLOW_AT_MOST` the case closes, with a last word in the thread;
- a route without one (Microsoft's portal or mail, Outlook.com support) cannot be looked up:
  one reminder after :data:`REMIND_AFTER` asks whether mail flows again, and closes the case.

``/ndr cases`` lists the channel's open cases and its cards with unfinished checklists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from handlers.card import Card, Fact, Section, Tone

__all__ = [
    "CHECK_EVERY",
    "FOLLOW_AT_MOST",
    "REMIND_AFTER",
    "Case",
    "Listing",
    "Unfinished",
    "cases_card",
    "next_step",
]

REMIND_AFTER = timedelta(hours=48)
CHECK_EVERY = timedelta(minutes=30)
FOLLOW_AT_MOST = timedelta(days=14)


class Listing(StrEnum):
    """What the last look at a case's blocklist found."""

    LISTED = "listed"
    CLEAR = "clear"
    UNKNOWN = "unknown"  # no answer to trust: nothing is concluded


@dataclass(frozen=True)
class Case:
    """One delisting request marked sent, and where its card is."""

    card_id: str
    platform: str
    conversation: str
    thread: str  # the card's own message: follow-ups are replies to it
    route: str
    title: str  # the route's title ("Ask Spamhaus to remove the listing")
    ip: str
    domain: str
    zone: str  # the DNS blocklist to look the IP address up on ("" when the route has none)
    opened_by: str
    opened_at: datetime
    id: int = 0
    reminded: bool = False

    @property
    def followed(self) -> bool:
        """Whether the listing itself can be looked up until it clears."""
        return bool(self.zone and self.ip)


@dataclass(frozen=True)
class Step:
    """What to do with a case now: a reply in its thread (or none), and its new state."""

    message: Card | None
    kind: str  # "reminder", "cleared", "ended", or "" (no message)
    reminded: bool
    closed: bool
    next_check: datetime | None  # None: nothing more to look at


def next_step(case: Case, now: datetime, listing: Listing | None) -> Step:
    """The follow-up of ``case`` at ``now``, given what its blocklist says (None: not looked)."""
    due = now >= case.opened_at + REMIND_AFTER
    if case.followed and listing is Listing.CLEAR:
        return Step(_cleared(case, now), "cleared", case.reminded, True, None)
    if case.followed and now >= case.opened_at + FOLLOW_AT_MOST:
        return Step(_ended(case, now), "ended", case.reminded, True, None)
    if case.followed:
        remind = due and not case.reminded
        message = None
        if remind:
            message = _reminder(case, now, listed=listing is Listing.LISTED, followed=True)
        return Step(
            message, "reminder" if remind else "", case.reminded or remind, False, now + CHECK_EVERY
        )
    if due and not case.reminded:
        message = _reminder(case, now, listed=False, followed=False)
        return Step(message, "reminder", True, True, None)  # nothing more to look at: closed
    return Step(None, "", case.reminded, False, case.opened_at + REMIND_AFTER)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _facts(case: Case) -> tuple[Fact, ...]:
    facts = [Fact("Requested", f"{_when(case.opened_at)} by {case.opened_by}")]
    if case.ip:
        facts.append(Fact("IP address", case.ip))
    if case.zone:
        facts.append(Fact("Blocklist", case.zone))
    return tuple(facts)


def _reminder(case: Case, now: datetime, *, listed: bool, followed: bool) -> Card:
    hours = int((now - case.opened_at).total_seconds() // 3600)
    if followed and not listed:
        summary = (
            f"It is {hours} hours since the delisting request, and ndrbot could not ask "
            f"{case.zone} whether {case.ip} is still listed (no answer it can trust: "
            "`ndrbot doctor` says why). Look it up on the list's own page."
        )
    elif listed:
        summary = (
            f"{case.ip} is still listed on {case.zone}, {hours} hours after the delisting request. "
            "Look the address up on the list's own page: it says why it is listed, and whether "
            "the cause is still active (an infected machine or a compromised account keeps "
            "relisting it). Fix that first, then ask again."
        )
    else:
        summary = (
            f"It is {hours} hours since the delisting request ({case.title.lower()}). If mail "
            "still bounces, reply to the answer you got (Outlook.com: ask for a review by a "
            "person), and re-check the card; if it flows again, nothing more is needed."
        )
    return Card(
        title=f"Reminder: delisting of {case.ip or case.domain or 'the sender'}",
        tone=Tone.WARNING,
        summary=summary,
        facts=_facts(case),
        meta={"case": str(case.id), "kind": "reminder"},
    )


def _ended(case: Case, now: datetime) -> Card:
    days = (now - case.opened_at).days
    return Card(
        title=f"No longer following the delisting of {case.ip}",
        tone=Tone.INFO,
        summary=(
            f"{days} days after the request, {case.ip} was never seen off {case.zone}. ndrbot "
            "stops looking; /blcheck checks it any time, and /ndrwatch add ip watches it."
        ),
        facts=_facts(case),
        meta={"case": str(case.id), "kind": "ended"},
    )


def _cleared(case: Case, now: datetime) -> Card:
    return Card(
        title=f"Cleared: {case.ip} is no longer listed on {case.zone}",
        tone=Tone.SUCCESS,
        summary=(
            f"The listing cleared by {_when(now)}. Send a test message to the address that "
            "bounced; some receivers cache blocklist answers for a few hours. The case is closed."
        ),
        facts=_facts(case),
        meta={"case": str(case.id), "kind": "cleared"},
    )


@dataclass(frozen=True)
class Unfinished:
    """A card in the channel whose checklist still has steps to tick."""

    title: str
    open_steps: int
    total_steps: int


def cases_card(cases: Sequence[Case], unfinished: Sequence[Unfinished], now: datetime) -> Card:
    """``/ndr cases``: what the channel is still waiting on."""
    if not cases and not unfinished:
        return Card(
            "Nothing open here",
            Tone.SUCCESS,
            "No delisting request is waiting in this channel, and every checklist is done.",
        )
    sections = []
    for case in cases:
        days = (now - case.opened_at).total_seconds() / 86400
        what = f"{case.ip or case.domain}: {case.title}"
        state = f"sent by {case.opened_by} {days:.1f} days ago"
        if case.followed:
            state += f"; ndrbot looks {case.ip} up on {case.zone} and says here when it clears"
        sections.append(Section(what, state))
    for item in unfinished:
        sections.append(
            Section(
                item.title,
                f"checklist: {item.open_steps} of {item.total_steps} steps not ticked yet",
            )
        )
    return Card(
        title=f"Open here: {len(cases)} delisting request(s), {len(unfinished)} checklist(s)",
        tone=Tone.INFO,
        summary="What this channel is still waiting on, oldest first.",
        sections=tuple(sections[:20]),
    )
