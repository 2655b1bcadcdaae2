"""The reader thread: work off the event loop, in the caller's context, drained before a stop
closes what that work writes to."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from bot.logs import REQUEST_ID
from bot.reading import drained, off_loop


async def test_work_on_the_reader_thread_logs_under_the_caller_s_request_id() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        seen = await off_loop(lambda: (threading.current_thread().name, REQUEST_ID.get()))
    finally:
        REQUEST_ID.reset(token)
    assert seen[0].startswith("ndrbot-reader") and seen[1] == "req-42"


async def test_a_stop_waits_for_work_a_cancelled_answer_left_on_the_reader_thread() -> None:
    release = threading.Event()
    written: list[str] = []

    def slow_write() -> None:
        release.wait(5)
        written.append("tick")

    answer = asyncio.ensure_future(off_loop(slow_write))
    await asyncio.sleep(0.05)
    answer.cancel()  # the stop's grace ran out: the answer is cancelled ...
    with contextlib.suppress(asyncio.CancelledError):
        await answer
    assert written == []  # ... but its write is still under way on the reader thread
    threading.Timer(0.1, release.set).start()
    await drained()
    assert written == ["tick"]  # done before anything closes the database
