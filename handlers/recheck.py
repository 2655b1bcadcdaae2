"""Re-check: the same checks again for the same facts, and what changed, computed not re-worded.

The rules (pure code below follows them; the router loads the card, runs its stored plan and
saves the result):

1. A card can be re-checked when it was posted with a plan that queries DNS (the plan is stored
   with the card, so a click on any replica, or days later, runs exactly the same checks).
2. Each new result is compared with the line the card showed for the same check and target:
   a status that changed is said as "SPF for contoso.com now passes (was fail)"; one that did not
   change and does not pass is said as "still fails" (or "still could not be checked"); a check
   that passes as before is not mentioned. A check without a line before (none, or an older
   card) is said as it is now.
3. When every check that failed or warned before now passes, the card says the incident looks
   fixed and what to do next; a check that could not run (unknown) is never counted as fixed.
4. The card's check lines are replaced by the new ones; a check card's header and note are said
   again from them; the rest of the card stays as posted (a bounce card is about the bounce).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from handlers.card import Card, CheckLine, Recheck
from handlers.cards import with_check_lines

__all__ = ["FIXED_NEXT", "compare", "rechecked"]

_VERB = {"pass": "passes", "warn": "warns", "fail": "fails", "unknown": "could not be checked"}
_BAD = ("fail", "warn")
FIXED_NEXT = (
    "Every check that failed now passes: the incident looks fixed. Send the message again. "
    "Receivers can take a while to notice: DNS records up to their TTL (often an hour), "
    "blocklist removals up to a day in the caches of the servers that query them."
)


def _name(line: CheckLine) -> str:
    return f"{line.name} for {line.target}" if line.target else line.name


def compare(
    before: Sequence[CheckLine], after: Sequence[CheckLine]
) -> tuple[tuple[str, ...], bool]:
    """One sentence per check worth saying (rule 2), and whether the incident looks fixed (3)."""
    old = {(line.name, line.target): line.status for line in before}
    changes: list[str] = []
    for line in after:
        was = old.get((line.name, line.target))
        now = _VERB.get(line.status, line.status)
        if was is None:
            changes.append(f"{_name(line)} {now}")
        elif was != line.status:
            changes.append(f"{_name(line)} now {now} (was {was})")
        elif line.status != "pass":
            changes.append(f"{_name(line)} still {now}")
    failed_before = [key for key, status in old.items() if status in _BAD]
    now_by_key = {(line.name, line.target): line.status for line in after}
    fixed = bool(failed_before) and all(now_by_key.get(key) == "pass" for key in failed_before)
    return tuple(changes), fixed


def rechecked(card: Card, lines: Sequence[CheckLine], *, by: str, at: str) -> Card:
    """``card`` with ``lines`` as its checks and the Re-check note saying what changed (rule 4)."""
    changes, fixed = compare(card.checks, lines)
    if not changes:
        changes = ("Nothing changed: every check passes, as before.",)
    return replace(with_check_lines(card, lines), recheck=Recheck(by, at, changes, fixed))
