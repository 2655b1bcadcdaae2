"""The card an answer posts, with its buttons: a diagnosis's card or a check's, each able to be
re-checked when its checks query DNS, shared when it was answered privately, and a blocklisting
sent to its delisting request. Pure: what a button needs later is kept in the card's meta."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from handlers.card import Action, ActionKind, Card
from handlers.cards import check_card, diagnosis_card
from handlers.checks import CheckPlan, CheckResult
from handlers.delisting import delist_request
from handlers.diagnosis import Diagnosis
from knowledge import Catalogue

__all__ = ["check_answer", "diagnosis_answer", "with_recheck"]


def diagnosis_answer(
    diagnosis: Diagnosis,
    catalogue: Catalogue,
    checks: list[CheckResult],
    *,
    card_id: str,
    private: bool,
    place: str = "",
) -> Card:
    """The diagnosis's card with its checks' results; ``place`` is where it is posted."""
    card = diagnosis_card(diagnosis, catalogue, checks, card_id=card_id)
    actions: list[Action] = []
    if private:
        # A private diagnosis (/ndr) can be shared, like a check result.
        actions.append(Action(ActionKind.SHARE, "Share in channel"))
    card = with_recheck(replace(card, actions=tuple(actions)), diagnosis.plan if checks else None)
    request = delist_request(diagnosis, catalogue)
    if request is not None:
        card = replace(
            card,
            actions=(*card.actions, Action(ActionKind.DELIST, "Request delisting")),
            meta={**card.meta, "delist": request.to_json()},
        )
    if place:
        card = replace(card, meta={**card.meta, "place": place})
    return card


def check_answer(
    title: str,
    results: list[CheckResult],
    plan: CheckPlan,
    catalogue: Catalogue,
    *,
    card_id: str,
    checklist: str = "",
    portals: Sequence[str] = (),
) -> Card:
    """A check's card, shareable, ending with the catalogue's ``checklist`` and ``portals``."""
    card = check_card(
        title,
        results,
        card_id=card_id,
        shareable=True,
        checklist=catalogue.checklists[checklist] if checklist else None,
        portals=[catalogue.portal(name) for name in portals],
    )
    return with_recheck(card, plan)


def with_recheck(card: Card, plan: CheckPlan | None) -> Card:
    """``card`` with a Re-check button and its plan stored, when the plan queries DNS."""
    if plan is None or not plan.runnable:
        return card
    return replace(
        card,
        actions=(*card.actions, Action(ActionKind.RECHECK, "Re-check")),
        meta={**card.meta, "plan": plan.to_json()},
    )
