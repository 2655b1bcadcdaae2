"""A fake Slack Web API on loopback: a real HTTP peer for slack_sdk, bolt and our own clients.

Use it as an async context manager (or the ``fake_slack_api`` pytest fixture)::

    async with FakeSlackApi(token="xoxb-test") as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.chat_postMessage(channel="C1", text="hi")
        (call,) = slack.calls_to("chat.postMessage")
        assert call.params["channel"] == "C1"

What it serves (all on ``127.0.0.1``, a free port):

``slack.api_url``  (``http://127.0.0.1:PORT/api/``) — the Web API base for ``SLACK_API_URL``.
    Answers ``auth.test``, ``chat.postMessage``, ``chat.update`` (the stored message changes),
    ``chat.postEphemeral``, ``conversations.history`` (top-level messages only, as Slack),
    ``conversations.replies``, ``views.open``, ``usergroups.users.list`` and ``files.info`` with Slack's ``{"ok": true, ...}``
    shapes; any other method gets ``{"ok": false, "error": "unknown_method"}``. Parameters may come
    as a query string, a form or JSON, as slack_sdk sends them. The bearer token is checked when
    ``token`` is given: missing -> ``not_authed``, wrong -> ``invalid_auth`` (both HTTP 200).
``slack.response_url()`` — a fresh ``response_url`` to put in a slash command or interaction
    payload; POSTs to it are recorded under the method name ``"response_url"``.
Files (``tests/fakes/slack_files.py``, mixed in):
``slack.add_file(name, content)`` — registers a private file and returns its Slack file object
    (``id``, ``name``, ``size``, ``url_private``, ``url_private_download`` ...). Downloads need the
    bearer token; without it Slack (and this fake) answer 200 with an HTML sign-in page.
    ``files.info`` returns the object.
Uploads (``files.uploadV2``, as slack_sdk does it): ``files.getUploadURLExternal`` gives an
    upload URL on this fake, a POST there stores the bytes (``slack.uploads[file_id]``), and
    ``files.completeUploadExternal`` finishes them (``slack.completed``).

Every request is recorded as a :class:`Call` (``method``, ``params``, ``headers``, ``path``) in
``slack.calls``; ``slack.calls_to(method)`` filters them and ``await slack.wait_for(method,
count=1)`` waits until that many arrived (for work Slack triggers in the background).

Failures, for the next ``times`` calls of a method (``"response_url"`` and ``"files"`` included)::

    slack.fail("chat.postMessage", status=500)                  # HTTP 500
    slack.fail("chat.postMessage", status=429, retry_after=7)   # HTTP 429 + Retry-After: 7
    slack.fail("chat.postMessage", error="channel_not_found")   # 200 {"ok": false, ...}

``slack.usergroups[group_id] = ["U1", ...]`` sets the members ``usergroups.users.list`` returns.

Socket Mode: with ``app_token`` set, ``apps.connections.open`` (called with that token) hands
out a WebSocket URL on this fake. A client that connects gets Slack's ``hello`` (recorded as
``"socket_connect"``); ``await slack.socket_send("events_api", payload)`` sends it an envelope
and returns its ``envelope_id``; what the client sends back is recorded as ``"socket_ack"``.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.fakes.slack_files import SlackFiles

__all__ = ["Call", "FakeSlackApi", "fake_slack_api"]

TEAM_ID = "T0NDRBOT1"
BOT_USER_ID = "U0NDRBOT1"
BOT_ID = "B0NDRBOT1"


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", "response_url", "files", ...
    params: dict[str, Any]  # query, form and JSON fields merged (JSON values kept as JSON)
    headers: dict[str, str]
    path: str
    peer: str = ""  # the client's end of the TCP connection it came over ("127.0.0.1:53412")


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int
    channel: str | None = None  # only calls to this channel fail (None: every call)


@dataclass
class FakeSlackApi(SlackFiles):
    """The fake Web API server (see the module docstring)."""

    token: str | None = None  # the expected bearer token; None accepts any
    app_token: str | None = None  # the app-level token for apps.connections.open (Socket Mode)
    # Slack lists the token's granted scopes in X-OAuth-Scopes on every answer (None: no header).
    scopes: tuple[str, ...] | None = None
    clock_offset: float = 0.0  # seconds Slack's Date header is ahead of this machine's clock
    calls: list[Call] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # channel -> newest first
    _contents: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)  # files the bot uploaded, by id
    completed: list[dict[str, Any]] = field(default_factory=list)  # completeUploadExternal
    # How many files.info calls an upload stays "processing" (no mimetype yet), as Slack's
    # asynchronous scan makes it; None: it never finishes.
    processing_polls: int | None = 0
    _pending_uploads: dict[str, str] = field(default_factory=dict)
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Condition | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlackApi:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._arrived = asyncio.Condition()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for socket in self._sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what tests use -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base (with the trailing slash slack_sdk expects)."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str | None = None) -> str:
        """A ``response_url`` served by this fake."""
        return f"{self.base_url}/response/{key or next(self._ts)}"

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``channel`` only, when given) fail
        (HTTP ``status``, or ``ok: false``)."""
        if status == 200 and error is None:
            raise ValueError("fail() needs an HTTP status other than 200, or an error code")
        self._failures.setdefault(method, []).append(
            _Failure(status, error, retry_after, times, channel)
        )

    def recover(self, method: str) -> None:
        """Forget the failures still queued for ``method``."""
        self._failures.pop(method, None)

    async def socket_send(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send a Socket Mode envelope (``events_api``, ``slash_commands``, ``interactive``)."""
        assert self._sockets, "no Socket Mode client is connected"
        envelope_id = f"env-{next(self._ts)}"
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in arrival order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``count`` calls of ``method`` arrived; return them (AssertionError on timeout)."""
        assert self._arrived is not None, "use the fake inside 'async with'"
        async with self._arrived:
            try:
                await asyncio.wait_for(
                    self._arrived.wait_for(lambda: len(self.calls_to(method)) >= count), timeout
                )
            except TimeoutError:
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"{count} call(s) of {method} expected within {timeout} s; got {seen}"
                ) from None
        return self.calls_to(method)

    # -- serving --------------------------------------------------------------------------

    async def _record(self, request: web.Request, method: str) -> Call:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update({k: v for k, v in (await request.post()).items()})
        address = request.transport.get_extra_info("peername") if request.transport else None
        peer = f"{address[0]}:{address[1]}" if address else ""
        call = Call(method, params, dict(request.headers), request.path_qs, peer)
        self.calls.append(call)
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
        return call

    def _failure(self, method: str, params: dict[str, Any] | None = None) -> web.Response | None:
        queue = self._failures.get(method)
        channel = (params or {}).get("channel")
        failure = next((f for f in queue or () if f.channel in (None, channel)), None)
        if queue is None or failure is None:
            return None
        failure.times -= 1
        if failure.times <= 0:
            queue.remove(failure)
        if failure.error is not None:
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status)
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
        if failure.status == 429:
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers=headers
            )
        return web.Response(status=failure.status, text="internal error", headers=headers)

    def _auth_error(
        self, headers: dict[str, str], params: dict[str, Any], expected: str | None
    ) -> str | None:
        if expected is None:
            return None
        auth = headers.get("Authorization", "")
        given = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        if not given:
            return "not_authed"
        return None if given == expected else "invalid_auth"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = await self._record(request, method)
        failed = self._failure(method, call.params)
        if failed is not None:
            return failed
        socket = method == "apps.connections.open"
        expected = self.app_token if socket else self.token
        if socket and expected is None:
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        error = self._auth_error(call.headers, call.params, expected)
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        response = web.json_response({"ok": True, **answer(call.params)})
        if self.scopes is not None:
            response.headers["X-OAuth-Scopes"] = ",".join(self.scopes)
        if self.clock_offset:
            when = time.time() + self.clock_offset
            response.headers["Date"] = email.utils.formatdate(when, usegmt=True)
        return response

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "ndrbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": params.get("text", ""),
            "ts": ts,
            "username": "ndrbot",
            "bot_id": BOT_ID,
        }
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        return message

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        channel = params.get("channel", "")
        message = self._message(params, ts)
        metadata = params.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as JSON text
            metadata = json.loads(metadata)
        if metadata:
            message["metadata"] = metadata
        self.history.setdefault(channel, []).insert(0, message)
        return {"channel": channel, "ts": ts, "message": message}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        # As Slack: the channel's own messages, not the replies in their threads.
        messages = [
            m
            for m in self.history.get(params.get("channel", ""), [])
            if m.get("thread_ts", m["ts"]) == m["ts"]
        ]
        limit = int(params.get("limit") or 100)
        return {"messages": messages[:limit], "has_more": len(messages) > limit}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        # The thread's parent first, then its replies, oldest first.
        parent = str(params.get("ts", ""))
        thread = [
            m
            for m in reversed(self.history.get(params.get("channel", ""), []))
            if m["ts"] == parent or m.get("thread_ts") == parent
        ]
        limit = int(params.get("limit") or 100)
        return {"messages": thread[:limit], "has_more": len(thread) > limit}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = params.get("ts", "")
        message = self._message(params, ts)
        for stored in self.history.get(params.get("channel", ""), []):
            if stored["ts"] == ts:  # the message now reads as edited, as in Slack
                stored["text"] = message["text"]
                stored["blocks"] = message.get("blocks", [])
        return {
            "channel": params.get("channel", ""),
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._next_ts()}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view") or {}
        if isinstance(view, str):
            view = json.loads(view)
        return {
            "view": {
                "id": f"V{next(self._ts):08d}",
                "team_id": TEAM_ID,
                "type": view.get("type", "modal"),
                "title": view.get("title"),
                "blocks": view.get("blocks", []),
                "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""),
                "state": {"values": {}},
                "hash": "156772938.1827394",
                "clear_on_close": False,
                "notify_on_close": False,
                "root_view_id": None,
                "app_id": "A0NDRBOT1",
                "bot_id": BOT_ID,
            }
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/socket"}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"users": list(self.usergroups.get(params.get("usergroup", ""), []))}

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "response_url")
        failed = self._failure("response_url")
        return failed or web.json_response({"ok": True})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await self._record(request, "socket_connect")
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0NDRBOT1"},
            }
        )
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.calls.append(Call("socket_ack", json.loads(message.data), {}, "/socket"))
                assert self._arrived is not None
                async with self._arrived:
                    self._arrived.notify_all()
        self._sockets.remove(socket)
        return socket


@pytest.fixture
async def fake_slack_api() -> AsyncIterator[FakeSlackApi]:
    """A running :class:`FakeSlackApi` expecting the token ``xoxb-test-token``."""
    async with FakeSlackApi(token="xoxb-test-token") as slack:
        yield slack
