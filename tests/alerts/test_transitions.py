"""Transitions, pure: one alert per regression, one recovery per fix, silence otherwise, and an
unknown fact never a transition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.watch import EventKind, Snapshot, WatchState, advance


def run(state: WatchState, facts: dict[str, str], unknown: dict[str, str] | None = None):
    return advance(state, Snapshot(facts, unknown or {}), unknown_alert_after=3)


def kinds(events: list) -> list[tuple[str, str]]:
    return [(str(e.kind), e.key) for e in events]


def test_a_listing_alerts_once_and_its_removal_recovers_once() -> None:
    state, events = run(WatchState(), {"blocklist.Spamhaus ZEN": "clean"})
    assert events == []
    state, events = run(state, {"blocklist.Spamhaus ZEN": "listed"})
    assert kinds(events) == [("alert", "blocklist.Spamhaus ZEN")]
    state, events = run(state, {"blocklist.Spamhaus ZEN": "listed"})
    assert events == []
    state, events = run(state, {"blocklist.Spamhaus ZEN": "clean"})
    assert kinds(events) == [("recovery", "blocklist.Spamhaus ZEN")]
    assert state.open == {}


def test_a_problem_already_there_on_the_first_run_is_announced() -> None:
    state, events = run(WatchState(), {"blocklist.Spamhaus ZEN": "listed", "rdns": "confirmed"})
    assert kinds(events) == [("alert", "blocklist.Spamhaus ZEN")]
    _state, events = run(state, {"blocklist.Spamhaus ZEN": "clean", "rdns": "confirmed"})
    assert kinds(events) == [("recovery", "blocklist.Spamhaus ZEN")]


def test_unknown_is_never_a_transition_and_keeps_the_last_known_value() -> None:
    state, _ = run(WatchState(), {"spf.lookup_limit": "within"})
    state, events = run(state, {}, {"spf.lookup_limit": "timed out"})
    assert events == [] and state.facts == {"spf.lookup_limit": "within"}
    state, events = run(state, {"spf.lookup_limit": "within"})
    assert events == []


def test_sustained_unknown_alerts_once_after_the_threshold_and_clears_once() -> None:
    state, _ = run(WatchState(), {"mx": "10 mx.a.test"})
    seen = []
    for _ in range(5):
        state, events = run(state, {}, {"mx": "timed out"})
        seen.append(events)
    assert [kinds(e) for e in seen] == [[], [], [("cannot_check", "")], [], []]
    assert seen[2][0].detail == "mx: timed out"  # the card says what did not answer
    state, events = run(state, {"mx": "10 mx.a.test"})
    assert kinds(events) == [("can_check_again", "")]
    state, events = run(state, {"mx": "10 mx.a.test"})
    assert events == []


def test_dmarc_weakened_alerts_and_is_fixed_only_when_back_to_the_old_strength() -> None:
    state, _ = run(WatchState(), {"dmarc.policy": "reject"})
    state, events = run(state, {"dmarc.policy": "quarantine"})
    assert kinds(events) == [("alert", "dmarc.policy")]
    state, events = run(state, {"dmarc.policy": "none"})
    assert kinds(events) == [("alert", "dmarc.policy")]  # weaker still: news
    state, events = run(state, {"dmarc.policy": "quarantine"})
    assert events == []  # better, not fixed
    state, events = run(state, {"dmarc.policy": "reject"})
    assert kinds(events) == [("recovery", "dmarc.policy")]
    _state, events = run(state, {"dmarc.policy": "none"})
    assert kinds(events) == [("alert", "dmarc.policy")]


def test_a_stronger_dmarc_policy_or_a_new_dkim_selector_is_not_an_alert() -> None:
    state, _ = run(WatchState(), {"dmarc.policy": "none", "dkim.s2": "missing"})
    _state, events = run(state, {"dmarc.policy": "reject", "dkim.s2": "present"})
    assert events == []


def test_a_dkim_selector_gone_alerts_and_its_return_recovers() -> None:
    state, _ = run(WatchState(), {"dkim.selector1": "present"})
    state, events = run(state, {"dkim.selector1": "missing"})
    assert kinds(events) == [("alert", "dkim.selector1")]
    _state, events = run(state, {"dkim.selector1": "present"})
    assert kinds(events) == [("recovery", "dkim.selector1")]


def test_an_mx_change_alerts_each_time_and_a_revert_is_a_recovery() -> None:
    state, _ = run(WatchState(), {"mx": "10 a"})
    state, events = run(state, {"mx": "10 b"})
    assert [(e.kind, e.before, e.after) for e in events] == [(EventKind.ALERT, "10 a", "10 b")]
    state, events = run(state, {"mx": "10 c"})
    assert [(e.kind, e.reference) for e in events] == [(EventKind.ALERT, "10 a")]
    _state, events = run(state, {"mx": "10 a"})
    assert kinds(events) == [("recovery", "mx")]


def test_state_survives_json() -> None:
    state, _ = run(WatchState(), {"blocklist.X": "listed", "mx": "10 a"})
    assert WatchState.from_json(state.to_json()) == state


_KEYS = ["blocklist.X", "spf.lookup_limit", "dmarc.policy", "dkim.s1", "mx"]
_VALUES = {
    "blocklist.X": ["clean", "listed"],
    "spf.lookup_limit": ["within", "over"],
    "dmarc.policy": ["none", "quarantine", "reject"],
    "dkim.s1": ["present", "missing"],
    "mx": ["10 a", "10 b"],
}
_snapshots = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            k: st.one_of(st.sampled_from(_VALUES[k]), st.just("?"))  # "?" = unknown this run
            for k in _KEYS
        },
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_snapshots)
def test_properties_over_any_history(history: list[dict[str, str]]) -> None:
    state = WatchState()
    for run_facts in history:
        facts = {k: v for k, v in run_facts.items() if v != "?"}
        unknown = {k: "timed out" for k, v in run_facts.items() if v == "?"}
        before = state
        state, events = run(state, facts, unknown)
        for event in events:
            if event.kind in (EventKind.ALERT, EventKind.RECOVERY):
                # Only keys with a known new value can move, and only when the value changed
                # (or, on a key never seen before, when its first value is a problem).
                assert event.key in facts and event.key not in unknown
                assert before.facts.get(event.key) != facts[event.key]
        for key in unknown:
            assert state.facts.get(key) == before.facts.get(key)
        # Running the same snapshot again says nothing new about the facts.
        _again, repeat = run(state, facts, unknown)
        assert all(e.kind not in (EventKind.ALERT, EventKind.RECOVERY) for e in repeat)
