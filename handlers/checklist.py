"""Checklist ticks on a card: who ticked what, and the gate before unblocking.

The rules (pure code below follows them; the router stores the ticks, the adapters only carry
clicks in and cards out):

1. Anyone who sees the card may tick or un-tick any step. A tick records who and when (ISO 8601,
   UTC); an un-tick removes the record.
2. The unblock step (``is_unblock``) can be ticked only once every security step that must come
   first (``required``) is ticked. A tick before that is refused: nothing changes.
3. Un-ticking a security step takes the unblock tick back with it, so the gate never shows open
   over an unfinished step.
4. Several toggles at once (a Teams form is submitted whole) are applied security steps first,
   then the unblock step, so ticking everything in one go works. A toggle that asks for the
   state an item already has changes nothing; unknown item ids are ignored.
5. The view shows the unblock step disabled until the gate opens. ndrbot never unblocks anything
   itself: the step's commands are for a person to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from handlers.card import ChecklistView

__all__ = ["TickRecord", "apply_ticks", "gate_open", "toggle"]


@dataclass(frozen=True)
class TickRecord:
    """Who ticked a checklist item, and when (ISO 8601 UTC)."""

    user: str
    at: str


def gate_open(view: ChecklistView, ticks: Mapping[str, TickRecord]) -> bool:
    """True when every security step required before unblocking is ticked (rule 2)."""
    return all(item.id in ticks for item in view.items if item.required)


def apply_ticks(view: ChecklistView, ticks: Mapping[str, TickRecord]) -> ChecklistView:
    """``view`` showing who ticked what, the unblock step enabled only once the gate is open."""
    open_ = gate_open(view, ticks)
    items = tuple(
        replace(
            item,
            done=item.id in ticks,
            done_by=ticks[item.id].user if item.id in ticks else None,
            done_at=ticks[item.id].at if item.id in ticks else None,
            enabled=open_ if item.is_unblock else True,
        )
        for item in view.items
    )
    return replace(view, items=items)


def toggle(
    view: ChecklistView,
    ticks: Mapping[str, TickRecord],
    toggles: Mapping[str, bool],
    *,
    user: str,
    at: str,
) -> dict[str, TickRecord]:
    """The ticks after ``toggles`` (item id -> wanted state) by ``user`` at ``at`` (rules 1-4)."""
    after = dict(ticks)
    ordered = sorted(
        (item for item in view.items if item.id in toggles), key=lambda item: item.is_unblock
    )
    for item in ordered:
        wanted = toggles[item.id]
        if wanted == (item.id in after):
            continue
        if not wanted:
            del after[item.id]
        elif not item.is_unblock or gate_open(view, after):
            after[item.id] = TickRecord(user, at)
    if not gate_open(view, after):
        for item in view.items:
            if item.is_unblock:
                after.pop(item.id, None)
    return after
