"""Starting the Slack side: a Slack that does not answer does not hold up the server."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from bot.slack import SlackIntegration
from bot.store import open_database
from bot.store.chat import ChatStore
from handlers.router import Router
from tests.slack.conftest import SECRET, TOKEN


async def _silent(_request: web.Request) -> web.Response:
    await asyncio.sleep(3600)  # accepts the connection, never answers
    return web.Response()


async def test_a_slack_that_does_not_answer_does_not_hold_up_the_start(
    slack_bot_parts: tuple[Router, ChatStore],
) -> None:
    router, store = slack_bot_parts
    del store  # the test makes its own
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _silent)
    silent = TestServer(app, host="127.0.0.1")
    await silent.start_server()
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=str(silent.make_url("/api/")),
    )
    integration = SlackIntegration(settings, router, ChatStore(open_database(":memory:")))
    try:
        started = time.monotonic()
        await integration.start()
        assert time.monotonic() - started < 5  # not the call's 30 s
        # Our calls give up when the SDK's own would (30 s), not after aiohttp's 5 minutes.
        assert integration.web.session is not None
        assert integration.web.session.timeout.total == integration.client.timeout == 30
    finally:
        await integration.stop()
        await silent.close()
