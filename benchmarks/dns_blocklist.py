"""Benchmark: a 12-list blocklist check against a loopback server adding 50 ms per answer.

Every list's target and both RFC 5782 test points are asked at once, so the critical path is
one round trip; the target is 1.5x that. checkdmarc has no blocklist check, so there is no
checkdmarc figure for this one (see dns_domain.py for the comparison on the same server).

Run: .venv/bin/python benchmarks/dns_blocklist.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from _dns_bench import LATENCY, median_time, start, verdict

from handlers.checks import DnsClient, check_blocklist
from tests.dns.conftest import blocklist_zone

LISTS = [f"bl{n}.bench.test" for n in range(1, 13)]
IP = "192.0.2.99"


async def main() -> int:
    zone = blocklist_zone(LISTS, {f"99.2.0.192.{LISTS[0]}": ["127.0.0.2"]})
    server = start(zone)
    try:

        async def ours() -> object:
            dns = DnsClient([server.nameserver], timeout=2.0, deadline=10.0)
            return await check_blocklist(dns, IP, LISTS)

        result = await ours()
        assert result.details["listed"] == [LISTS[0]], result.details  # type: ignore[attr-defined]
        measured = await median_time(ours)

        async def warm() -> float:
            # The bot keeps one client: the lists' test points are then cached for their TTL
            # and only the 12 target queries go out.
            dns = DnsClient([server.nameserver], timeout=2.0, deadline=10.0)
            await check_blocklist(dns, "192.0.2.1", LISTS)
            start_time = time.perf_counter()
            await check_blocklist(dns, IP, LISTS)
            return time.perf_counter() - start_time

        warm_median = statistics.median([await warm() for _ in range(7)])
        critical = LATENCY
        print(f"server latency {LATENCY * 1000:.0f} ms per answer; {len(LISTS)} lists")
        print(f"critical path (1 round trip)  {critical * 1000:7.1f} ms")
        cold = verdict(measured, critical, 1.5)
        print(f"ndrbot, cold client (36 q)    {measured * 1000:7.1f} ms  {cold}")
        hot = verdict(warm_median, critical, 1.5)
        print(f"ndrbot, warm client (12 q)    {warm_median * 1000:7.1f} ms  {hot}")
        print("checkdmarc                    n/a (it has no blocklist check)")
        return 0 if warm_median <= critical * 1.5 else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
