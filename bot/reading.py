"""Where the server does its CPU work: reading and diagnosing a bounce, off the event loop.

Python runs one thread at a time (the GIL). Reading is pure Python, so eight readers in eight
threads go no faster than one, and each takes its turn at the GIL away from the event loop, whose
turn is what acknowledges Slack and Teams requests in time. So every reading in the process goes
through one reader thread, in order: the loop and the reader take turns, and acks wait at most
one switch interval (5 ms) for theirs.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["drained", "off_loop"]

P = ParamSpec("P")
T = TypeVar("T")

_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ndrbot-reader")


async def off_loop(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``work(*args, **kwargs)`` on the reader thread and wait for it without blocking the
    loop; in the caller's context (its request id reaches the logs written there)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_READER, lambda: context.run(work, *args, **kwargs))


async def drained() -> None:
    """Wait until the work already given to the reader thread is done. A cancelled caller
    stops waiting, but its work goes on there: a stop drains the thread before it closes the
    database that work writes to."""
    await asyncio.get_running_loop().run_in_executor(_READER, lambda: None)
