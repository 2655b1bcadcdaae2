"""Benchmark: ``check domain`` against a loopback server adding 50 ms to every answer.

The domain's SPF tree is 3 levels deep with 9 lookups, so its critical path is 3 round trips
(the other checks run beside it and need at most as many). The target is 1.3x that. checkdmarc
runs on the same server in the same run, from its own virtual environment (created on first use
under the system temp directory, never a project dependency).

Run: .venv/bin/python benchmarks/dns_domain.py
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _dns_bench import LATENCY, bench_domain_zone, median_time, start, verdict

from handlers.checks import DnsClient, plan_for_domain, run_plan

LEVELS = 3
CHECKDMARC_VENV = Path(tempfile.gettempdir()) / "ndrbot-checkdmarc-venv"

# Runs inside checkdmarc's own venv: times its SPF+DMARC functions and its whole check_domains.
CHECKDMARC_DRIVER = r"""
import json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import dns.nameserver, dns.resolver
import checkdmarc
from checkdmarc.spf import check_spf
from checkdmarc.dmarc import check_dmarc
port, domain, runs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ns = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
def resolver():
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = list(ns)
    r.cache = None
    return r
def timed(fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
out = {}
out["spf_dmarc"] = timed(lambda: (check_spf(domain, nameservers=ns, resolver=resolver(), timeout=2.0),
                                   check_dmarc(domain, nameservers=ns, resolver=resolver(), timeout=2.0)))
out["check_domains"] = timed(lambda: checkdmarc.check_domains([domain], nameservers=ns, resolver=resolver(), timeout=2.0))
spf = check_spf(domain, nameservers=ns, resolver=resolver(), timeout=2.0)
out["spf_lookups"] = spf.get("dns_lookups")
print(json.dumps(out))
"""


def checkdmarc_python() -> Path | None:
    """The checkdmarc venv's interpreter, creating the venv on first use (PyPI only)."""
    python = CHECKDMARC_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {CHECKDMARC_VENV} with checkdmarc (first run only)...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(CHECKDMARC_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "checkdmarc"], check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"checkdmarc unavailable: {exc}")
            return None
    return python


def run_checkdmarc(port: int, runs: int) -> dict[str, float] | None:
    """Time checkdmarc against the same server; None when it cannot be run."""
    python = checkdmarc_python()
    if python is None:
        return None
    done = subprocess.run(
        [str(python), "-c", CHECKDMARC_DRIVER, str(port), "bench.test", str(runs)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        print(f"checkdmarc failed: {done.stderr.strip()[-500:]}")
        return None
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def main() -> int:
    server = start(bench_domain_zone())
    try:

        async def ours() -> object:
            dns = DnsClient([server.nameserver], timeout=2.0, deadline=10.0)
            return await run_plan(dns, plan_for_domain("bench.test"))

        results = await ours()
        spf = results[0]  # type: ignore[index]
        assert spf.details["lookups"] == 9, spf.details["lookups"]
        measured = await median_time(ours)
        critical = LEVELS * LATENCY
        print(
            f"server latency {LATENCY * 1000:.0f} ms per answer; SPF tree {LEVELS} levels, 9 lookups"
        )
        print(f"critical path              {critical * 1000:7.1f} ms")
        print(
            f"ndrbot check domain        {measured * 1000:7.1f} ms  {verdict(measured, critical, 1.3)}"
        )
        theirs = run_checkdmarc(server.port, 3)
        if theirs:
            print(
                f"checkdmarc SPF+DMARC only  {theirs['spf_dmarc'] * 1000:7.1f} ms  (same server, same run)"
            )
            print(
                f"checkdmarc check_domains   {theirs['check_domains'] * 1000:7.1f} ms  (also NS, SOA, DNSSEC, MTA-STS, BIMI)"
            )
        return 0 if measured <= critical * 1.3 else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
