"""DnsClient: cache, in-flight sharing, deadline and failure reporting against a real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from handlers.checks import DnsClient, DnsUnavailable
from tests.dns.conftest import client_for
from tests.dns.server import Faults, LoopbackDns

Serve = Callable[..., LoopbackDns]
ZONE = {"a.test": [("A", "192.0.2.1"), ("TXT", "hello")], "slow.test": [("A", "192.0.2.2")]}


async def test_answers_are_cached_for_their_ttl(serve: Serve) -> None:
    server = serve(ZONE)
    dns = client_for(server)
    first = await dns.query("a.test", "A")
    second = await dns.query("A.TEST.", "A")
    assert first == second and first.addresses == ("192.0.2.1",)
    assert len(server.log) == 1


async def test_concurrent_identical_questions_share_one_query(serve: Serve) -> None:
    server = serve(ZONE, Faults(latency=0.05))
    dns = client_for(server)
    await asyncio.gather(*(dns.query("a.test", "TXT") for _ in range(10)))
    assert len(server.log) == 1


async def test_nxdomain_is_an_answer_not_an_error(serve: Serve) -> None:
    answer = await client_for(serve(ZONE)).query("none.test", "A")
    assert answer.nxdomain and answer.void


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        (Faults(servfail={"a.test"}), "SERVFAIL"),
        (Faults(refused={"a.test"}), "REFUSED"),
        (Faults(timeout={"a.test"}), "timed out"),
    ],
)
async def test_failures_name_the_query_and_server(
    serve: Serve, faults: Faults, reason: str
) -> None:
    server = serve(ZONE, faults)
    with pytest.raises(DnsUnavailable) as caught:
        await client_for(server, timeout=0.2).query("a.test", "A")
    assert caught.value.name == "a.test"
    assert server.address in str(caught.value) and reason in str(caught.value)


async def test_deadline_bounds_a_whole_check(serve: Serve) -> None:
    server = serve(ZONE, Faults(latency=0.3))
    dns = DnsClient([server.nameserver], timeout=2.0, deadline=0.2)
    start = time.monotonic()
    async with dns.deadline():
        with pytest.raises(DnsUnavailable, match="deadline"):
            await dns.query("slow.test", "A")
    assert time.monotonic() - start < 0.5


async def test_second_server_answers_when_first_is_down(serve: Serve) -> None:
    dead = serve(ZONE, Faults(timeout={"*"}))
    alive = serve(ZONE)
    dns = DnsClient([dead.nameserver, alive.nameserver], timeout=1.0)
    assert (await dns.query("a.test", "A")).addresses == ("192.0.2.1",)


async def test_the_cache_ages_on_the_injected_clock(serve: Serve) -> None:
    server = serve(ZONE)
    now = [1000.0]
    dns = DnsClient([server.nameserver], timeout=0.5, clock=lambda: now[0])
    await dns.query("a.test", "A")
    now[0] += 299  # the loopback server's records live 300 s
    await dns.query("a.test", "A")
    assert len(server.log) == 1
    now[0] += 2
    await dns.query("a.test", "A")
    assert len(server.log) == 2


@pytest.mark.parametrize(
    "name",
    [
        "example.com",
        "2.0.0.127.zen.spamhaus.org",
        "_dmarc.Contoso.COM",
        "selector1._domainkey.contoso.onmicrosoft.com",
        "xn--bcher-kva.example",
        ".",
        f"{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 61}",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    ],
)
@pytest.mark.parametrize(
    "rdtype", ["A", "AAAA", "TXT", "MX", "PTR", "NS", "SOA", "CNAME", "TYPE65"]
)
def test_a_query_is_the_bytes_dnspython_would_send(name: str, rdtype: str) -> None:
    """The resolver renders its queries itself (dnspython's renderer is slow on the event loop);
    what goes on the wire is still exactly dnspython's own query."""
    import dns.message
    import dns.name
    import dns.rdatatype

    from handlers.checks.resolver import query_wire

    qname, wanted = dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
    for qid in (0, 1, 0x1234, 0xFFFF):
        query = dns.message.make_query(qname, wanted)
        query.id = qid
        assert query_wire(qid, qname, wanted) == query.to_wire()
