"""Shared set-up for the DNS benchmarks: the loopback server with added latency, and timing."""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.dns.server import Faults, LoopbackDns, Zone  # noqa: E402

LATENCY = 0.050  # seconds the server waits before every answer
RUNS = 7

# A 2048-bit RSA key, split as a DNS host would publish it (the answer needs TCP: > 512 octets).
DKIM_KEY = [
    "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwsV0n8WU6Eu6af+RUBTWTyFQsOPWNdZRnLlgFujuHnsOp3UMU6EX7g7TscUynrWm5B6X1M7fzLbeJFbQ3p96KBhJuuSIzss4djQGdtS0VIKgm8BT17v9orom+bQNU66U4agnUOHaazOW7j0E9WTpF5h5J5q1",
    "WSmvFXRhfKhed0hUQOY5R+QuaqawL77gWnAvcTUh1ICGEVgfkZLlvFCFjOQ+ioK0shry2XwNlvm1r+sg0nMXIkBGmbwEq8WdRESo0Tlh8aiyId/3Rqo4sboBUDXINqMFZn8UweAw3eHx5opWYV+R1TucWKRQEHVjvpA7uQ/CN6p07DHLhAEOO+WViwIDAQAB",
]


def bench_domain_zone() -> Zone:
    """bench.test: an SPF tree 3 levels deep costing 9 lookups, DMARC, M365 DKIM, MX."""
    zone: Zone = {
        "bench.test": [
            ("TXT", "v=spf1 include:a.bench.test include:b.bench.test include:c.bench.test -all"),
            ("MX", [10, "mx1.bench.test"]),
            ("MX", [20, "mx2.bench.test"]),
        ],
        "mx1.bench.test": [("A", "192.0.2.25")],
        "mx2.bench.test": [("A", "192.0.2.26"), ("AAAA", "2001:db8::26")],
        "_dmarc.bench.test": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@bench.test")],
        "selector1._domainkey.bench.test": [
            ("CNAME", "selector1-bench-test._domainkey.benchtenant.onmicrosoft.com")
        ],
        "selector1-bench-test._domainkey.benchtenant.onmicrosoft.com": [("TXT", DKIM_KEY)],
    }
    for n, branch in enumerate("abc"):
        zone[f"{branch}.bench.test"] = [
            ("TXT", f"v=spf1 include:{branch}1.bench.test include:{branch}2.bench.test -all")
        ]
        for leaf in (1, 2):
            zone[f"{branch}{leaf}.bench.test"] = [
                ("TXT", f"v=spf1 ip4:198.51.{100 + n}.{leaf}/32 -all")
            ]
    return zone


class RemoteServer:
    """The loopback server in its own process, as a real resolver would be: no shared GIL."""

    def __init__(self, zone: Zone) -> None:
        context = mp.get_context("spawn")
        self._queue: mp.Queue[int] = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(
            target=_serve, args=(zone, self._queue, self._stop), daemon=True
        )
        self._process.start()
        self.port = self._queue.get(timeout=30)
        self.nameserver = ("127.0.0.1", self.port)

    def stop(self) -> None:
        """Stop the server process."""
        self._stop.set()
        self._process.join(timeout=5)


def _serve(zone: Zone, queue: mp.Queue[int], stop: Any) -> None:
    server = LoopbackDns(zone, Faults(latency=LATENCY)).start()
    queue.put(server.port)
    stop.wait(600)
    server.stop()


def start(zone: Zone) -> RemoteServer:
    """The loopback server, LATENCY added to every answer, in a separate process."""
    return RemoteServer(zone)


async def median_time(make: Callable[[], Awaitable[object]], runs: int = RUNS) -> float:
    """Median wall time of runs fresh runs (each builds its own client: a cold cache)."""
    times = []
    for _ in range(runs):
        start_time = time.perf_counter()
        await make()
        times.append(time.perf_counter() - start_time)
    return statistics.median(times)


def verdict(measured: float, critical: float, factor: float) -> str:
    """'within' or 'OVER' the allowed multiple of the critical path."""
    ok = measured <= critical * factor
    return (
        f"{'within' if ok else 'OVER'} {factor}x critical path ({critical * factor * 1000:.0f} ms)"
    )
