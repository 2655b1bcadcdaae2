"""Naming DMARC report sources: 10,000 distinct source IPs, 20 ms per DNS answer.

    .venv/bin/python benchmarks/dmarc_enrich.py [--ips 10000] [--concurrency 20]

The loopback DNS server runs in its own process (as in benchmarks/watch_sweep.py) and answers
every question 20 ms late. Each IP has a PTR whose name resolves back to it (forward-confirmed,
two round trips). The figure is the wall time of ``Dmarc.enrich()``, the hourly sweep's naming
pass, beside the ideal in the same run: round trips x latency / concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from watch_sweep import LATENCY, RemoteServer  # noqa: E402

from bot.dmarc import Dmarc  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import open_database  # noqa: E402
from handlers.checks import DnsClient  # noqa: E402
from knowledge import load_catalogue  # noqa: E402
from tests.dmarc.build import Row, report_xml  # noqa: E402
from tests.dns.server import Zone  # noqa: E402


def _ip(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def enrich_zone(count: int) -> Zone:
    zone: Zone = {}
    for n in range(count):
        ip, host = _ip(n), f"o{n}.mail.bench.test"
        zone[".".join(reversed(ip.split("."))) + ".in-addr.arpa"] = [("PTR", host + ".")]
        zone[host] = [("A", ip)]
    return zone


async def main(args: argparse.Namespace) -> int:
    server = RemoteServer(enrich_zone(args.ips))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            now = datetime.now(UTC)
            dns = DnsClient([server.nameserver], timeout=2.0, deadline=10.0)
            dmarc = Dmarc(
                open_database(str(Path(tmp) / "e.sqlite3")),
                load_catalogue(),
                dns,
                clock=lambda: now,
                concurrency=args.concurrency,
            )
            begin = int(now.timestamp()) - 86400
            report = report_xml([Row(_ip(n), 1) for n in range(args.ips)], begin=begin)
            (stored,) = dmarc.ingest(report, source="bench")
            assert stored.status == "stored", stored.message
            start = time.perf_counter()
            named = await dmarc.enrich()
            took = time.perf_counter() - start
            confirmed = sum(
                1 for v in dmarc.store.names(_ip(n) for n in range(args.ips)).values() if v
            )
    finally:
        queries = server.stop()
    ideal = args.ips * 2 * LATENCY / args.concurrency
    print(
        f"naming {args.ips:,} source IPs, {LATENCY * 1000:.0f} ms per answer, concurrency {args.concurrency}"
    )
    print(f"  looked up {named:,}, confirmed {confirmed:,}, {queries:,} queries")
    print(
        f"  took {took:.1f} s; ideal (round trips x latency / concurrency) {ideal:.1f} s: {took / ideal:.2f}x"
    )
    return 0 if confirmed == args.ips else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ips", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=Settings().watch_concurrency)
    sys.exit(asyncio.run(main(parser.parse_args())))
