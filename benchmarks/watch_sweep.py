"""Benchmark: one sweep of 1,000 domain watches against the loopback DNS server, 20 ms per answer.

The server runs in its own process (as a real resolver would: no shared GIL). Every domain has
its own SPF include, DMARC record, DKIM key and MX host, so nothing but the DMARC Tree Walk's
shared parents is served from the cache. The sweep is the real code path: the scheduler with
its semaphore (settings.watch_concurrency), the checks, the facts, and one SQLite transaction
per watch. The ideal is the total round trips on the watches' critical paths divided by the
concurrency limit, times the latency.

Run: .venv/bin/python benchmarks/watch_sweep.py [--watches 1000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from _dns_bench import DKIM_KEY  # noqa: E402

from bot.alerts import Alerts  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_database  # noqa: E402
from bot.store.chat import ChatStore  # noqa: E402
from handlers.checks import DnsClient  # noqa: E402
from handlers.watch import WatchKind  # noqa: E402
from knowledge import load_catalogue  # noqa: E402
from tests.dns.server import Faults, LoopbackDns, Zone  # noqa: E402

LATENCY = 0.020  # seconds the server waits before every answer


def sweep_zone(count: int) -> Zone:
    """``count`` healthy domains, each with its own include, DMARC, DKIM key and MX host."""
    zone: Zone = {}
    for n in range(count):
        d = f"d{n:04d}.sweep.test"
        zone[d] = [("TXT", f"v=spf1 include:_spf.{d} -all"), ("MX", [10, f"mx.{d}"])]
        zone[f"_spf.{d}"] = [("TXT", f"v=spf1 ip4:198.51.{n // 250}.{n % 250}/32 -all")]
        zone[f"mx.{d}"] = [("A", f"192.0.{n // 250}.{n % 250}")]
        zone[f"_dmarc.{d}"] = [("TXT", f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")]
        zone[f"selector1._domainkey.{d}"] = [("TXT", DKIM_KEY)]
    return zone


def _serve(zone: Zone, latency: float, queue: Any, stop: Any) -> None:
    server = LoopbackDns(zone, Faults(latency=latency)).start()
    queue.put(server.port)
    stop.wait(1800)
    queue.put(len(server.log))
    server.stop()


class RemoteServer:
    """The loopback server in a child process; ``stop()`` returns how many queries it got."""

    def __init__(self, zone: Zone, latency: float = LATENCY) -> None:
        context = mp.get_context("spawn")
        self._queue = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(
            target=_serve, args=(zone, latency, self._queue, self._stop)
        )
        self._process.start()
        self.nameserver = ("127.0.0.1", int(self._queue.get(timeout=60)))

    def stop(self) -> int:
        """Stop the server process; return how many questions it received."""
        self._stop.set()
        received = int(self._queue.get(timeout=30))
        self._process.join(timeout=10)
        return received


def _alerts(db_path: Path, dns: DnsClient, concurrency: int) -> Alerts:
    settings = Settings(db_path=str(db_path), watch_concurrency=concurrency)
    db = open_database(db_path)
    return Alerts(settings, db, ChatStore(db), dns, load_catalogue(), {}, rng=random.Random(1))


async def critical_path(workdir: Path) -> int:
    """Round trips on one watch's critical path, measured: one watch alone, cold cache, on a
    server answering in 200 ms, so the few milliseconds of CPU a watch costs do not count."""
    slow = 0.2
    server = RemoteServer(sweep_zone(1), latency=slow)
    try:
        dns = DnsClient([server.nameserver], timeout=2.0, deadline=10.0)
        alerts = _alerts(workdir / "one.sqlite3", dns, 1)
        now = datetime.now(UTC)
        alerts.store.add_watch(
            WatchKind.DOMAIN, "d0000.sweep.test", who="bench", at=now, first_run_at=now
        )
        start = time.perf_counter()
        await alerts.run_once()
        return max(1, round((time.perf_counter() - start) / slow))
    finally:
        server.stop()


async def _sweep(alerts: Alerts, nameserver: tuple[str, int]) -> tuple[tuple[float, int], Any]:
    """Run every watch once on a fresh client: ((wall seconds, queries sent), report)."""
    dns = DnsClient([nameserver], timeout=2.0, deadline=10.0)
    alerts.dns = dns
    start = time.perf_counter()
    report = await alerts.run_once()
    return (time.perf_counter() - start, dns.queries_sent), report


async def main() -> int:
    """Run the benchmark and print the figures; exit 1 if any watch could not be checked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=Settings().watch_concurrency)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        per_watch = await critical_path(Path(tmp))
    server = RemoteServer(sweep_zone(args.watches))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            dns = DnsClient([server.nameserver], timeout=2.0, deadline=10.0)
            alerts = _alerts(workdir / "sweep.sqlite3", dns, args.concurrency)
            now = datetime.now(UTC)
            for n in range(args.watches):
                alerts.store.add_watch(
                    WatchKind.DOMAIN, f"d{n:04d}.sweep.test", who="bench", at=now, first_run_at=now
                )
            first, report = await _sweep(alerts, server.nameserver)
            # The next sweep, as every later one: the DKIM selectors are known by now, and a
            # fresh client means nothing is answered from the cache.
            steady, _ = await _sweep(alerts, server.nameserver)
            states = alerts.store.states()
            unknown = sum(1 for s in states.values() if s.unknown_runs)
    finally:
        received = server.stop()
    round_trips = args.watches * per_watch
    ideal = round_trips / args.concurrency * LATENCY
    print(
        f"server latency {LATENCY * 1000:.0f} ms per answer, in its own process "
        f"({os.cpu_count()} CPUs here)"
    )
    print(f"watches                     {report.watches} domains ({unknown} with unknown facts)")
    print(f"concurrency limit           {args.concurrency}")
    print(f"critical path per watch     {per_watch} round trips (one watch alone, 200 ms answers)")
    print(f"queries answered            {received} in all")
    print(
        f"ideal                       {ideal:7.2f} s  "
        f"({round_trips} round trips / {args.concurrency} x {LATENCY * 1000:.0f} ms)"
    )
    for label, (wall, queries) in (("first sweep", first), ("next sweep", steady)):
        print(
            f"{label:<27} {wall:7.2f} s  ({wall / ideal:.2f}x ideal; "
            f"{queries / args.watches:.1f} queries per watch, "
            f"{wall / queries * 1000:.2f} ms wall per query)"
        )
    return 0 if report.watches == args.watches and unknown == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
