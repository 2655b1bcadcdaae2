"""A fake Bot Framework connector (the Teams ``serviceUrl``) on loopback: a real HTTP peer for
botbuilder's ``ConnectorClient``.

Use it as an async context manager (or the ``fake_teams_connector`` pytest fixture)::

    async with FakeTeamsConnector() as connector:
        activity["serviceUrl"] = connector.service_url
        ... post the activity to /api/messages ...
        (reply,) = await connector.wait_for("reply")
        assert reply.activity["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"

What it serves (all on ``127.0.0.1``, a free port), as the Connector REST API v3 defines them:

``POST /v3/conversations/{conversationId}/activities`` — send to a conversation (kind ``"send"``);
    answers ``{"id": "<new activity id>"}``.
``POST /v3/conversations/{conversationId}/activities/{activityId}`` — reply to an activity
    (kind ``"reply"``); answers ``{"id": ...}``.
``PUT /v3/conversations/{conversationId}/activities/{activityId}`` — update an activity
    (kind ``"update"``); answers ``{"id": activityId}``.
``connector.add_file(name, content)`` — serves ``content`` at a pre-authenticated download URL,
    as Teams' ``downloadUrl`` of a file consent / download-info attachment (kind ``"file"``).

Every request is recorded as a :class:`Call`: ``kind``, ``conversation_id``, ``activity_id``, the
JSON ``activity`` and the request ``headers``. ``connector.calls_of(kind)`` filters them and
``await connector.wait_for(kind, count=1)`` waits until that many arrived.

Failures, for the next ``times`` requests of a kind::

    connector.fail("send", status=500)                  # HTTP 500 with an ErrorResponse body
    connector.fail("send", status=429, retry_after=7)   # HTTP 429 + Retry-After: 7
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

__all__ = ["Call", "FakeTeamsConnector", "fake_teams_connector"]


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    kind: str  # "send" | "reply" | "update" | "file"
    conversation_id: str
    activity_id: str | None
    activity: dict[str, Any]
    headers: dict[str, str]

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card content of the first attachment, if there is one."""
        for attachment in self.activity.get("attachments") or ():
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment["content"]
                return content
        return None


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    times: int


@dataclass
class FakeTeamsConnector:
    """The fake connector (see the module docstring)."""

    calls: list[Call] = field(default_factory=list)
    _files: dict[str, bytes] = field(default_factory=dict)
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Condition | None = None

    async def __aenter__(self) -> FakeTeamsConnector:
        app = web.Application()
        base = "/v3/conversations/{conversation}/activities"
        app.router.add_post(base, self._send)
        app.router.add_post(base + "/{activity}", self._reply)
        app.router.add_put(base + "/{activity}", self._update)
        app.router.add_get("/files/{key}/{name}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._arrived = asyncio.Condition()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def service_url(self) -> str:
        """The ``serviceUrl`` to put in activities (with the trailing slash Teams sends)."""
        return f"http://127.0.0.1:{self._port}/"

    def add_file(self, name: str, content: bytes) -> str:
        """Serve ``content``; return its download URL."""
        key = f"f{next(self._ids)}"
        self._files[key] = content
        return f"{self.service_url}files/{key}/{name}"

    def fail(
        self, kind: str, *, status: int, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Make the next ``times`` requests of ``kind`` fail with HTTP ``status``."""
        self._failures.setdefault(kind, []).append(_Failure(status, retry_after, times))

    def calls_of(self, kind: str) -> list[Call]:
        """The requests of one kind, in arrival order."""
        return [c for c in self.calls if c.kind == kind]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``count`` requests of ``kind`` arrived; return them."""
        assert self._arrived is not None, "use the fake inside 'async with'"
        async with self._arrived:
            try:
                await asyncio.wait_for(
                    self._arrived.wait_for(lambda: len(self.calls_of(kind)) >= count), timeout
                )
            except TimeoutError:
                seen = [c.kind for c in self.calls]
                raise AssertionError(
                    f"{count} request(s) of kind {kind!r} expected within {timeout} s; got {seen}"
                ) from None
        return self.calls_of(kind)

    # -- serving --------------------------------------------------------------------------

    async def _record(self, request: web.Request, kind: str) -> web.Response | None:
        activity: dict[str, Any] = {}
        if request.can_read_body:
            body = await request.json()
            activity = body if isinstance(body, dict) else {}
        self.calls.append(
            Call(
                kind,
                request.match_info.get("conversation", ""),
                request.match_info.get("activity"),
                activity,
                dict(request.headers),
            )
        )
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
        return self._failure(kind)

    def _failure(self, kind: str) -> web.Response | None:
        queue = self._failures.get(kind)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
        code = "TooManyRequests" if failure.status == 429 else "ServiceError"
        return web.json_response(
            {"error": {"code": code, "message": "fake connector failure"}},
            status=failure.status,
            headers=headers,
        )

    async def _send(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "send")
        return failed or web.json_response({"id": f"1:{next(self._ids)}"}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "reply")
        return failed or web.json_response({"id": f"1:{next(self._ids)}"}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        failed = await self._record(request, "update")
        return failed or web.json_response({"id": request.match_info["activity"]})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        failed = await self._record(request, "file")
        if failed is not None:
            return failed
        content = self._files.get(request.match_info["key"])
        if content is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=content, content_type="application/octet-stream")


@pytest.fixture
async def fake_teams_connector() -> AsyncIterator[FakeTeamsConnector]:
    """A running :class:`FakeTeamsConnector`."""
    async with FakeTeamsConnector() as connector:
        yield connector
