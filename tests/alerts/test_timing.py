"""The background loops' sleep: a stop that arrives while a nap is ending is never swallowed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from bot.alerts import Alerts
from bot.alerts._timing import nap


async def test_a_cancel_during_the_nap_s_cleanup_still_stops_the_loop() -> None:
    # A sleep that is done at once, as the tests' fake sleep is: the nap ends and cleans up
    # immediately, so a stop() is likely to land inside that cleanup.
    async def instant(_seconds: float) -> None:
        await asyncio.sleep(0)

    wake = asyncio.Event()
    laps = 0

    async def loop() -> None:
        nonlocal laps
        while True:
            laps += 1
            await nap(instant, 1.0, wake)

    for delay in range(12):  # land the cancel at different points of the nap
        task = asyncio.create_task(loop())
        for _ in range(delay):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        assert task in done, f"cancel after {delay} turns was swallowed; {laps} laps"
        assert task.cancelled()


async def test_the_outbox_can_be_woken_from_a_worker_thread(
    alerts_factory: Callable[..., Alerts],
) -> None:
    """A paste is read in a worker thread; a trend alert it queues must still wake the outbox.
    asyncio.Event.set is not safe from another thread: the wake must run on the loop's thread."""

    class Recording(asyncio.Event):
        def __init__(self) -> None:
            super().__init__()
            self.threads: list[int] = []

        def set(self) -> None:
            self.threads.append(threading.get_ident())
            super().set()

    alerts = alerts_factory()
    await alerts.start()
    try:
        alerts.outbox.wake = wake = Recording()
        await asyncio.to_thread(alerts.wake_outbox)
        for _ in range(100):
            if wake.threads:
                break
            await asyncio.sleep(0.01)
        assert wake.threads == [threading.get_ident()]  # set once, on the loop's own thread
    finally:
        await alerts.stop()
