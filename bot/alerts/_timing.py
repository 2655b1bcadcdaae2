"""Time seams for the background loops: an injected sleep that a wake-up can cut short."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

__all__ = ["Sleep", "nap", "repeat"]

Sleep = Callable[[float], Awaitable[None]]


async def nap(sleep: Sleep, seconds: float, wake: asyncio.Event) -> None:
    """Sleep ``seconds`` with the injected ``sleep``, or until ``wake`` is set (then clear it)."""
    if wake.is_set():
        wake.clear()
        return
    sleeper = asyncio.ensure_future(sleep(max(seconds, 0.0)))
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waker):
            task.cancel()
        # Their own cancellations come back as values; a cancellation of *this* task (a stop()
        # arriving now) still raises. Suppressing CancelledError here swallowed that stop and
        # left the loop running forever (seen as a hung, spinning test).
        await asyncio.gather(sleeper, waker, return_exceptions=True)
        wake.clear()


async def repeat(
    work: Callable[[], Awaitable[object]],
    *,
    next_due: Callable[[], datetime | None],
    clock: Callable[[], datetime],
    sleep: Sleep,
    wake: asyncio.Event,
    idle: float,
    least: float,
    log: logging.Logger,
    what: str,
) -> None:
    """A background loop: do ``work``, then sleep until ``next_due()`` (at most ``idle``, at
    least ``least`` seconds) or a wake-up, forever. A failed pass (a locked database, say) is
    logged and the loop goes on."""
    while True:
        try:
            await work()
        except Exception:
            log.exception("%s failed; trying again shortly", what)
        upcoming = next_due()
        wait = idle
        if upcoming is not None:
            wait = min(idle, max((upcoming - clock()).total_seconds(), least))
        await nap(sleep, wait, wake)
