"""Benchmark: sweep and outbox throughput with one and two replicas on PostgreSQL, beside one on
SQLite, in the same run.

Each replica is its own process (its own GIL, its own store connections), running the real code
paths: the scheduler's claimed sweep against the loopback DNS server (20 ms per answer, its own
process; domain watches as in ``watch_sweep.py``), and the outbox's claimed deliveries through a
poster that takes 20 ms per post, as a chat API might. Every figure comes with its exactly-once
count: watches checked, alerts posted, and how many of either were done twice.

Run: .venv/bin/python benchmarks/replicas.py [--watches 600] [--alerts 400] [--latency 0.02]
     (PostgreSQL from NDRBOT_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/test;
     each scenario gets a fresh schema, dropped after)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from watch_sweep import RemoteServer, sweep_zone  # noqa: E402

from bot.alerts import Alerts  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_database  # noqa: E402
from bot.store.alerts import AlertStore, NewAlert  # noqa: E402
from bot.store.chat import ChatStore  # noqa: E402
from handlers.card import Card, Tone  # noqa: E402
from handlers.checks import DnsClient  # noqa: E402
from handlers.watch import WatchKind  # noqa: E402
from knowledge import load_catalogue  # noqa: E402
from tests.postgres import fresh_schema, unavailable  # noqa: E402

POST_SECONDS = 0.020


class SlowPoster:
    """A chat API that takes POST_SECONDS per post and remembers what it was given."""

    platform = "slack"

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def post(self, target: str, card: Card, **kw: Any) -> str:
        await asyncio.sleep(POST_SECONDS)
        self.keys.append(str(kw.get("idempotency_key")))
        return f"{len(self.keys)}.000"

    async def update(self, target: str, message_id: str, card: Card) -> None:
        await asyncio.sleep(POST_SECONDS)


def _replica(target: str, nameserver: tuple[str, int], task: str, go: Any, out: Any) -> None:
    """One replica: wait for the start, then sweep or deliver; report what it did and when."""
    db = open_database(target)
    poster = SlowPoster()
    dns = DnsClient([nameserver], timeout=2.0, deadline=10.0)
    settings = Settings(db_path=target, watch_concurrency=20)
    alerts = Alerts(settings, db, ChatStore(db), dns, load_catalogue(), {"slack": poster})

    async def work() -> tuple[int, list[str]]:
        if task == "sweep":
            return (await alerts.run_due()).watches, []
        return await alerts.deliver_once(), poster.keys

    go.wait()
    start = time.perf_counter()
    count, keys = asyncio.run(work())
    out.put((count, keys, dns.queries_sent, start, time.perf_counter()))
    db.close()


def _cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _seed(target: str, watches: int, alerts: int, now: datetime) -> None:
    db = open_database(target)
    ChatStore(db)
    store = AlertStore(db)
    for n in range(watches):
        store.add_watch(
            WatchKind.DOMAIN, f"d{n:04d}.sweep.test", who="bench", at=now, first_run_at=now
        )
    card = Card(title="benchmark alert", tone=Tone.WARNING)
    for n in range(alerts):
        store.enqueue(NewAlert(f"bench:{n}", "bench", "s", card, (("slack", "CALERTS"),)), at=now)
    db.close()


def _run(
    target: str, replicas: int, task: str, nameserver: tuple[str, int]
) -> tuple[float, list[tuple[int, list[str], int, float, float]], float]:
    """Start ``replicas`` processes doing ``task`` together: (wall seconds, what each did, the
    share of the machine's CPU in use meanwhile)."""
    context = mp.get_context("spawn")
    go, out = context.Event(), context.Queue()
    processes = [
        context.Process(target=_replica, args=(target, nameserver, task, go, out))
        for _ in range(replicas)
    ]
    for process in processes:
        process.start()
    time.sleep(3.0)  # every replica imported and connected before the start
    before = _cpu()
    go.set()
    results = [out.get(timeout=600) for _ in processes]
    after = _cpu()
    busy = (after[0] - before[0]) / max(after[1] - before[1], 1)
    for process in processes:
        process.join(timeout=30)
    wall = max(r[4] for r in results) - min(r[3] for r in results)
    return wall, results, busy


def _scenario(
    label: str, target: str, replicas: int, args: argparse.Namespace, server: RemoteServer
) -> None:
    _seed(target, args.watches, args.alerts, datetime.now(UTC))
    sweep_wall, swept, busy = _run(target, replicas, "sweep", server.nameserver)
    runs = sum(r[0] for r in swept)
    queries = sum(r[2] for r in swept)
    post_wall, posted, _ = _run(target, replicas, "deliver", server.nameserver)
    keys = Counter(k for r in posted for k in r[1])
    twice = sum(1 for n in keys.values() if n > 1)
    print(
        f"{label:<24} sweep  {args.watches / sweep_wall:6.1f} watches/s ({sweep_wall:5.1f} s;"
        f" {runs} runs for {args.watches} watches, split {'/'.join(str(r[0]) for r in swept)};"
        f" {queries / args.watches:.1f} queries per watch; CPUs {busy:.0%} busy)"
    )
    print(
        f"{'':<24} outbox {len(keys) / post_wall:6.1f} alerts/s ({post_wall:5.1f} s;"
        f" {len(keys)} of {args.alerts} posted, split {'/'.join(str(r[0]) for r in posted)},"
        f" {twice} posted twice)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=600)
    parser.add_argument("--alerts", type=int, default=400)
    parser.add_argument(
        "--latency", type=float, default=0.020, help="seconds per DNS answer (default 0.020)"
    )
    args = parser.parse_args()
    why = unavailable()
    if why:
        print(why, file=sys.stderr)
        return 2
    server = RemoteServer(sweep_zone(args.watches), latency=args.latency)
    print(
        f"{args.watches} domain watches (DNS {args.latency * 1000:.0f} ms per answer, own"
        f" process), {args.alerts} alerts"
        f" (posting takes {POST_SECONDS * 1000:.0f} ms each); {os.cpu_count()} CPUs here"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _scenario("SQLite, 1 replica", str(Path(tmp) / "bench.sqlite3"), 1, args, server)
        for replicas in (1, 2):
            with fresh_schema() as url:
                name = f"PostgreSQL, {replicas} replica{'s' * (replicas > 1)}"
                _scenario(name, url, replicas, args, server)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
