"""``ndrbot serve`` under a burst: Slack ack latency, one answer per request, peak memory.

    .venv/bin/python benchmarks/serve_load.py [--pastes 400] [--commands 200] [--teams 200]
        [--intake 100] [--in-flight 40]

Starts ``ndrbot serve`` as its own process (as an operator runs it), with Slack pointed at the
fake Slack Web API on loopback and DNS at the loopback DNS server the tests use (both in a third
process, ``_network.py``, so that their work does not slow this client's measurement), then sends the
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
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_events import message_event, signed_headers  # noqa: E402
from tests.teams.conftest import load_activity  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-load-test"
SAMPLE = (ROOT / "tests" / "ndr" / "samples" / "eop_spamhaus_postfix.txt").read_text()
SLACK_GIVES_UP = 3.0  # seconds: Slack retries an event (and fails a command) without an ack
INTAKE_TOKEN = "intake-load-token"
INTAKE_SAMPLE = (ROOT / "tests" / "ndr" / "samples" / "banned_ip_postfix.eml").read_bytes()
TEAMS_CHANNEL = "19:c6e4b3a0f1d24b0e9a7f2c3d4e5f6a7b@thread.tacv2"

# One request of the burst: (platform, path, body, content type).
Request = tuple[str, str, str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed(body: str) -> dict[str, str]:
    return signed_headers(SECRET, body)


def _paste(n: int) -> tuple[str, str]:
    return message_event(n, SAMPLE), "application/json"


def _activity(n: int, service_url: str) -> tuple[str, str]:
    """A bounce pasted in a Teams channel thread (its own thread each)."""
    message_id = f"17636299{n:05d}"
    activity = load_activity(
        "channel_bounce_paste",
        service_url,
        id=message_id,
        text=SAMPLE,
        attachments=[],
        conversation={
            "isGroup": True,
            "conversationType": "channel",
            "id": f"{TEAMS_CHANNEL};messageid={message_id}",
        },
    )
    return json.dumps(activity), "application/json"


def _submission(n: int) -> tuple[str, str]:
    """A bounce for /api/ndr: the same report with its own Message-ID (no duplicates)."""
    body = INTAKE_SAMPLE.replace(b"Subject:", f"X-Load: {n}\nSubject:".encode(), 1)
    return body.decode("utf-8", "surrogateescape"), "message/rfc822"


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


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _headers(platform: str, body: str) -> dict[str, str]:
    if platform == "slack":
        return _signed(body)
    if platform == "intake":
        return {"Authorization": f"Bearer {INTAKE_TOKEN}"}
    return {}  # Teams unauthenticated: the Emulator case, allowed on loopback


async def _burst(base: str, requests: list[Request], in_flight: int) -> dict[str, list[float]]:
    """Send every request, ``in_flight`` at a time; per platform, the seconds each took to be
    answered."""
    gate = asyncio.Semaphore(in_flight)
    took: dict[str, list[float]] = {}
    async with aiohttp.ClientSession() as http:

        async def one(platform: str, path: str, body: str, content_type: str) -> None:
            async with gate:
                headers = {"Content-Type": content_type, **_headers(platform, body)}
                data = body.encode("utf-8", "surrogateescape")
                start = time.perf_counter()
                async with http.post(base + path, data=data, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, (platform, response.status)
                took.setdefault(platform, []).append(time.perf_counter() - start)

        await asyncio.gather(*(one(*r) for r in requests))
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


async def _summary(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return dict(await response.json())


async def main(args: argparse.Namespace) -> int:
    network = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "_network.py"), TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert network.stdout is not None and network.stdin is not None
    where = json.loads(network.stdout.readline())
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": where["slack_api_url"],
            "NDRBOT_NAMESERVERS": f"127.0.0.1:{where['dns_port']}",
            "NDRBOT_DB": str(Path(tmp) / "ndrbot.sqlite3"),
            "NDRBOT_HOST": "127.0.0.1",
            "NDRBOT_PORT": str(port),
            "NDRBOT_COMMANDS_PER_MINUTE": "1000",
            "NDRBOT_INTAKE_TOKEN": INTAKE_TOKEN,
        }
        for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD"):
            env.pop(name, None)
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
            count = args.pastes + args.commands + args.teams + args.intake
            floor = await _healthz(f"{base}/healthz", count, args.in_flight)
            slack_path, teams_path, intake_path = "/slack/events", "/api/messages", "/api/ndr"
            responses = where["slack_base_url"] + "/response/"
            requests: list[Request] = [
                ("slack", slack_path, *_paste(n)) for n in range(args.pastes)
            ]
            requests += [
                ("slack", slack_path, *_command(n, f"{responses}c{n}"))
                for n in range(args.commands)
            ]
            requests += [
                ("teams", teams_path, *_activity(n, where["teams_service_url"]))
                for n in range(args.teams)
            ]
            requests += [("intake", intake_path, *_submission(n)) for n in range(args.intake)]
            requests.sort(key=lambda r: hashlib.sha256(r[2].encode()).digest())  # mixed
            started = time.perf_counter()
            acks = await _burst(base, requests, args.in_flight)
            expected = args.pastes + args.commands + args.teams
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (await _summary(where["summary_url"]))["finished"] >= expected:
                    break
                await asyncio.sleep(0.05)
            last = time.perf_counter() - started
            await asyncio.sleep(1.0)  # anything answered twice arrives now
            rss = _peak_rss_mb(server.pid)
            seen = await _summary(where["summary_url"])
        finally:
            try:
                server.terminate()
                server.wait(timeout=10)
            finally:
                network.stdin.close()
                network.wait(timeout=10)
        messages, answers, threads = seen["messages"], seen["answers"], seen["threads"]
        edits = seen["edits"]
        print(
            f"ndrbot serve: {args.pastes} pasted bounces + {args.commands} /blcheck (Slack), "
            f"{args.teams} pasted bounces (Teams), {args.intake} /api/ndr submissions, "
            f"{args.in_flight} in flight"
        )
        print(f"  baseline, /healthz alone: p50 {_ms(floor, 0.5)}, p99 {_ms(floor, 0.99)}")
        slack_acks = acks.get("slack", [])
        print(
            f"  Slack ack: p50 {_ms(slack_acks, 0.5)}, p99 {_ms(slack_acks, 0.99)}, "
            f"max {max(slack_acks) * 1000:.0f} ms"
            f" (Slack gives up at {SLACK_GIVES_UP:.0f} s; target p99 < 100 ms)"
        )
        if args.teams:
            took = acks["teams"]
            print(
                f"  Teams ack: p50 {_ms(took, 0.5)}, p99 {_ms(took, 0.99)}, "
                f"max {max(took) * 1000:.0f} ms (target p99 < 100 ms)"
            )
            teams_once = sum(1 for n in range(args.teams) if threads.get(f"17636299{n:05d}") == 1)
            print(
                f"  Teams pastes with exactly one message: {teams_once} of {args.teams} "
                f"({seen['teams_updates']} placeholders edited into the card)"
            )
        if args.intake:
            took = acks["intake"]
            print(
                f"  /api/ndr answer (after reading, off the event loop): p50 {_ms(took, 0.5)}, "
                f"p99 {_ms(took, 0.99)}"
            )
        once = sum(1 for n in range(args.pastes) if messages.get(f"1741140600.{n:06d}") == 1)
        print(
            f"  pastes with exactly one message: {once} of {args.pastes} "
            f"(a placeholder, then edited into the card: {edits} edits)"
        )
        commands_once = sum(1 for n in range(args.commands) if answers.get(f"/response/c{n}") == 1)
        print(f"  commands with exactly one answer: {commands_once} of {args.commands}")
        print(f"  last answer after {last:.1f} s (target: within 10 s)")
        print(f"  server peak RSS: {rss:.0f} MB (target < 150 MB)")
        print(
            "  median Slack ack vs. baseline: "
            f"{statistics.median(slack_acks) / statistics.median(floor):.1f}x"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pastes", type=int, default=400)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--teams", type=int, default=200, help="Teams Activities (pastes)")
    parser.add_argument("--intake", type=int, default=100, help="/api/ndr submissions")
    parser.add_argument("--in-flight", type=int, default=40)
    sys.exit(asyncio.run(main(parser.parse_args())))
