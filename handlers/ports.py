"""What the handlers need from the outside world, as small protocols.

The chat side (``bot``) implements them over SQLite and the platforms; tests implement them in
memory. Handlers never open a database or a socket themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from handlers.card import Card
from handlers.cases import Case
from handlers.dmarc.readiness import Gates
from handlers.dmarc.sources import DomainSummary
from handlers.events import Command

__all__ = [
    "CardStore",
    "CaseBook",
    "Clock",
    "DmarcReports",
    "Offload",
    "SeenMessages",
    "WatchCommands",
    "inline",
    "offloaded",
]

Clock = Callable[[], datetime]  # returns an aware UTC datetime
T = TypeVar("T")


class Offload(Protocol):
    """Runs CPU and storage work (building a card, saving it) where it does not hold up the
    event loop that acknowledges requests: a server's worker thread. Awaited for its result."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


async def inline(work: Callable[[], T], /) -> T:
    """The :class:`Offload` of a process with nothing to acknowledge (the console, tests)."""
    return work()


class _Offloading(Protocol):
    offload: Offload


S = TypeVar("S", bound=_Offloading)
P = ParamSpec("P")


def offloaded(
    method: Callable[Concatenate[S, P], T],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """A method whose work is all storage and CPU, awaited through its object's ``offload``."""

    @functools.wraps(method)
    async def through_offload(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.offload(lambda: method(self, *args, **kwargs))

    return through_offload


class SeenMessages(Protocol):
    """Remembers which incoming messages were already answered (retries, edits, restarts)."""

    def first_time(self, platform: str, conversation: str, message_id: str) -> bool:
        """True the first time this message is seen; False on every later call."""
        ...


class CardStore(Protocol):
    """Cards the bot posted that can change later (checklists), and who ticked what."""

    def save_card(self, card_id: str, card: Card) -> None:
        """Keep ``card`` so a later tick can re-render it."""
        ...

    def load_card(self, card_id: str) -> Card | None:
        """The card saved under ``card_id``, or None."""
        ...

    def set_tick(self, card_id: str, item_id: str, user: str | None, at: str) -> None:
        """Record that ``user`` ticked ``item_id`` at ``at`` (ISO 8601); None un-ticks it."""
        ...

    def ticks(self, card_id: str) -> dict[str, tuple[str, str]]:
        """``item_id -> (user, at)`` for every ticked item of a card."""
        ...

    def cards_at(self, place: str) -> list[tuple[str, Card]]:
        """The recent cards whose ``meta["place"]`` is ``place`` (``"slack:C123"``)."""
        ...


class CaseBook(Protocol):
    """Delisting requests marked sent, followed up in their card's thread (``handlers.cases``)."""

    def open_case(self, case: Case) -> bool:
        """Record a new case; False when its card already has one."""
        ...

    def open_cases(self, platform: str, conversation: str) -> list[Case]:
        """The cases of one conversation not closed yet, oldest first."""
        ...


class WatchCommands(Protocol):
    """The watch list, as the ``/ndrwatch`` command uses it (implemented with the alerts)."""

    def handle(self, command: Command) -> Awaitable[Card]:
        """Run ``/ndrwatch ARGS`` for the command's user (``command.is_admin`` says whether
        they may change the list) and return the reply card."""
        ...


class DmarcReports(Protocol):
    """The DMARC aggregate reports received, summed per domain (``bot.dmarc``)."""

    gates: Gates  # what /dmarcready asks of a domain before the next step

    async def summary(self, domain: str, days: int) -> DomainSummary:
        """``domain`` over the last ``days`` days, its biggest sources named."""
        ...

    async def chart(self, summary: DomainSummary) -> bytes | None:
        """A PNG of ``summary`` (messages per day, biggest sources), or None when none can be
        drawn here."""
        ...

    def take(self, data: bytes, *, source: str) -> list[tuple[str, str]]:
        """Store the reports in ``data`` (once each): ``(status, sentence)`` per report found,
        status ``stored``, ``duplicate`` or ``refused``. CPU work: call it off the loop."""
        ...
