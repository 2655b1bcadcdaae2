"""The checklist rules (handlers/checklist.py), without a store, clock or platform."""

from __future__ import annotations

from handlers.card import ChecklistItemView, ChecklistView
from handlers.checklist import TickRecord, apply_ticks, gate_open, toggle

VIEW = ChecklistView(
    key="k",
    title="Before unblocking",
    items=(
        ChecklistItemView("reset", "Reset the password", required=True),
        ChecklistItemView("rules", "Remove forwarding rules", required=True),
        ChecklistItemView("notes", "Tell the user"),
        ChecklistItemView("unblock", "Unblock the sender", is_unblock=True),
    ),
)
AT = "2026-12-05T09:00:00+00:00"


def _ticked(*items: str) -> dict[str, TickRecord]:
    return {item: TickRecord("pat", AT) for item in items}


def test_the_unblock_step_cannot_be_ticked_before_the_security_steps() -> None:
    after = toggle(VIEW, _ticked("reset"), {"unblock": True}, user="kim", at=AT)
    assert after == _ticked("reset")
    assert not apply_ticks(VIEW, after).items[3].enabled


def test_a_tick_records_who_and_when_and_opens_the_gate_when_all_security_steps_are_done() -> None:
    after = toggle(VIEW, _ticked("reset"), {"rules": True}, user="kim", at=AT)
    assert after["rules"] == TickRecord("kim", AT) and gate_open(VIEW, after)
    shown = apply_ticks(VIEW, after)
    assert shown.items[1].done_by == "kim" and shown.items[3].enabled


def test_unticking_a_security_step_takes_the_unblock_tick_back() -> None:
    after = toggle(VIEW, _ticked("reset", "rules", "unblock"), {"rules": False}, user="kim", at=AT)
    assert set(after) == {"reset"}


def test_a_whole_form_ticks_security_steps_before_the_unblock_step() -> None:
    toggles = {"unblock": True, "rules": True, "reset": True, "ghost": True}
    after = toggle(VIEW, {}, toggles, user="kim", at=AT)
    assert set(after) == {"reset", "rules", "unblock"}


def test_a_toggle_to_the_current_state_changes_nothing() -> None:
    before = _ticked("reset")
    assert toggle(VIEW, before, {"reset": True, "notes": False}, user="kim", at="later") == before
