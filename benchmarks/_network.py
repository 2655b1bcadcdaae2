"""The network ``serve_load.py`` talks to, in a process of its own: the fake Slack Web API, the
fake Teams connector and the loopback DNS server.

In the load client's process they would share its interpreter lock: every DNS answer and every
Web API call the server makes would then delay the client's own measurement of the server's
acks. Here they run apart, as Slack's servers and a resolver do. Prints one JSON line with their
addresses, serves ``GET /summary`` (what arrived, for the checks at the end), and stops when its
standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.checks.dnsbl_lists import DEFAULT_IP_LISTS  # noqa: E402
from tests.dns.conftest import blocklist_zone  # noqa: E402
from tests.dns.server import LoopbackDns  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402
from tests.fakes.teams_connector import FakeTeamsConnector  # noqa: E402

PLACEHOLDER = "Reading the bounce"


def summary(slack: FakeSlackApi, teams: FakeTeamsConnector) -> dict[str, object]:
    """Answers complete (cards posted as they are or edited in, command results), and per
    paste, command and Teams thread how many messages it got."""
    posted = [
        c
        for c in slack.calls_to("chat.postMessage")
        if PLACEHOLDER not in json.dumps(c.params.get("blocks", ""))
    ]
    teams_calls = [*teams.calls_of("reply"), *teams.calls_of("send")]
    teams_posted = [c for c in teams_calls if PLACEHOLDER not in json.dumps(c.activity)]
    finished = (
        len(posted)
        + len(slack.calls_to("chat.update"))
        + len(slack.calls_to("response_url"))
        + len(teams_posted)
        + len(teams.calls_of("update"))
    )
    return {
        "finished": finished,
        "messages": Counter(
            str(c.params.get("thread_ts")) for c in slack.calls_to("chat.postMessage")
        ),
        "edits": len(slack.calls_to("chat.update")),
        "answers": Counter(c.path for c in slack.calls_to("response_url")),
        "threads": Counter(c.conversation_id.rpartition("=")[2] for c in teams_calls),
        "teams_updates": len(teams.calls_of("update")),
    }


async def main(token: str) -> None:
    with LoopbackDns(blocklist_zone(list(DEFAULT_IP_LISTS))) as dns:
        async with FakeSlackApi(token=token) as slack, FakeTeamsConnector() as teams:

            async def report(_request: web.Request) -> web.Response:
                return web.json_response(summary(slack, teams))

            app = web.Application()
            app.router.add_get("/summary", report)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            print(
                json.dumps(
                    {
                        "dns_port": dns.port,
                        "slack_api_url": slack.api_url,
                        "slack_base_url": slack.base_url,
                        "teams_service_url": teams.service_url,
                        "summary_url": f"http://127.0.0.1:{port}/summary",
                    }
                ),
                flush=True,
            )
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, sys.stdin.read)  # until the client closes it
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
