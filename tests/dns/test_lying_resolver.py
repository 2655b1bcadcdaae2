"""A resolver that lies is not evidence: on a network whose resolver answers NXDOMAIN for every
name, "no PTR", "no SPF record", "no MX" are never concluded; the checks say ``unknown`` and why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from handlers.checks import DnsClient, DnsUnavailable, Status
from handlers.checks.plan import plan_for_bounce
from handlers.checks.rdns import check_rdns
from handlers.checks.run import run_plan
from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import Catalogue
from tests.dns.server import TRUTH_PROBE, Faults, LoopbackDns

Serve = Callable[..., LoopbackDns]
PROBE = TRUTH_PROBE
SAMPLE = Path(__file__).resolve().parents[1] / "ndr" / "samples" / "eop_spamhaus_postfix.txt"
ZONE = {"contoso.com": [("TXT", "v=spf1 -all")]}


def _client(server: LoopbackDns, probe: str | None = PROBE) -> DnsClient:
    return DnsClient([server.nameserver], timeout=0.5, deadline=5.0, probe=probe)


async def test_an_empty_answer_counts_only_from_a_resolver_that_tells_the_truth(
    serve: Serve,
) -> None:
    honest = serve(ZONE)
    answer = await _client(honest).query("2.0.192.in-addr.arpa", "PTR")
    assert answer.void  # the name does not exist, and this resolver has shown it tells the truth

    liar = serve(ZONE, Faults(nxdomain_everything=True))
    with pytest.raises(DnsUnavailable) as caught:
        await _client(liar).query("2.0.192.in-addr.arpa", "PTR")
    assert f"says {PROBE} does not exist" in str(caught.value)
    assert "NDRBOT_NAMESERVERS" in str(caught.value)
    # Without a probe, the old reading: the lie is taken as an answer.
    assert (await _client(liar, probe=None).query("2.0.192.in-addr.arpa", "PTR")).void


async def test_the_probe_runs_beside_the_first_question_and_is_asked_once(serve: Serve) -> None:
    server = serve(ZONE)
    client = _client(server)
    for name in ("contoso.com", "fabrikam.test", "nothing.test"):
        await client.query(name, "TXT")
    asked = [name for name, _type, _proto in server.log]
    # Started with the first question (not on demand after an empty answer), then cached.
    assert asked.count(PROBE) == 1 and asked.index(PROBE) <= 1


async def test_no_reverse_dns_is_unknown_behind_a_lying_resolver(serve: Serve) -> None:
    honest = await check_rdns(_client(serve(ZONE)), "192.0.2.80")
    assert honest.status is Status.FAIL and "has no reverse DNS" in honest.summary
    lied = await check_rdns(_client(serve(ZONE, Faults(nxdomain_everything=True))), "192.0.2.80")
    assert lied.status is Status.UNKNOWN
    assert "has no reverse DNS" not in lied.summary


async def test_a_pasted_blocklist_bounce_concludes_no_absence_behind_a_lying_resolver(
    serve: Serve, catalogue: Catalogue
) -> None:
    """The case a new user hit: blocklists unknown (right) and "FAIL: no reverse DNS" (wrong)."""
    liar = serve(ZONE, Faults(nxdomain_everything=True))
    diagnosis = diagnose(read(SAMPLE.read_bytes()), catalogue)
    results = await run_plan(_client(liar), plan_for_bounce(diagnosis.checks, diagnosis.targets))
    assert results
    assert {r.status for r in results} == {Status.UNKNOWN}, [(r.check, r.summary) for r in results]


def test_ndrbot_diagnose_says_unknown_behind_a_lying_resolver(serve: Serve) -> None:
    liar = serve(ZONE, Faults(nxdomain_everything=True))
    ip, port = liar.nameserver
    env = {**os.environ, "NDRBOT_NAMESERVERS": f"{ip}:{port}", "NDRBOT_DNS_TIMEOUT": "0.5"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "diagnose", "--json", str(SAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    checks = json.loads(done.stdout)["checks"]
    rdns = next(c for c in checks if c["check"] == "rdns")
    assert rdns["status"] == "unknown" and "cannot be trusted" in json.dumps(rdns)
