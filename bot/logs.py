"""Logging for ``ndrbot serve``: plain lines, or one JSON object per line (``NDRBOT_LOG_FORMAT=
json``) with the request id of the HTTP request being handled, for log collectors.

Nothing here adds content: what is logged is what the code logs, and the code never logs paste
text or secrets (ids, sizes, classes of error only).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from aiohttp import web

__all__ = ["JsonFormatter", "configure_logging", "request_ids"]

REQUEST_ID: ContextVar[str] = ContextVar("ndrbot_request_id", default="")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id (and the error's
    class and frames when one is logged with ``exc_info``)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            data["request_id"] = request_id
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(fmt: str) -> None:
    """INFO and above (some libraries log request bodies at DEBUG), as ``fmt``: text or json."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give each request an id (the caller's ``X-Request-Id`` when it is a safe token), log
    lines of its handling carry it, and the answer returns it."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
    token = REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    finally:
        REQUEST_ID.reset(token)
    response.headers["X-Request-Id"] = request_id
    return response
