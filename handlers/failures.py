"""Logging a bug without what it was handed: the error's class and frames, never its message.

An exception's text may quote what was pasted (an address, a whole bounce), and pasted text is
never logged. A TaskGroup's ExceptionGroup is unwrapped to the error that actually happened.
Every place that catches "anything else" logs through :func:`log_failure`.
"""

from __future__ import annotations

import logging
import traceback

__all__ = ["innermost", "log_failure"]


def innermost(error: BaseException) -> BaseException:
    """What actually went wrong inside a TaskGroup's ExceptionGroup (the error itself if not)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def log_failure(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log that ``what`` failed: the class of what went wrong and the frames, not the text."""
    leaf = innermost(error)
    frames = traceback.format_tb(error.__traceback__)
    if leaf is not error:
        frames += traceback.format_tb(leaf.__traceback__)
    logger.error("%s failed: %s\n%s", what, type(leaf).__name__, "".join(frames))
