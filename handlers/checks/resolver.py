"""The one DNS client every check uses: dnspython's messages behind a small, typed seam.

``DnsClient`` is built once at the edge (CLI or server) from settings and passed into each check.
It adds three things to dnspython:

* a TTL-respecting cache shared by every check in the process, with in-flight de-duplication, so
  two checks asking the same question at once send one query;
* a per-check deadline (``async with dns.deadline():``) carried in a context variable, so every
  query made by a check and its concurrent sub-tasks stops when the check's time is up;
* one exception for "DNS could not answer": :class:`DnsUnavailable` (timeout, SERVFAIL, REFUSED,
  unreachable server), naming the query and the server. Checks turn it into ``unknown``; it is
  never read as "no record". NXDOMAIN and empty answers are values (:class:`DnsAnswer`), not errors.

A resolver that lies is not evidence. Sandboxed and captive networks often answer NXDOMAIN for
every name; read as truth, that turns into "no PTR", "no SPF record", "no MX". With a ``probe``
(a name that must exist, ``a.root-servers.net`` by default in ``ndrbot``), the client asks it
once in the background alongside the first query (cached for :data:`PROBE_TTL`, so it costs no
round trip on a check's path), and an empty or NXDOMAIN answer counts only once the probe has
resolved; otherwise it raises :class:`DnsUnavailable`, so the check says ``unknown`` and why.

Queries go out over shared UDP sockets (:mod:`handlers.checks.transport`), built and parsed by
dnspython; a truncated UDP answer is asked again over TCP with dnspython's ``asyncquery.tcp``
(RFC 7766 section 5). Each server is tried in turn; a lost datagram is retried within the query's
lifetime; SERVFAIL or REFUSED from every server ends the query as unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import cast

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from handlers.checks.transport import UdpPool

__all__ = ["DnsAnswer", "DnsClient", "DnsUnavailable"]

_DEADLINE: ContextVar[float | None] = ContextVar("ndrbot_dns_deadline", default=None)
# Inside ``DnsClient.fresh()``: answers are asked again rather than taken from the cache.
_FRESH: ContextVar[bool] = ContextVar("ndrbot_dns_fresh", default=False)
_NEGATIVE_TTL_WITHOUT_SOA = 30  # seconds; RFC 2308 section 5 would not cache at all
_MAX_CACHE = 20_000
PROBE_TTL = 600.0  # seconds a resolver's probe result is trusted before it is asked again
PROBE_RETRY = 30.0  # seconds before a probe that got no answer at all is asked again


_HEADER = struct.Struct("!HHHHHH")  # id, flags, and the four section counts
_QUESTION_END = struct.Struct("!HH")  # type, class


def query_wire(qid: int, qname: dns.name.Name, rdtype: int) -> bytes:
    """``dns.message.make_query(qname, rdtype)`` as dnspython renders it with id ``qid``
    (recursion desired, one question in class IN, no EDNS), built directly: its renderer takes
    about 35 us a query, on the event loop that acknowledges chat requests, and this about 1 us.
    A test holds the two to the same bytes."""
    header = _HEADER.pack(qid, dns.flags.RD, 1, 0, 0, 0)
    name = cast("bytes", qname.to_wire())  # (bytes when no file is given to write into)
    return header + name + _QUESTION_END.pack(rdtype, dns.rdataclass.IN)


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
    qname: dns.name.Name, rdtype: str, response: dns.message.Message, server: str, size: int
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
        "size": size,
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


def _label(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _system_nameservers() -> list[tuple[str, int]]:
    """The resolvers in /etc/resolv.conf (as dnspython reads them), port 53 unless stated."""
    servers: list[tuple[str, int]] = []
    for ns in dns.asyncresolver.Resolver().nameservers:
        if isinstance(ns, dns.nameserver.Do53Nameserver):
            servers.append((ns.address, ns.port))
        elif isinstance(ns, str):
            servers.append((ns, 53))
    return servers


class DnsClient:
    """Async DNS lookups with a shared TTL cache, per-query timeout and per-check deadline."""

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int]] = (),
        *,
        timeout: float = 3.0,
        deadline: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        probe: str | None = None,
    ) -> None:
        """``nameservers`` as ``(ip, port)``; empty means the system's (``/etc/resolv.conf``).

        ``clock`` (seconds, monotonic) ages the cache; tests pass one they can move forward.
        ``probe``: a name that must exist (its A record); empty answers count only once it
        resolves (see the module's docstring). None trusts every answer.
        """
        self.probe = probe.lower().rstrip(".") if probe else None
        # Told each question's outcome (resolver, name, outcome), for metrics; set by the server.
        self.observe: Callable[[str, str, str], None] | None = None
        self._probe: tuple[float, asyncio.Future[bool]] | None = None
        self._clock = clock
        self._nameservers = list(nameservers) or _system_nameservers()
        self._pools = {address: UdpPool(*address) for address in self._nameservers}
        self.timeout = timeout
        # A lost UDP datagram is retried within the query's lifetime rather than ending it.
        self._attempt = max(timeout / 2, 0.05)
        self.deadline_seconds = deadline
        self.servers = tuple(_label(ip, port) for ip, port in self._nameservers)
        self._cache: dict[tuple[str, str], tuple[float, DnsAnswer]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self.queries_sent = 0  # for benchmarks and tests: how many questions reached the wire

    def close(self) -> None:
        """Close the client's sockets (they are reopened if it is used again)."""
        for pool in self._pools.values():
            pool.close()

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

    @contextlib.contextmanager
    def fresh(self) -> Iterator[None]:
        """Ask DNS again for every query made inside (a Re-check after someone fixed a record:
        the cached answer is the one the fix replaced). New answers are cached as usual."""
        token = _FRESH.set(True)
        try:
            yield
        finally:
            _FRESH.reset(token)

    def _server_text(self) -> str:
        return ", ".join(self.servers) or "the system resolver"

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask for ``rdtype`` records of ``name``; raise DnsUnavailable when DNS cannot say
        (including an empty answer from a resolver that has not shown it tells the truth)."""
        key = (name.lower().rstrip("."), rdtype.upper())
        probe = self._probe_started() if self.probe and key[0] != self.probe else None
        answer = await self._query(key)
        if probe is not None and answer.void and not await self._probe_result(probe):
            raise DnsUnavailable(
                key[0],
                key[1],
                self._server_text(),
                f"the resolver also says {self.probe} does not exist, which it does, so its "
                "'no such record' answers cannot be trusted (ndrbot doctor checks the "
                "resolver; set NDRBOT_NAMESERVERS to one that answers truthfully)",
            )
        return answer

    def _probe_started(self) -> asyncio.Future[bool]:
        """The probe of this resolver, started now in the background if not fresh."""
        now = self._clock()
        if self._probe is None or self._probe[0] <= now:
            future = asyncio.ensure_future(self._ask_probe())
            self._probe = (now + PROBE_TTL, future)
        return self._probe[1]

    async def _ask_probe(self) -> bool:
        assert self.probe is not None
        _DEADLINE.set(None)  # this task's own copy: not bound to the check that started it
        try:
            with self.fresh():  # a name that must exist: its cached NXDOMAIN proves nothing
                answer = await self._query((self.probe, "A"))
        except DnsUnavailable:
            if self._probe is not None:  # no answer at all is no verdict: ask again soon
                self._probe = (self._clock() + PROBE_RETRY, self._probe[1])
            return False
        return not answer.void

    async def _probe_result(self, probe: asyncio.Future[bool]) -> bool:
        if probe.done():  # the usual case once a resolver has been probed: no waiting task
            if probe.cancelled() or probe.exception() is not None:
                return False
            return probe.result()
        deadline = _DEADLINE.get()
        remaining = self.timeout if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            return await asyncio.wait_for(asyncio.shield(probe), remaining + 0.05)
        except TimeoutError:
            return False  # not shown truthful within this check's time: nothing is proven
        except asyncio.CancelledError:
            if probe.cancelled():  # the probe itself was cancelled (its loop stopping)
                return False
            raise  # this check is being cancelled
        except Exception:  # the probe task itself failed: nothing is proven
            return False

    async def _query(self, key: tuple[str, str]) -> DnsAnswer:
        cached = None if _FRESH.get() else self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        now = time.monotonic()
        deadline = _DEADLINE.get()
        remaining = self.timeout if deadline is None else deadline - now
        if remaining <= 0:
            raise DnsUnavailable(
                key[0], key[1], self._server_text(), "the check's deadline ran out"
            )
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._resolve_observed(*key))
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

    async def _resolve_observed(self, name: str, rdtype: str) -> DnsAnswer:
        if self.observe is None:
            return await self._resolve(name, rdtype)
        try:
            answer = await self._resolve(name, rdtype)
        except DnsUnavailable as error:
            reason = error.reason.lower()
            outcome = next(
                (word for word in ("timed out", "servfail", "refused") if word in reason), "error"
            )
            self.observe(self._server_text(), name, outcome.replace("timed out", "timeout"))
            raise
        outcome = "nxdomain" if answer.nxdomain else "nodata" if answer.void else "answered"
        self.observe(self._server_text(), name, outcome)
        return answer

    async def _resolve(self, name: str, rdtype: str) -> DnsAnswer:
        try:
            qname = dns.name.from_text(name)
            wanted = dns.rdatatype.RdataType.make(rdtype)
        except (dns.exception.DNSException, ValueError) as exc:
            raise DnsUnavailable(
                name, rdtype, "(not sent)", f"not a valid DNS name: {exc}"
            ) from None
        self.queries_sent += 1
        response, where, size = await self._exchange(name, rdtype, qname, wanted)
        answer = _answer(qname, rdtype, response, where, size)
        self._store(name, rdtype, answer)
        return answer

    async def _exchange(
        self, name: str, rdtype: str, qname: dns.name.Name, wanted: dns.rdatatype.RdataType
    ) -> tuple[dns.message.Message, str, int]:
        """Ask each server in turn until one answers NOERROR or NXDOMAIN, within the lifetime."""
        if not self._nameservers:
            raise DnsUnavailable(name, rdtype, "the system resolver", "no DNS server is configured")
        end = time.monotonic() + self.timeout
        last: tuple[str, str] | None = None  # (where, reason) of the last failure
        while True:
            timed_out = False
            for ip, port in self._nameservers:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                where = _label(ip, port)
                query = dns.message.make_query(qname, wanted)

                def render(qid: int, query: dns.message.Message = query) -> bytes:
                    query.id = qid  # (is_response below compares it)
                    return query_wire(qid, qname, wanted)

                try:
                    _qid, wire = await self._pools[(ip, port)].exchange(
                        render, min(self._attempt, remaining)
                    )
                    response = dns.message.from_wire(wire)
                except TimeoutError:
                    timed_out, last = True, (where, "timed out")
                    continue
                except OSError as exc:
                    last = (where, f"could not be reached ({exc.strerror or exc})")
                    continue
                except dns.exception.DNSException:
                    last = (where, "answered with a malformed message")
                    continue
                if not query.is_response(response):
                    last = (where, "answered a different question")
                    continue
                size = len(wire)
                if response.flags & dns.flags.TC:
                    where = f"{where} over TCP"
                    try:
                        response = await dns.asyncquery.tcp(
                            query, ip, port=port, timeout=max(end - time.monotonic(), 0.05)
                        )
                    except (dns.exception.Timeout, TimeoutError):
                        timed_out, last = True, (where, "timed out")
                        continue
                    except (OSError, dns.exception.DNSException) as exc:
                        last = (where, f"failed ({exc})")
                        continue
                    # Only TXT sizes matter (RFC 7208 section 3.4); re-rendering is not free.
                    size = len(response.to_wire()) if rdtype == "TXT" else 0
                rcode = response.rcode()
                if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return response, where, size
                last = (where, f"answered {dns.rcode.to_text(rcode)}")
            if not timed_out or end - time.monotonic() <= 0:
                break  # every server refused or failed outright: asking again will not help
        where, reason = last or (self._server_text(), "timed out")
        raise DnsUnavailable(name, rdtype, where, reason)

    def _store(self, name: str, rdtype: str, answer: DnsAnswer) -> None:
        now = self._clock()
        if len(self._cache) >= _MAX_CACHE:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            while len(self._cache) >= _MAX_CACHE:
                self._cache.pop(next(iter(self._cache)))
        if answer.ttl > 0:
            self._cache[(name, rdtype)] = (now + answer.ttl, answer)
