"""The one DNS client every check uses: dnspython's async resolver behind a small, typed seam.

``DnsClient`` is built once at the edge (CLI or server) from settings and passed into each check.
It adds three things to dnspython:

* a TTL-respecting cache shared by every check in the process, with in-flight de-duplication, so
  two checks asking the same question at once send one query;
* a per-check deadline (``async with dns.deadline():``) carried in a context variable, so every
  query made by a check and its concurrent sub-tasks stops when the check's time is up;
* one exception for "DNS could not answer": :class:`DnsUnavailable` (timeout, SERVFAIL, REFUSED,
  unreachable server), naming the query and the server. Checks turn it into ``unknown``; it is
  never read as "no record". NXDOMAIN and empty answers are values (:class:`DnsAnswer`), not errors.

dnspython itself retries over TCP when a UDP answer is truncated (RFC 7766 section 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

__all__ = ["DnsAnswer", "DnsClient", "DnsUnavailable"]

_DEADLINE: ContextVar[float | None] = ContextVar("ndrbot_dns_deadline", default=None)
_NEGATIVE_TTL_WITHOUT_SOA = 30  # seconds; RFC 2308 section 5 would not cache at all
_MAX_CACHE = 20_000


class DnsUnavailable(Exception):
    """DNS gave no usable answer (timeout, SERVFAIL, REFUSED, deadline): the truth is unknown.

    ``str()`` reads "TXT lookup of example.com failed at 127.0.0.1:53: timed out".
    """

    def __init__(self, name: str, rdtype: str, server: str, reason: str) -> None:
        self.name, self.rdtype, self.server, self.reason = name, rdtype, server, reason
        super().__init__(f"{rdtype} lookup of {name} failed at {server}: {reason}")


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """What a server said about one name and type. Only the field matching ``rdtype`` is filled."""

    name: str  # lower-case, no trailing dot
    rdtype: str  # "A", "TXT", ...
    nxdomain: bool = False  # RCODE 3: the name does not exist
    addresses: tuple[str, ...] = ()  # A / AAAA
    names: tuple[str, ...] = ()  # PTR / CNAME / NS targets, no trailing dot
    mx: tuple[tuple[int, str], ...] = ()  # (preference, exchange)
    txt: tuple[tuple[bytes, ...], ...] = ()  # TXT: each record's character-strings
    cname_chain: tuple[str, ...] = ()  # CNAME targets followed from ``name``
    ttl: int = 0
    server: str = ""
    size: int = 0  # wire size of the response in octets (RFC 1035 UDP limit is 512)

    @property
    def void(self) -> bool:
        """NXDOMAIN or NOERROR with no records of the type asked (RFC 7208 section 4.6.4)."""
        return not (self.addresses or self.names or self.mx or self.txt)

    @property
    def txt_strings(self) -> tuple[str, ...]:
        """Each TXT record's strings joined without separators (RFC 7208 section 3.3)."""
        return tuple(b"".join(parts).decode("latin-1") for parts in self.txt)


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _cname_chain(response: dns.message.Message, qname: dns.name.Name) -> tuple[dns.name.Name, ...]:
    chain: list[dns.name.Name] = []
    current = qname
    for _ in range(16):  # RFC 1034 section 3.6.2: follow, but never forever
        rrset = next(
            (r for r in response.answer if r.name == current and r.rdtype == dns.rdatatype.CNAME),
            None,
        )
        if rrset is None:
            break
        current = next(iter(rrset)).target
        chain.append(current)
    return tuple(chain)


def _negative_ttl(response: dns.message.Message) -> int:
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(min(rrset.ttl, next(iter(rrset)).minimum))  # RFC 2308 section 5
    return _NEGATIVE_TTL_WITHOUT_SOA


def _answer(
    qname: dns.name.Name, rdtype: str, response: dns.message.Message, server: str
) -> DnsAnswer:
    chain = _cname_chain(response, qname)
    owner = chain[-1] if chain else qname
    wanted = dns.rdatatype.from_text(rdtype)
    rrset = next((r for r in response.answer if r.name == owner and r.rdtype == wanted), None)
    base = {
        "name": _text(qname),
        "rdtype": rdtype,
        "nxdomain": response.rcode() == dns.rcode.NXDOMAIN,
        "cname_chain": tuple(_text(n) for n in chain),
        "server": server,
        # Re-rendering costs as much as the query itself; only TXT sizes matter (RFC 7208 3.4).
        "size": len(response.to_wire()) if rdtype == "TXT" else 0,
    }
    if rrset is None:
        return DnsAnswer(ttl=_negative_ttl(response), **base)  # type: ignore[arg-type]
    ttl = min([rrset.ttl] + [r.ttl for r in response.answer if r.rdtype == dns.rdatatype.CNAME])
    rdatas = list(rrset)
    fields: dict[str, object] = {}
    if wanted in (dns.rdatatype.A, dns.rdatatype.AAAA):
        fields["addresses"] = tuple(r.address for r in rdatas)
    elif wanted == dns.rdatatype.MX:
        fields["mx"] = tuple(sorted((r.preference, _text(r.exchange)) for r in rdatas))
    elif wanted == dns.rdatatype.TXT:
        fields["txt"] = tuple(tuple(r.strings) for r in rdatas)
    else:
        fields["names"] = tuple(_text(r.target) for r in rdatas)
    return DnsAnswer(ttl=int(ttl), **base, **fields)  # type: ignore[arg-type]


def _label(ns: dns.nameserver.Nameserver | str) -> str:
    if isinstance(ns, dns.nameserver.Do53Nameserver):
        host = f"[{ns.address}]" if ":" in ns.address else ns.address
        return f"{host}:{ns.port}"
    return str(ns)


class DnsClient:
    """Async DNS lookups with a shared TTL cache, per-query timeout and per-check deadline."""

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int]] = (),
        *,
        timeout: float = 3.0,
        deadline: float = 10.0,
    ) -> None:
        """``nameservers`` as ``(ip, port)``; empty means the system's (``/etc/resolv.conf``)."""
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers
            ]
        else:
            resolver = dns.asyncresolver.Resolver()
        resolver.cache = None  # our own cache below also holds negative answers and errors' absence
        resolver.retry_servfail = False
        # A lost UDP datagram is retried within the query's lifetime rather than ending it.
        resolver.timeout = max(timeout / 2, 0.05)
        resolver.lifetime = timeout
        self._resolver = resolver
        self.timeout = timeout
        self.deadline_seconds = deadline
        self._labels = {str(ns): _label(ns) for ns in resolver.nameservers}
        self.servers = tuple(self._labels.values())
        self._cache: dict[tuple[str, str], tuple[float, DnsAnswer]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self.queries_sent = 0  # for benchmarks and tests: how many questions reached the wire

    @contextlib.asynccontextmanager
    async def deadline(self, seconds: float | None = None) -> AsyncIterator[None]:
        """Bound every query made inside (and in tasks started inside) to one check's deadline."""
        limit = time.monotonic() + (self.deadline_seconds if seconds is None else seconds)
        outer = _DEADLINE.get()
        token = _DEADLINE.set(limit if outer is None else min(outer, limit))
        try:
            yield
        finally:
            _DEADLINE.reset(token)

    def _server_text(self) -> str:
        return ", ".join(self.servers) or "the system resolver"

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask for ``rdtype`` records of ``name``; raise DnsUnavailable when DNS cannot say."""
        key = (name.lower().rstrip("."), rdtype.upper())
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        deadline = _DEADLINE.get()
        remaining = self.timeout if deadline is None else deadline - now
        if remaining <= 0:
            raise DnsUnavailable(
                key[0], key[1], self._server_text(), "the check's deadline ran out"
            )
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._resolve(*key))
            self._inflight[key] = future
            future.add_done_callback(lambda _f, k=key: self._inflight.pop(k, None))  # type: ignore[misc]
        if deadline is None or remaining > self.timeout + 0.5:  # the query's lifetime ends it
            return await asyncio.shield(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            raise DnsUnavailable(
                key[0], key[1], self._server_text(), "the check's deadline ran out"
            ) from None

    async def _resolve(self, name: str, rdtype: str) -> DnsAnswer:
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(
                name, rdtype, "(not sent)", f"not a valid DNS name: {exc}"
            ) from None
        self.queries_sent += 1
        try:
            result = await self._resolver.resolve(
                qname, rdtype, search=False, raise_on_no_answer=False
            )
            answer = _answer(qname, rdtype, result.response, self._where(result))
        except dns.resolver.NXDOMAIN as exc:
            response = exc.responses().get(qname) or next(iter(exc.responses().values()))
            answer = _answer(qname, rdtype, response, self._server_text())
        except dns.resolver.LifetimeTimeout as exc:
            raise self._unavailable(
                name, rdtype, exc.kwargs.get("errors", []), "timed out"
            ) from None
        except dns.resolver.NoNameservers as exc:
            raise self._unavailable(name, rdtype, exc.kwargs.get("errors", []), "failed") from None
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(name, rdtype, self._server_text(), str(exc)) from None
        self._store(name, rdtype, answer)
        return answer

    @staticmethod
    def _where(result: dns.resolver.Answer) -> str:
        if not result.nameserver:
            return ""
        host = f"[{result.nameserver}]" if ":" in result.nameserver else result.nameserver
        return f"{host}:{result.port}"

    def _unavailable(
        self, name: str, rdtype: str, errors: list[Any], default: str
    ) -> DnsUnavailable:
        if not errors:
            return DnsUnavailable(name, rdtype, self._server_text(), default)
        server, tcp, _port, error, _response = errors[-1]
        reason = "timed out" if isinstance(error, dns.exception.Timeout) else f"answered {error}"
        where = self._labels.get(server, server) + (" over TCP" if tcp else "")
        return DnsUnavailable(name, rdtype, where, reason)

    def _store(self, name: str, rdtype: str, answer: DnsAnswer) -> None:
        now = time.monotonic()
        if len(self._cache) >= _MAX_CACHE:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            while len(self._cache) >= _MAX_CACHE:
                self._cache.pop(next(iter(self._cache)))
        if answer.ttl > 0:
            self._cache[(name, rdtype)] = (now + answer.ttl, answer)
