"""Socket Mode: with an app-level token ndrbot connects out to Slack (no public URL), and the
same payloads give the same answers as over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from bot.slack import SlackIntegration
from bot.store.chat import ChatStore
from handlers.router import Router
from tests.fakes import FakeSlackApi
from tests.slack.conftest import TOKEN, header, payload

APP_TOKEN = "xapp-1-A0NDRBOT1-1234-abcdef"


@pytest.fixture
async def socket_bot(
    slack_bot_parts: tuple[Router, ChatStore],
) -> AsyncIterator[FakeSlackApi]:
    router, store = slack_bot_parts
    async with FakeSlackApi(token=TOKEN, app_token=APP_TOKEN) as slack:
        settings = Settings(
            slack_bot_token=TOKEN, slack_app_token=APP_TOKEN, slack_api_url=slack.api_url
        )
        settings.validate()
        app = web.Application()
        integration = SlackIntegration(settings, router, store)
        integration.attach(app)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        await integration.start()  # the Socket Mode connection
        try:
            await slack.wait_for("socket_connect")
            async with (
                aiohttp.ClientSession() as http,
                http.post(server.make_url("/slack/events"), data="{}") as response,
            ):
                assert response.status == 404  # no HTTP route in Socket Mode
            yield slack
        finally:
            await integration.stop()
            await server.close()


async def test_a_pasted_bounce_over_socket_mode_gets_its_card(socket_bot: FakeSlackApi) -> None:
    (connect,) = socket_bot.calls_to("apps.connections.open")
    assert connect.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    envelope = await socket_bot.socket_send("events_api", payload("message_bounce.json"))
    (ack,) = await socket_bot.wait_for("socket_ack")
    assert ack.params["envelope_id"] == envelope
    (post,) = await socket_bot.wait_for("chat.postMessage")
    assert post.params["thread_ts"] == "1741140600.000200"
    assert "Microsoft 365 has blocked this account" in header(post.params)


async def test_a_command_over_socket_mode_is_acked_then_answered(socket_bot: FakeSlackApi) -> None:
    command = payload("command_spfcheck.json", RESPONSE_URL=socket_bot.response_url("s"))
    await socket_bot.socket_send("slash_commands", command, accepts_response_payload=True)
    (ack,) = await socket_bot.wait_for("socket_ack")
    assert ack.params["payload"]["text"] == ":hourglass_flowing_sand: Checking…"
    (result,) = await socket_bot.wait_for("response_url")
    assert header(result.params) == ":white_check_mark: SPF check: contoso.com"
