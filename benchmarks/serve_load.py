"""``ndrbot serve`` under a burst: Slack ack latency, one answer per request, peak memory.

    .venv/bin/python benchmarks/serve_load.py [--pastes 400] [--commands 200] [--in-flight 40]

Starts ``ndrbot serve`` as its own process (as an operator runs it), with Slack pointed at the
fake Slack Web API on loopback and DNS at the loopback DNS server the tests use, then sends the
burst as Slack would, every request signed: pasted bounces as message events (the
Spamhaus-blocked sample, which runs blocklist and reverse DNS checks) and ``/blcheck`` commands
from distinct users, ``--in-flight`` at a time. It prints the ack latency (p50, p99, max), how
many cards each paste got and answers each command got, the time to the last answer, and the
server's peak RSS (VmHWM). The baseline in the same run is ``/healthz`` under the same
concurrency: what the server costs with no work at all.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.checks.dnsbl_lists import DEFAULT_IP_LISTS  # noqa: E402
from tests.dns.conftest import blocklist_zone  # noqa: E402
from tests.dns.server import LoopbackDns  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-load-test"
SAMPLE = (ROOT / "tests" / "ndr" / "samples" / "eop_spamhaus_postfix.txt").read_text()
SLACK_GIVES_UP = 3.0  # seconds: Slack retries an event (and fails a command) without an ack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def _paste(n: int) -> tuple[str, str]:
    ts = f"1741140600.{n:06d}"
    event = {
        "type": "event_callback",
        "team_id": "T0NDRBOT1",
        "api_app_id": "A0NDRBOT1",
        "event_id": f"Ev0LOAD{n:06d}",
        "event_time": 1741140600,
        "authorizations": [{"team_id": "T0NDRBOT1", "user_id": "U0NDRBOT1", "is_bot": True}],
        "event": {
            "type": "message",
            "user": "U0HELPDESK",
            "text": SAMPLE,
            "ts": ts,
            "event_ts": ts,
            "channel": "C0HELPDESK",
            "channel_type": "channel",
        },
    }
    return json.dumps(event), "application/json"


def _command(n: int, response_url: str) -> tuple[str, str]:
    fields = {
        "team_id": "T0NDRBOT1",
        "channel_id": "C0HELPDESK",
        "user_id": f"U0LOAD{n:05d}",  # one user each: the per-user rate limit is not measured
        "command": "/blcheck",
        "text": f"192.0.2.{n % 250 + 1}",
        "api_app_id": "A0NDRBOT1",
        "response_url": response_url,
        "trigger_id": f"1.2.{n}",
    }
    return urlencode(fields), "application/x-www-form-urlencoded"


def _finished(slack: FakeSlackApi) -> int:
    """Answers complete: cards posted as they are or edited in, and command results."""
    posted = [
        c
        for c in slack.calls_to("chat.postMessage")
        if "Reading the bounce" not in json.dumps(c.params.get("blocks", ""))
    ]
    return len(posted) + len(slack.calls_to("chat.update")) + len(slack.calls_to("response_url"))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _burst(
    url: str, requests: list[tuple[str, str]], in_flight: int, signed: bool = True
) -> list[float]:
    """Send every request, ``in_flight`` at a time; the seconds each took to be answered."""
    gate = asyncio.Semaphore(in_flight)
    took: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def one(body: str, content_type: str) -> None:
            async with gate:
                headers = {"Content-Type": content_type, **(_signed(body) if signed else {})}
                start = time.perf_counter()
                async with http.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                took.append(time.perf_counter() - start)

        await asyncio.gather(*(one(b, c) for b, c in requests))
    return took


async def _healthz(url: str, count: int, in_flight: int) -> list[float]:
    gate = asyncio.Semaphore(in_flight)
    took: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with gate:
                start = time.perf_counter()
                async with http.get(url) as response:
                    await response.read()
                took.append(time.perf_counter() - start)

        await asyncio.gather(*(one() for _ in range(count)))
    return took


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f} ms"


async def main(args: argparse.Namespace) -> int:
    zone = blocklist_zone(list(DEFAULT_IP_LISTS))
    with LoopbackDns(zone) as dns, tempfile.TemporaryDirectory() as tmp:
        async with FakeSlackApi(token=TOKEN) as slack:
            port = _free_port()
            env = {
                **os.environ,
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": slack.api_url,
                "NDRBOT_NAMESERVERS": f"127.0.0.1:{dns.port}",
                "NDRBOT_DB": str(Path(tmp) / "ndrbot.sqlite3"),
                "NDRBOT_HOST": "127.0.0.1",
                "NDRBOT_PORT": str(port),
                "NDRBOT_COMMANDS_PER_MINUTE": "1000",
            }
            server = subprocess.Popen(
                [str(Path(sys.executable).parent / "ndrbot"), "serve"],
                env=env,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                async with aiohttp.ClientSession() as http:
                    for _ in range(200):
                        try:
                            async with http.get(f"{base}/healthz") as r:
                                if r.status == 200:
                                    break
                        except aiohttp.ClientError:
                            await asyncio.sleep(0.05)
                count = args.pastes + args.commands
                floor = await _healthz(f"{base}/healthz", count, args.in_flight)
                requests = [_paste(n) for n in range(args.pastes)]
                requests += [_command(n, slack.response_url(f"c{n}")) for n in range(args.commands)]
                requests.sort(key=lambda r: hash(r[0]))  # pastes and commands mixed
                started = time.perf_counter()
                acks = await _burst(f"{base}/slack/events", requests, args.in_flight)
                expected = args.pastes + args.commands
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if _finished(slack) >= expected:
                        break
                    await asyncio.sleep(0.05)
                last = time.perf_counter() - started
                await asyncio.sleep(1.0)  # anything answered twice arrives now
                rss = _peak_rss_mb(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=10)
            messages = Counter(
                c.params.get("thread_ts") for c in slack.calls_to("chat.postMessage")
            )
            edits = len(slack.calls_to("chat.update"))
            answers = Counter(c.path for c in slack.calls_to("response_url"))
            answers.pop("/response/", None)
            print(
                f"ndrbot serve: {args.pastes} pasted bounces + {args.commands} /blcheck, "
                f"{args.in_flight} in flight"
            )
            print(f"  baseline, /healthz alone: p50 {_ms(floor, 0.5)}, p99 {_ms(floor, 0.99)}")
            print(
                f"  Slack ack: p50 {_ms(acks, 0.5)}, p99 {_ms(acks, 0.99)}, max {max(acks) * 1000:.0f} ms"
                f" (Slack gives up at {SLACK_GIVES_UP:.0f} s; target p99 < 100 ms)"
            )
            once = sum(1 for n in range(args.pastes) if messages.get(f"1741140600.{n:06d}") == 1)
            print(
                f"  pastes with exactly one message: {once} of {args.pastes} "
                f"(a placeholder, then edited into the card: {edits} edits)"
            )
            commands_once = sum(
                1 for n in range(args.commands) if answers.get(f"/response/c{n}") == 1
            )
            print(f"  commands with exactly one answer: {commands_once} of {args.commands}")
            print(f"  last answer after {last:.1f} s (target: within 10 s)")
            print(f"  server peak RSS: {rss:.0f} MB (target < 150 MB)")
            print(
                f"  median ack vs. baseline: {statistics.median(acks) / statistics.median(floor):.1f}x"
            )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pastes", type=int, default=400)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=40)
    sys.exit(asyncio.run(main(parser.parse_args())))
