"""A DNS server on loopback (UDP and TCP) for the tests, serving zone data from YAML files.

It is a real protocol peer: the checks talk to it through dnspython exactly as they talk to a
production resolver. Switches on :class:`Faults` add latency, drop queries (timeouts), answer
SERVFAIL or REFUSED, force truncation (TC bit, so the client retries over TCP) and lie.

Zone data is the SPF test suite's shape: ``name -> [ {TYPE: value}, ..., "TIMEOUT" ]``, where
``TIMEOUT`` makes queries for types not listed before it go unanswered, and names under
``error.`` that are absent time out too (the pyspf harness's conventions). A name may be
``*.zone`` (a wildcard, RFC 4592). TXT values are a string or a list of strings.
"""

from __future__ import annotations

import contextlib
import fnmatch
import heapq
import select
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dnslib import AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RD, RR, SOA, TXT, A, DNSRecord

Zone = dict[str, list[Any]]  # name -> entries: ("TYPE", value) tuples or "TIMEOUT"

ZONES = Path(__file__).parent / "zones"
_TTL = 300


def _bytes(value: object) -> bytes:
    text = str(value)
    try:
        return text.encode("latin-1")  # the suites write raw octets as \xNN escapes
    except UnicodeEncodeError:
        return text.encode("utf-8")


def load_zone(data: Mapping[str, Iterable[Any]], *, spf_to_txt: bool = False) -> Zone:
    """Turn YAML zone data into a :data:`Zone`; ``spf_to_txt`` copies SPF records to TXT.

    The SPF suites' drivers serve a name's ``SPF`` entries as TXT when it has no TXT entry.
    """
    zone: Zone = {}
    for name, entries in data.items():
        out: list[Any] = []
        generated: list[Any] = []
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        for entry in entries:
            if entry == "TIMEOUT":
                out.append("TIMEOUT")
                continue
            ((rtype, value),) = entry.items()
            if value == "NONE":
                continue
            out.append((rtype, value))
            if rtype == "SPF" and spf_to_txt and not has_txt:
                generated.append(("TXT", value))
        zone.setdefault(str(name).lower().rstrip("."), []).extend(out + generated)
    return zone


def load_zone_file(path: Path) -> Zone:
    """Load one YAML zone file from ``tests/dns/zones``."""
    return load_zone(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


@dataclass
class Faults:
    """Misbehaviour switches; patterns are fnmatch globs over lower-case query names."""

    latency: float = 0.0  # seconds added before every answer
    timeout: set[str] = field(default_factory=set)  # never answer these names
    servfail: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    truncate: set[str] = field(default_factory=set)  # UDP answers get TC=1 and no records
    lies: dict[str, list[str]] = field(default_factory=dict)  # name -> A records to claim
    answer_budget: int | None = None  # after this many answers, stop answering at all
    # A sandboxed or captive resolver: NXDOMAIN for every name, even ones that exist.
    nxdomain_everything: bool = False

    @staticmethod
    def matches(patterns: Iterable[str], name: str) -> bool:
        """True when ``name`` matches any glob in ``patterns``."""
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _rdata(rtype: str, value: Any) -> tuple[int, RD]:
    if rtype == "A":
        return QTYPE.A, A(str(value))
    if rtype == "AAAA":
        return QTYPE.AAAA, AAAA(str(value))
    if rtype == "MX":
        return QTYPE.MX, MX(str(value[1]), int(value[0]))
    if rtype in ("TXT", "SPF"):
        # A TXT RDATA holds at least one string (RFC 1035 section 3.3.14): "[]" is one empty string.
        parts = (value or [""]) if isinstance(value, list) else [value]
        return (QTYPE.TXT if rtype == "TXT" else 99), TXT([_bytes(p) for p in parts])
    if rtype == "PTR":
        return QTYPE.PTR, PTR(str(value))
    if rtype == "CNAME":
        return QTYPE.CNAME, CNAME(str(value))
    if rtype == "NS":
        return QTYPE.NS, NS(str(value))
    raise ValueError(f"zone data: unsupported type {rtype}")


TRUTH_PROBE = "a.root-servers.net"


class _Answerer:
    """Builds replies from the zone and the faults; returns ``None`` for 'do not answer'."""

    def __init__(self, zone: Zone, faults: Faults) -> None:
        self.zone, self.faults = zone, faults
        self.log: list[tuple[str, str, str]] = []  # (name, type, "udp"|"tcp")
        self._lock = threading.Lock()
        self._answered = 0

    def _lookup(self, name: str) -> list[Any] | None:
        if self.faults.nxdomain_everything:
            return None
        if name in self.zone:
            return self.zone[name]
        if name == TRUTH_PROBE:  # exists on the real Internet: ndrbot's resolver probe asks it
            return [("A", "198.41.0.4")]
        labels = name.split(".")
        for i in range(1, len(labels)):
            wildcard = "*." + ".".join(labels[i:])
            if wildcard in self.zone:
                return self.zone[wildcard]
        if any(key.endswith("." + name) for key in self.zone):
            return []  # an empty non-terminal: NOERROR, no data
        return None

    def reply(self, data: bytes, proto: str) -> bytes | None:
        """The wire answer to ``data``, after the configured latency; None means no answer."""
        received = time.monotonic()
        out = self._answer(data, proto)
        # Latency counts from arrival, and the answer is built while waiting, so many answers
        # in flight at once each take ``latency``, as from a real remote resolver.
        wait = self.faults.latency - (time.monotonic() - received)
        if wait > 0:
            time.sleep(wait)
        return out

    def _answer(self, data: bytes, proto: str) -> bytes | None:
        request = DNSRecord.parse(data)
        # Labels as raw octets: dnslib's str() would escape a space as "\\032".
        qname = ".".join(b.decode("latin-1") for b in request.q.qname.label).lower()
        qtype = request.q.qtype
        with self._lock:
            self.log.append((qname, QTYPE.get(qtype, str(qtype)), proto))
            budget = self.faults.answer_budget
            if budget is not None and self._answered >= budget:
                return None
            self._answered += 1
        f = self.faults
        if f.matches(f.timeout, qname):
            return None
        reply = request.reply()
        if f.matches(f.servfail, qname):
            reply.header.rcode = RCODE.SERVFAIL
            return reply.pack()
        if f.matches(f.refused, qname):
            reply.header.rcode = RCODE.REFUSED
            return reply.pack()
        if qname in f.lies:
            for address in f.lies[qname]:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=_TTL))
            return reply.pack()
        if not self._fill(reply, qname, qtype, request.q.qname):
            return None
        packed = reply.pack()
        if proto == "udp" and (len(packed) > 512 or f.matches(f.truncate, qname)):
            short = request.reply()
            short.header.tc = 1  # RFC 1035 section 4.2.1: too long for UDP, ask again over TCP
            return short.pack()
        return packed

    def _fill(self, reply: DNSRecord, qname: str, qtype: int, label: Any) -> bool:
        """Add answers to ``reply`` following CNAMEs; False means 'time out'."""
        name, seen = qname, set()
        while True:
            owner = label if name == qname else name
            entries = self._lookup(name)
            if entries is None:
                if name.startswith("error."):
                    return False
                reply.header.rcode = RCODE.NXDOMAIN
                reply.add_auth(
                    RR(
                        "test",
                        QTYPE.SOA,
                        rdata=SOA("ns.test", "h.test", (1, 60, 60, 60, 60)),
                        ttl=60,
                    )
                )
                return True
            found_type = False
            cname = None
            for entry in entries:
                if entry == "TIMEOUT":
                    if not found_type:
                        return False
                    break
                rtype, value = entry
                code, rdata = _rdata(rtype, value)
                if code == qtype:
                    found_type = True
                    reply.add_answer(RR(owner, code, rdata=rdata, ttl=_TTL))
                elif code == QTYPE.CNAME:
                    cname = str(value).rstrip(".").lower()
                    reply.add_answer(RR(owner, code, rdata=rdata, ttl=_TTL))
            if cname is None or qtype == QTYPE.CNAME or found_type:
                if not reply.rr:
                    reply.add_auth(
                        RR(
                            "test",
                            QTYPE.SOA,
                            rdata=SOA("ns.test", "h.test", (1, 60, 60, 60, 60)),
                            ttl=60,
                        )
                    )
                return True
            if cname in seen or len(seen) > 8:
                reply.rr = []
                reply.header.rcode = RCODE.SERVFAIL  # RFC 1034 section 3.6.2: a CNAME loop
                return True
            seen.add(cname)
            name = cname


class _UdpLoop:
    """One thread serving UDP: answers are built on arrival and sent when their latency is up.

    A timer heap rather than a thread per query, so 36 queries in flight cost 36 short answer
    builds, not 36 threads fighting for the GIL: latency stays what the test asked for.
    """

    def __init__(self, answerer: _Answerer, sock: socket.socket) -> None:
        self.answerer, self.sock = answerer, sock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        pending: list[tuple[float, int, bytes, Any]] = []
        counter = 0
        while not self._stop.is_set():
            timeout = 0.05
            if pending:
                timeout = max(0.0, min(timeout, pending[0][0] - time.monotonic()))
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if ready:
                try:
                    data, peer = self.sock.recvfrom(65535)
                except OSError:
                    continue
                due = time.monotonic() + self.answerer.faults.latency
                out = self.answerer._answer(data, "udp")
                if out is not None:
                    counter += 1
                    heapq.heappush(pending, (due, counter, out, peer))
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _due, _n, out, peer = heapq.heappop(pending)
                with contextlib.suppress(OSError):
                    self.sock.sendto(out, peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class _Tcp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        sock.settimeout(5)
        try:
            while True:
                head = sock.recv(2)
                if len(head) < 2:
                    return
                (length,) = struct.unpack("!H", head)
                data = b""
                while len(data) < length:
                    chunk = sock.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                out = self.server.answerer.reply(data, "tcp")  # type: ignore[attr-defined]
                if out is None:
                    time.sleep(5)  # hold the connection open without answering
                    return
                sock.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            return


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackDns:
    """A UDP+TCP DNS server on 127.0.0.1 serving ``zone``; use as a context manager."""

    def __init__(self, zone: Zone, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.answerer = _Answerer(zone, self.faults)
        self._servers: list[socketserver.BaseServer] = []
        self._udp: _UdpLoop | None = None

    @property
    def zone(self) -> Zone:
        """The zone being served (tests may change it between queries)."""
        return self.answerer.zone

    @property
    def log(self) -> list[tuple[str, str, str]]:
        """Every question received: (name, type, "udp"|"tcp")."""
        return self.answerer.log

    def start(self) -> LoopbackDns:
        """Bind UDP and TCP on one free loopback port and serve in background threads."""
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                tcp = _TcpServer(("127.0.0.1", port), _Tcp)
            except OSError:
                udp.close()
                continue
            break
        else:
            raise RuntimeError("could not bind a loopback port for UDP and TCP")
        self.port = port
        self._udp = _UdpLoop(self.answerer, udp)
        self._udp.start()
        tcp.answerer = self.answerer  # type: ignore[attr-defined]
        threading.Thread(
            target=tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._servers.append(tcp)
        return self

    @property
    def nameserver(self) -> tuple[str, int]:
        """``(ip, port)`` as :class:`handlers.checks.resolver.DnsClient` takes it."""
        return ("127.0.0.1", self.port)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` as the CLI's ``--nameserver`` takes it."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        if self._udp is not None:
            self._udp.stop()
            self._udp = None
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> LoopbackDns:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
