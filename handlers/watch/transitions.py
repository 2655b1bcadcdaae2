"""Old state + new snapshot -> new state and the events worth telling someone about.

The rules, per fact key:

* no alert open: a regression from the last known value (see :func:`is_regression`) opens an
  alert and remembers the value before it (the *reference*), else the value is just recorded;
* an alert open: a value that is no regression from the reference closes it with a recovery;
  another regression from the last value (MX changed again, DMARC weakened further) is a new
  alert; anything else is silence, so nothing is said twice while nothing changes;
* a key in ``snapshot.unknown`` keeps its last known value and is never a transition.

Separately, a run with any unknown fact adds to a counter; when it reaches the threshold, one
``CANNOT_CHECK`` event, and when a run is complete again, one ``CAN_CHECK_AGAIN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from handlers.watch.snapshot import Snapshot, is_regression

__all__ = ["Event", "EventKind", "WatchState", "advance"]


class EventKind(StrEnum):
    """What happened to a watch."""

    ALERT = "alert"
    RECOVERY = "recovery"
    CANNOT_CHECK = "cannot_check"
    CAN_CHECK_AGAIN = "can_check_again"


@dataclass(frozen=True)
class Event:
    """One transition of one fact (``key`` is empty for the two check-availability events)."""

    kind: EventKind
    key: str = ""
    before: str | None = None  # the last known value
    after: str | None = None  # the new value
    reference: str | None = None  # the value before the alert opened (recoveries, repeats)
    detail: str = ""  # a finding's sentence, or the reasons the checks could not run


@dataclass(frozen=True)
class WatchState:
    """What a watch remembers between runs (stored as JSON; every field plain data)."""

    facts: Mapping[str, str] = field(default_factory=dict)
    open: Mapping[str, str | None] = field(default_factory=dict)  # key -> reference value
    unknown_runs: int = 0
    unknown_alerted: bool = False
    # The incident still going on: the keys of the alerts it posted in the channel, the first
    # being the one that opened it. Later news of the incident goes in that first message's
    # thread, and every one of them is edited to say "resolved" when it ends.
    incident: tuple[str, ...] = ()

    @property
    def troubled(self) -> bool:
        """An alert is open, or the watch is known not to be checkable: an incident goes on."""
        return bool(self.open) or self.unknown_alerted

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "facts": dict(self.facts),
            "open": dict(self.open),
            "unknown_runs": self.unknown_runs,
            "unknown_alerted": self.unknown_alerted,
            "incident": list(self.incident),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> WatchState:
        """The state :meth:`to_json` wrote."""
        facts = data.get("facts") or {}
        opened = data.get("open") or {}
        assert isinstance(facts, dict) and isinstance(opened, dict)
        runs = data.get("unknown_runs", 0)
        incident = data.get("incident")
        return cls(
            facts={str(k): str(v) for k, v in facts.items()},
            open={str(k): None if v is None else str(v) for k, v in opened.items()},
            unknown_runs=runs if isinstance(runs, int) else 0,
            unknown_alerted=bool(data.get("unknown_alerted", False)),
            incident=tuple(str(k) for k in incident if k) if isinstance(incident, list) else (),
        )


def _fact_events(
    state: WatchState, snap: Snapshot
) -> tuple[dict[str, str], dict[str, str | None], list[Event]]:
    facts = dict(state.facts)
    opened = dict(state.open)
    events: list[Event] = []
    for key in sorted(snap.facts):
        after = snap.facts[key]
        before = state.facts.get(key)
        detail = snap.details.get(key, "")
        facts[key] = after
        if key in opened:
            reference = opened[key]
            if not is_regression(key, reference, after):
                del opened[key]
                events.append(Event(EventKind.RECOVERY, key, before, after, reference, detail))
            elif after != before and is_regression(key, before, after):
                events.append(Event(EventKind.ALERT, key, before, after, reference, detail))
        elif is_regression(key, before, after):
            opened[key] = before
            events.append(Event(EventKind.ALERT, key, before, after, before, detail))
    return facts, opened, events


def _availability(
    state: WatchState, snap: Snapshot, threshold: int
) -> tuple[int, bool, Event | None]:
    if not snap.unknown:
        if state.unknown_alerted:
            return 0, False, Event(EventKind.CAN_CHECK_AGAIN)
        return 0, False, None
    runs = state.unknown_runs + 1
    if runs >= threshold and not state.unknown_alerted:
        reasons = "; ".join(f"{key}: {why}" for key, why in sorted(snap.unknown.items()))
        return runs, True, Event(EventKind.CANNOT_CHECK, detail=reasons)
    return runs, state.unknown_alerted, None


def advance(
    state: WatchState, snap: Snapshot, *, unknown_alert_after: int
) -> tuple[WatchState, list[Event]]:
    """The state after one run and the events it produced, alerts before recoveries."""
    facts, opened, events = _fact_events(state, snap)
    runs, alerted, availability = _availability(state, snap, unknown_alert_after)
    if availability is not None:
        events.append(availability)
    order = list(EventKind)
    events.sort(key=lambda e: order.index(e.kind))  # stable: keys stay sorted within a kind
    return WatchState(facts, opened, runs, alerted, state.incident), events
