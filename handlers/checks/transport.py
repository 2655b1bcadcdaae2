"""UDP to a DNS server through a few shared, connected sockets, replies matched by query id.

dnspython's async resolver opens and closes a socket for every query; at blocklist scale (a
dozen lists, each with its two RFC 5782 test points, or a thousand watches) that socket churn
is most of the CPU a lookup costs. Here each server gets a small pool of connected UDP sockets
(random source ports, as the kernel assigns them) and every in-flight query picks a random id
not in use on its socket, so replies are told apart by id (RFC 1035 section 4.1.1) and checked
against the question (RFC 5452 section 9.1) before anyone sees them. Messages are still built
and parsed by dnspython; truncated answers are retried over TCP by the caller.
"""

from __future__ import annotations

import asyncio
import secrets

__all__ = ["UdpPool"]

_POOL_SIZE = 4


class _Socket(asyncio.DatagramProtocol):
    """One connected UDP socket and the queries waiting on it, by id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, asyncio.Future[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) < 12:
            return  # not a DNS header: ignore, the waiter times out if nothing better comes
        future = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port/host unreachable on a connected socket: nobody will answer, so fail the
        # waiters now rather than let them wait out their timeout.
        self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("socket closed"))
        self.transport = None

    def _fail(self, exc: Exception) -> None:
        waiting, self.waiting = self.waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(exc if isinstance(exc, OSError) else OSError(str(exc)))

    def free_id(self) -> int:
        while True:
            qid = secrets.randbelow(65536)
            if qid not in self.waiting:
                return qid


class UdpPool:
    """Shared UDP sockets to one server ``(ip, port)``, for the event loop that made them."""

    def __init__(self, ip: str, port: int) -> None:
        self.address = (ip, port)
        self._sockets: list[_Socket] = []
        self._opening: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _socket(self) -> _Socket:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests, a second asyncio.run): start over
            self.close()
            self._loop, self._opening = loop, asyncio.Lock()
        live = [s for s in self._sockets if s.transport is not None]
        self._sockets = live
        if len(live) < _POOL_SIZE:
            assert self._opening is not None
            async with self._opening:
                if len(self._sockets) < _POOL_SIZE:
                    _transport, protocol = await loop.create_datagram_endpoint(
                        _Socket, remote_addr=self.address
                    )
                    self._sockets.append(protocol)
        return min(self._sockets, key=lambda s: len(s.waiting))

    async def exchange(self, wire_for_id: object, timeout: float) -> tuple[int, bytes]:
        """Send the query that ``wire_for_id(qid)`` renders; return ``(qid, reply)``.

        Raises ``TimeoutError`` when no reply came in ``timeout`` seconds and ``OSError`` when
        the server cannot be reached.
        """
        sock = await self._socket()
        qid = sock.free_id()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        sock.waiting[qid] = future
        try:
            assert sock.transport is not None and callable(wire_for_id)
            sock.transport.sendto(wire_for_id(qid))
            return qid, await asyncio.wait_for(future, timeout)
        finally:
            if sock.waiting.get(qid) is future:
                del sock.waiting[qid]

    def close(self) -> None:
        """Close every socket of the pool."""
        for sock in self._sockets:
            if sock.transport is not None:
                try:
                    sock.transport.close()
                except RuntimeError:  # its event loop is already closed
                    sock.transport = None
        self._sockets = []
