"""The background loops' sleep: a stop that arrives while a nap is ending is never swallowed."""

from __future__ import annotations

import asyncio

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
