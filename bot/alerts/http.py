"""``POST /api/ndr``: the intake route, a thin adapter from HTTP to :class:`Intake`.

    curl -H "Authorization: Bearer $NDRBOT_INTAKE_TOKEN" \\
         -H "Content-Type: message/rfc822" --data-binary @bounce.eml \\
         "https://ndrbot.example.com/api/ndr?source=helpdesk-mailbox"

The body is the raw message or the bounce text (any text or message type), or JSON
``{"message": "...", "source": "..."}``. Answers: 200 read (or a duplicate, or not a bounce),
202 kept but not readable (an alert says so), 400 not a message, 401 bad token (compared in
constant time), 413 over the size cap, 503 intake not configured.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.alerts.intake import Intake
from bot.reading import off_loop
from handlers.failures import log_failure
from handlers.ndr import InputTooLarge
from handlers.refusals import Refusal

log = logging.getLogger(__name__)

__all__ = ["authorised", "intake_handler", "json_error", "read_body", "source_tag"]

_SOURCE = re.compile(r"[^A-Za-z0-9@._:+-]")
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
_STATUS = {"diagnosed": 200, "not_a_bounce": 200, "duplicate": 200, "unreadable": 202}


def json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def source_tag(kind: str, text: str | None) -> str:
    """``kind:name`` for what a caller says it is (``?source=``), cut to a safe label."""
    cleaned = _SOURCE.sub("", text or "")[:64]
    return f"{kind}:{cleaned}" if cleaned else kind


def authorised(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # hmac.compare_digest: the time taken does not tell a caller how much of a guess was right.
    return hmac.compare_digest(given.strip().encode(), token.encode()) and (
        scheme.lower() == "bearer"
    )


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, read in chunks; None as soon as it passes ``limit`` (413, nothing kept)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class BadRequest(Refusal):
    """The request is not in a shape intake takes; the message says what to send instead."""


def _message(body: bytes, content_type: str) -> tuple[bytes, str | None]:
    """(message bytes, source from the body) or BadRequest with what to send instead."""
    if content_type in _FORMS:
        raise BadRequest("Send the bounce as the request body (or as JSON), not as a form.")
    if content_type != "application/json":
        return body, None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest('The body is not valid JSON: send {"message": "<the bounce>"}.') from None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        raise BadRequest('The JSON needs a "message" string holding the bounce.')
    source = data.get("source")
    return data["message"].encode("utf-8"), source if isinstance(source, str) else None


def intake_handler(
    intake: Intake, *, token: str | None, max_bytes: int, workers: int = 8
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for ``POST /api/ndr``.

    The answer says what became of the bounce (read, duplicate, unreadable, refused), so it comes
    after reading; but reading runs in a worker thread, at most ``workers`` at a time, so a burst
    of submissions never holds up the acknowledgement of a Slack or Teams request."""
    slots = asyncio.Semaphore(workers)

    async def handle(request: web.Request) -> web.Response:
        """Authenticate, cap, read and hand one bounce to intake."""
        if not token:
            return json_error(503, "NDR intake is off: set NDRBOT_INTAKE_TOKEN to turn it on.")
        if not authorised(request.headers.get("Authorization", ""), token):
            return json_error(
                401, "Missing or wrong bearer token.", **{"WWW-Authenticate": 'Bearer realm="ndr"'}
            )
        too_large = f"The bounce is over the limit of {max_bytes} bytes (NDRBOT_MAX_PASTE_BYTES)."
        body = await read_body(request, max_bytes)
        if body is None:
            return json_error(413, too_large)
        try:
            message, named = _message(body, request.content_type)
            async with slots:
                reading = await off_loop(intake.read, message)
            source = source_tag("intake", named or request.query.get("source"))
            result = intake.take(message, source=source, reading=reading)
        except InputTooLarge:
            return json_error(413, too_large)
        except Refusal as refusal:
            return json_error(400, str(refusal))
        except Exception as error:
            log_failure(log, "intake", error)  # a bug, not the sender's fault: say nothing of it
            return json_error(
                500, "ndrbot could not take this bounce because of an internal error."
            )
        if result.status == "garbage":
            return json_error(400, result.message)
        return web.json_response(result.to_json(), status=_STATUS.get(result.status, 200))

    return handle
