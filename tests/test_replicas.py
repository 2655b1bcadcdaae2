"""Two ``ndrbot serve`` replicas on one PostgreSQL, a fake Slack and a loopback DNS server.

200 watched IPs, 20 of them newly listed, due at once: each watch is checked by one replica
only, and each listing is announced once, although Slack refuses the alert channel's posts at
first and one replica is SIGKILLed while they fail. Meanwhile pasted bounces land on one replica
and Slack's retry of each on the other: every paste gets one card.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.alerts import Alerts
from bot.store import open_database
from bot.store.alerts import iso
from bot.store.chat import ChatStore
from handlers.checks.dnsbl_lists import DEFAULT_IP_LISTS
from handlers.watch.model import WatchKind
from knowledge import Catalogue
from tests.alerts.conftest import make_settings
from tests.dns.conftest import blocklist_zone, client_for
from tests.dns.server import LoopbackDns
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_events import message_event, signed_headers
from tests.postgres import fresh_schema

ROOT = Path(__file__).resolve().parent.parent
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-replica-test"
SAMPLE = (ROOT / "tests" / "ndr" / "samples" / "eop_spamhaus_postfix.txt").read_text()
WATCHED = [f"203.0.113.{n}" for n in range(1, 201)]
LISTED = WATCHED[:20]
PASTES = 30


def _listing(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".zen.spamhaus.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed(body: str) -> dict[str, str]:
    return {**signed_headers(SECRET, body), "Content-Type": "application/json"}


def _paste(n: int) -> str:
    return message_event(n, SAMPLE, event_prefix="Ev0REPLICA")


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


async def _seed(url: str, dns: LoopbackDns, catalogue: Catalogue) -> None:
    """200 watches with a first (clean) run behind them; then 20 get listed and all are due."""
    db = open_database(url)
    alerts = Alerts(
        make_settings(),
        db,
        ChatStore(db),
        client_for(dns),
        catalogue,
        {},
        clock=lambda: datetime.now(UTC),
        sleep=asyncio.sleep,
        rng=random.Random(7),
    )
    now = datetime.now(UTC)
    for ip in WATCHED:
        alerts.store.add_watch(WatchKind.IP, ip, who="U0ADMIN", at=now, first_run_at=now)
    report = await alerts.run_due()
    assert report.watches == 200 and report.alerts == 0  # a first run is the baseline
    for ip in LISTED:
        dns.zone[_listing(ip)] = [("A", "127.0.0.2")]
    with db.transaction() as conn:
        conn.execute("UPDATE watches SET next_run_at = ?", (iso(datetime.now(UTC)),))
    db.close()


def _serve(
    url: str, slack: FakeSlackApi, dns: LoopbackDns, port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "NDRBOT_NAMESERVERS": f"127.0.0.1:{dns.port}",
        "NDRBOT_DB": url,
        "NDRBOT_HOST": "127.0.0.1",
        "NDRBOT_PORT": str(port),
        "NDRBOT_ALERT_SLACK_CHANNEL": "CALERTS",
        "NDRBOT_OUTBOX_LEASE": "60",  # the shortest: a kill mid-post lapses in a minute
    }
    for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _healthy(
    http: aiohttp.ClientSession, base: str, process: subprocess.Popen[bytes]
) -> None:
    for _ in range(300):
        assert process.poll() is None, "ndrbot serve exited at start"
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{base} never answered /healthz")


async def _until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_two_replicas_check_each_watch_once_and_post_each_alert_and_card_once(
    database: str, catalogue: Catalogue, tmp_path: Path
) -> None:
    zone = blocklist_zone(list(DEFAULT_IP_LISTS))
    for n, ip in enumerate(WATCHED):  # each with a forward-confirmed name: nothing to report
        zone[".".join(reversed(ip.split("."))) + ".in-addr.arpa"] = [
            ("PTR", f"mail{n}.contoso.test")
        ]
        zone[f"mail{n}.contoso.test"] = [("A", ip)]
    with LoopbackDns(zone) as dns:
        await _seed(database, dns, catalogue)
        dns.log.clear()
        async with FakeSlackApi(token=TOKEN) as slack:
            slack.fail("chat.postMessage", status=500, times=10**6, channel="CALERTS")
            ports = [_free_port(), _free_port()]
            replicas = [
                _serve(database, slack, dns, port, tmp_path / f"replica{i}.log")
                for i, port in enumerate(ports)
            ]
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            store = open_database(database)
            try:
                async with aiohttp.ClientSession() as http:
                    for base, process in zip(bases, replicas, strict=True):
                        await _healthy(http, base, process)

                    async def deliver(n: int, base: str, retry: bool) -> None:
                        body = _paste(n)
                        headers = _signed(body)
                        if retry:  # Slack's retry, landing on the other replica
                            headers |= {
                                "X-Slack-Retry-Num": "1",
                                "X-Slack-Retry-Reason": "http_timeout",
                            }
                        async with http.post(
                            f"{base}/slack/events", data=body, headers=headers
                        ) as r:
                            assert r.status == 200

                    await asyncio.gather(
                        *(deliver(n, bases[n % 2], False) for n in range(PASTES)),
                        *(deliver(n, bases[1 - n % 2], True) for n in range(PASTES)),
                    )

                def swept() -> bool:
                    row = store.conn.execute(
                        "SELECT COUNT(*) FROM watches WHERE next_run_at > ?",
                        (iso(datetime.now(UTC)),),
                    ).fetchone()
                    alerts = store.conn.execute(
                        "SELECT COUNT(*) FROM alerts WHERE watch_id IS NOT NULL"
                    ).fetchone()
                    seen[:] = [int(row[0]), int(alerts[0])]
                    return seen == [200, len(LISTED)]

                seen: list[int] = []

                await _until(swept, 60, "both replicas to sweep the 200 due watches")
                assert seen == [200, len(LISTED)], seen
                refused = [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if c.params.get("channel") == "CALERTS"
                ]
                await _until(
                    lambda: (
                        len(
                            [
                                c
                                for c in slack.calls_to("chat.postMessage")
                                if c.params.get("channel") == "CALERTS"
                            ]
                        )
                        >= 2
                    ),
                    30,
                    "the replicas to try posting alerts",
                )

                def pasted() -> int:
                    threads = Counter(
                        c.params.get("thread_ts")
                        for c in slack.calls_to("chat.postMessage")
                        if c.params.get("channel") == "C0HELPDESK"
                    )
                    return sum(1 for n in range(PASTES) if threads.get(f"1741140600.{n:06d}") == 1)

                # Every paste answered first: an answer acknowledged by a replica that then dies
                # is lost (Slack does not send it again); the kill is for the alerts' claims.
                await _until(lambda: pasted() == PASTES, 60, "one card per paste")
                replicas[0].send_signal(signal.SIGKILL)  # mid-failure: its claims must lapse
                replicas[0].wait(timeout=10)
                slack.recover("chat.postMessage")

                # the pastes' burst is news too (a trend alert): every queued alert counts
                queued = {
                    str(r[0])
                    for r in store.conn.execute("SELECT idempotency_key FROM outbox").fetchall()
                }

                def delivered() -> bool:
                    return len(slack.history.get("CALERTS", [])) >= len(queued)

                await _until(delivered, 180, "the surviving replica to post every alert")
                await asyncio.sleep(2.0)  # anything posted twice arrives now
                assert pasted() == PASTES  # and no paste got a second card
            finally:
                for process in replicas:
                    if process.poll() is None:
                        process.terminate()
                        process.wait(timeout=15)
                store.close()

            # Each watch was checked by one replica only, once, in this interval.
            asked = Counter(name for name, qtype, _proto in dns.log if qtype == "A")
            assert {ip: asked[_listing(ip)] for ip in WATCHED} == {ip: 1 for ip in WATCHED}
            # Each listing announced exactly once, across the failures and the kill.
            posted = slack.history["CALERTS"]
            keys = [m["metadata"]["event_payload"]["key"] for m in posted]
            assert sorted(keys) == sorted(queued) and len(queued) > len(LISTED)
            titles = sorted(json.dumps(m.get("blocks", "")) for m in posted)
            for ip in LISTED:
                assert sum(ip + ":" in title for title in titles) == 1, ip
            assert refused  # the alert channel really refused posts before the kill
            assert slack.calls_to("chat.update")  # pastes were answered as cards
