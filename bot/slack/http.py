"""``POST /slack/events``: Slack's HTTP requests into bolt's ``AsyncApp``, signatures checked first.

The translation is bolt's own aiohttp adapter (``slack_bolt.adapter.aiohttp``). In front of it,
:class:`SignatureGate` rejects a request whose signature is forged (v0 HMAC-SHA256 over
``v0:{timestamp}:{body}``), stale (more than five minutes off) or replayed (the same signature
twice; Slack signs each retry afresh), with 401, before bolt parses it: bolt also verifies, but
it logs the body of a request it rejects, and a body may be a pasted bounce.
(docs.slack.dev "Verifying requests from Slack".)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import Clock, SignatureVerifier

__all__ = ["SignatureGate", "events_handler"]

log = logging.getLogger(__name__)
WINDOW = 300  # seconds, Slack's documented tolerance


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        """The injected time (seconds since the epoch)."""
        return self._now()


class SignatureGate:
    """Checks Slack's request signature and remembers the ones seen within the window."""

    def __init__(self, signing_secret: str, *, now: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(now))
        self._now = now
        self._seen: dict[str, float] = {}

    def refusal(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """Why the request must be refused, or None when it is Slack's and new."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not signature:
            return "unsigned"
        if abs(self._now() - int(timestamp)) > WINDOW:
            return "stale timestamp"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "bad signature"
        now = self._now()
        oldest = next(iter(self._seen.values()), None)
        if oldest is not None and oldest < now:
            self._seen = {s: t for s, t in self._seen.items() if t >= now}
        if signature in self._seen:
            return "replayed"
        self._seen[signature] = int(timestamp) + WINDOW
        return None


def events_handler(
    app: AsyncApp, gate: SignatureGate
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for Events API, slash command and interactivity requests."""

    async def handle(request: web.Request) -> web.StreamResponse:
        """Refuse what is not Slack's; hand the rest to bolt and return its answer."""
        body = await request.read()
        refusal = gate.refusal(body, request.headers)
        if refusal is not None:
            log.warning("refused a Slack request: %s (%d bytes)", refusal, len(body))
            return web.json_response({"error": "invalid request"}, status=401)
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry:
            log.info("slack retry %s (%s)", retry, request.headers.get("X-Slack-Retry-Reason", ""))
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    return handle
