"""``POST /api/dmarc``: DMARC aggregate reports in, with the bearer token and size cap of
``/api/ndr``.

    curl -H "Authorization: Bearer $NDRBOT_INTAKE_TOKEN" --data-binary @report.xml.gz \\
         "https://ndrbot.example.com/api/dmarc?source=rua-mailbox"

The body is the report as it came: XML, ``.xml.gz``, ``.zip``, or the whole message with the
report attached (told apart by its bytes; the Content-Type is not trusted). Answers: 200 with one
result per report found (``stored``, ``duplicate``), 400 when nothing in it could be read (it is
kept, with why, for a look), 401 bad token, 413 over the cap, 503 intake off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.alerts.http import authorised, json_error, read_body, source_tag
from bot.dmarc.service import Dmarc
from bot.reading import off_loop
from handlers.failures import log_failure

__all__ = ["DMARC_PATH", "DmarcIntake", "dmarc_handler"]

log = logging.getLogger("ndrbot.dmarc")

DMARC_PATH = "/api/dmarc"


def dmarc_handler(
    dmarc: Dmarc, *, token: str | None, max_bytes: int
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for ``POST /api/dmarc``."""

    async def handle(request: web.Request) -> web.Response:
        if not token:
            return json_error(503, "Report intake is off: set NDRBOT_INTAKE_TOKEN to turn it on.")
        if not authorised(request.headers.get("Authorization", ""), token):
            return json_error(
                401, "Missing or wrong bearer token.", **{"WWW-Authenticate": 'Bearer realm="ndr"'}
            )
        body = await read_body(request, max_bytes)
        if body is None:
            return json_error(
                413, f"The report is over the limit of {max_bytes} bytes (NDRBOT_MAX_PASTE_BYTES)."
            )
        source = source_tag("api", request.query.get("source"))
        try:
            results = await off_loop(dmarc.ingest, body, source=source)
        except Exception as error:
            log_failure(log, "dmarc intake", error)
            return json_error(
                500, "ndrbot could not take this report because of an internal error."
            )
        status = 400 if all(r.status == "refused" for r in results) else 200
        return web.json_response({"reports": [r.to_json() for r in results]}, status=status)

    return handle


class DmarcIntake:
    """The server part for DMARC reports: ``POST /api/dmarc`` and the hourly sweep."""

    def __init__(self, dmarc: Dmarc, *, token: str | None, max_bytes: int) -> None:
        from bot.dmarc.sweep import DmarcSweeper

        self.handler = dmarc_handler(dmarc, token=token, max_bytes=max_bytes)
        self.sweeper = DmarcSweeper(dmarc)
        self._task: asyncio.Task[None] | None = None

    def attach(self, app: web.Application) -> None:
        """Serve ``POST /api/dmarc``."""
        app.router.add_post(DMARC_PATH, self.handler)

    async def start(self) -> None:
        """Start the sweep (silence, failing senders, the weekly digest)."""
        self._task = asyncio.create_task(self.sweeper.run_forever())

    async def stop(self) -> None:
        """Stop the sweep."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
