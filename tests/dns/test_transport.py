"""The shared-socket UDP transport: many queries at once on a few sockets, each reply to its
own question; an unreachable server fails fast; a reply to another question is not believed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import dns.message
import dns.rrset
import pytest

from handlers.checks import DnsClient, DnsUnavailable
from tests.dns.conftest import client_for
from tests.dns.server import LoopbackDns

Serve = Callable[..., LoopbackDns]


async def test_hundreds_of_concurrent_queries_each_get_their_own_answer(serve: Serve) -> None:
    zone = {f"h{i}.test": [("A", f"192.0.2.{i % 250 + 1}")] for i in range(300)}
    dns_client = client_for(serve(zone), timeout=3.0)
    answers = await asyncio.gather(*(dns_client.query(f"h{i}.test", "A") for i in range(300)))
    assert [a.addresses for a in answers] == [(f"192.0.2.{i % 250 + 1}",) for i in range(300)]


def _closed_udp_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_an_unreachable_server_fails_fast_and_says_so() -> None:
    dns_client = DnsClient([("127.0.0.1", _closed_udp_port())], timeout=2.0)
    start = time.monotonic()
    with pytest.raises(DnsUnavailable) as caught:
        await dns_client.query("example.test", "A")
    assert time.monotonic() - start < 1.0  # the ICMP refusal ends it, not the 2 s timeout
    assert "could not be reached" in str(caught.value)


class _WrongAnswerServer:
    """Answers every query with the right id but a different question (a spoofing attempt)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            other = dns.message.make_query("attacker.test", "A")
            reply = dns.message.make_response(other)
            reply.id = query.id
            reply.answer.append(
                dns.rrset.from_text("attacker.test.", 300, "IN", "A", "203.0.113.66")
            )
            self.sock.sendto(reply.to_wire(), addr)

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


async def test_a_reply_to_another_question_is_not_believed() -> None:
    server = _WrongAnswerServer()
    try:
        with pytest.raises(DnsUnavailable) as caught:
            await DnsClient([("127.0.0.1", server.port)], timeout=0.5).query("bank.test", "A")
        assert "different question" in str(caught.value)
    finally:
        server.stop()
