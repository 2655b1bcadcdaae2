"""Taking DMARC aggregate reports in (from ``/api/dmarc``, a chat upload or ``ndrbot dmarc
ingest``) and answering for a domain with its sources named.

Reading is CPU work and touches the database only at the end of each report, in one
transaction; callers on the event loop run :meth:`Dmarc.ingest` on the reader thread.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.dmarc.ipdb import IpDatabase
from bot.store import Database
from bot.store.dmarc import DmarcStore, since_day
from handlers.card import Card
from handlers.checks.resolver import DnsClient, DnsUnavailable
from handlers.dmarc.alerts import AlertRules, drop_card, new_source_card, new_sources, share_drop
from handlers.dmarc.failure import FailureReport, is_feedback_report, read_failure_report
from handlers.dmarc.readiness import Gates
from handlers.dmarc.report import ReportError, ReportHead, open_report
from handlers.dmarc.sources import DomainSummary, SourceStats, name_sources, summarise
from handlers.dmarc.unpack import UnpackError, unpack
from handlers.failures import log_failure
from handlers.ports import Clock
from knowledge import Catalogue

__all__ = ["Dmarc", "Ingested"]

log = logging.getLogger("ndrbot.dmarc")

NAMED_SOURCES = 40  # a card looks up at most this many unnamed sources itself
ENRICH_LIMIT = 20_000  # source IPs the hourly sweep names at most
RENAME_AFTER = timedelta(days=7)
RETRY_FAILED = timedelta(days=1)  # a look-up DNS did not answer is asked again after this
ENRICH_DAYS = 35  # sources of the reports of the last five weeks are named
ENRICH_BATCH = 500  # IPs looked up (then saved) at a time
ENRICH_BUDGET = 300.0  # seconds the hourly naming may take
PTR_CONCURRENCY = 20
KEEP_RAW = timedelta(days=180)  # NDRBOT_DMARC_KEEP_RAW_DAYS
FUTURE_SLACK = timedelta(days=2)  # a report may start a little ahead of our clock, not more


@dataclass(frozen=True)
class Ingested:
    """What became of one report: ``stored``, ``duplicate`` or ``refused`` (kept, with why)."""

    status: str
    message: str
    where: str = ""
    domain: str = ""
    org: str = ""
    report_id: str = ""
    records: int = 0
    messages: int = 0

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", 0) or k == "status"}


class Dmarc:
    """Reports in, summaries out, over the shared database."""

    def __init__(
        self,
        db: Database,
        catalogue: Catalogue,
        dns: DnsClient | None,
        *,
        clock: Clock,
        gates: Gates = Gates(),  # noqa: B008 (frozen)
        rules: AlertRules = AlertRules(),  # noqa: B008 (frozen)
        keep_raw: timedelta = KEEP_RAW,
        domains: tuple[str, ...] = (),
        ip_db: str | None = None,
        concurrency: int = PTR_CONCURRENCY,
    ) -> None:
        self.concurrency = concurrency
        self.ip_db = self._open_ip_db(ip_db)
        self.keep_raw = keep_raw
        # The domains whose reports are taken (and their subdomains); empty: any domain.
        self.domains = tuple(d.lower().rstrip(".") for d in domains)
        self.gates = gates
        self.rules = rules
        # Where alerts go: (key, kind, subject, card); the server points it at the outbox.
        self.enqueue: Callable[[str, str, str, Card], None] | None = None
        self.store = DmarcStore(db)
        self.catalogue = catalogue
        self.dns = dns
        self.clock = clock

    @staticmethod
    def _open_ip_db(path: str | None) -> IpDatabase | None:
        if not path:
            return None
        try:
            return IpDatabase(path)
        except Exception as error:  # a missing or broken file: named, not fatal
            log.warning("NDRBOT_IP_DB %s cannot be read (%s): sources go without networks",
                        path, type(error).__name__)  # fmt: skip
            return None

    def is_watched(self, domain: str) -> bool:
        """True when reports for ``domain`` are wanted (NDRBOT_DMARC_DOMAINS, or any)."""
        return not self.domains or any(
            domain == d or domain.endswith("." + d) for d in self.domains
        )

    def watched(self, domains: Sequence[str]) -> list[str]:
        """The ``domains`` whose reports are wanted."""
        return [d for d in domains if self.is_watched(d)]

    def _unwanted(self, head: ReportHead, now: datetime) -> str:
        """Why a report is refused although it reads ("" when it is not)."""
        if not self.is_watched(head.domain):
            return (
                f"the report is about {head.domain}, which is not in NDRBOT_DMARC_DOMAINS "
                "(reports for other domains are refused: anyone can send one)"
            )
        if head.begin > now + FUTURE_SLACK:
            return f"the report's period starts in the future ({head.begin.date()})"
        return ""

    def ingest(self, data: bytes, *, source: str) -> list[Ingested]:
        """Every report in ``data`` (XML, gzip, zip or a message with one attached), stored
        once each; whatever cannot be read is kept with the reason and said so."""
        now = self.clock()
        failure = read_failure_report(data)
        if failure is not None:
            return [self._failure(failure, now)]
        if is_feedback_report(data):  # an ARF message that is no failure report: not kept
            why = (
                "a feedback report that is not a readable DMARC failure report"
                " (not kept: it carries mail)"
            )
            self.store.refuse(raw=b"", source=source, reason=why, at=now)
            return [Ingested("refused", why)]
        try:
            found = unpack(data)
        except UnpackError as refusal:
            self.store.refuse(raw=data, source=source, reason=str(refusal), at=now)
            return [Ingested("refused", str(refusal))]
        out = []
        for item in found:
            try:
                head, records = open_report(io.BytesIO(item.xml))
                unwanted = self._unwanted(head, now)
                if unwanted:
                    raise ReportError(unwanted)
                added = self.store.add(head, records, raw=item.xml, source=source, at=now)
            except ReportError as refusal:
                self.store.refuse(raw=item.xml, source=source, reason=str(refusal), at=now)
                out.append(Ingested("refused", f"{item.where}: {refusal}", item.where))
                continue
            message = f"{head.org_name} report {head.report_id} for {head.domain}: " + (
                f"{added.records} records, {added.messages} messages stored"
                if added.status == "stored"
                else "already stored, nothing changed"
            )
            out.append(
                Ingested(
                    added.status,
                    message,
                    item.where,
                    head.domain,
                    head.org_name,
                    head.report_id,
                    added.records,
                    added.messages,
                )
            )
        self.store.drop_raw_before(now - self.keep_raw)
        for domain in dict.fromkeys(r.domain for r in out if r.status == "stored"):
            try:
                self._alerts(domain)
            except Exception as error:  # the reports are stored; an alert bug must not undo it
                log_failure(log, f"DMARC alerts for {domain}", error)
        return out

    def _failure(self, report: FailureReport, now: datetime) -> Ingested:
        if not report.domain or not self.is_watched(report.domain):
            reason = (
                f"a failure report about {report.domain or 'no domain'}: not one of ours (not kept)"
            )
            return Ingested("refused", reason)
        self.store.add_failure(report, at=now)
        return Ingested(
            "stored",
            f"failure report ({report.failure or 'unknown check'}) for {report.domain} from "
            f"{report.source_ip or 'an unstated IP'}: kept redacted, for context only",
            domain=report.domain,
            org=report.reporter,
        )

    def _alerts(self, domain: str) -> None:
        """Alert on what the reports just stored changed for ``domain`` (once per key)."""
        if self.enqueue is None:
            return
        now, rules = self.clock(), self.rules
        today = now.date()
        sources = self.store.sources(domain, since_day(now, rules.settle_days))
        # Names looked up already (the hourly sweep looks up the rest) and networks from the
        # local IP database: a new source's alert says whose host it is where that is known.
        ptrs = {ip: n for ip, n in self.store.names(s.ip for s in sources).items() if n}
        named = name_sources(
            sources, ptrs, self.catalogue.senders.values(), domain, self._networks(sources)
        )
        first = self.store.first_day(domain)
        for source in new_sources(named, domain_first_day=first, today=today, rules=rules):
            self.enqueue(
                f"dmarc-new-source:{domain}:{source.stats.ip}",
                "dmarc_new_source",
                f"{domain} {source.stats.ip}",
                new_source_card(domain, source),
            )
        window = rules.recent_days + rules.before_days
        drop = share_drop(
            self.store.per_day(domain, since_day(now, window)), today=today, rules=rules
        )
        if drop is not None:
            year, week, _ = today.isocalendar()
            self.enqueue(
                f"dmarc-share-drop:{domain}:{year}-W{week:02d}",
                "dmarc_share_drop",
                domain,
                drop_card(domain, drop, rules),
            )

    async def chart(self, summary: DomainSummary) -> bytes | None:
        """The summary's chart, drawn on the reader thread (matplotlib is CPU work); None when
        there is nothing to draw or drawing failed (the card goes without it)."""
        if not summary.per_day:
            return None
        from bot.reading import off_loop
        from bot.render.charts import dmarc_chart

        try:
            return await off_loop(dmarc_chart, summary)
        except Exception as error:  # a missing font, a broken install: the words still go
            log.warning("dmarc chart failed: %s", type(error).__name__)
            return None

    def take(self, data: bytes, *, source: str) -> list[tuple[str, str]]:
        """:meth:`ingest` as the router's port wants it: ``(status, sentence)`` per report."""
        return [(r.status, r.message) for r in self.ingest(data, source=source)]

    async def _ptr(self, ip: str) -> str | None:
        """The forward-confirmed reverse DNS name of ``ip``; "" when it has none; None when DNS
        did not answer (nothing learned: asked again later)."""
        if self.dns is None:
            return None
        address = ipaddress.ip_address(ip)
        try:
            answer = await self.dns.query(address.reverse_pointer, "PTR")
            for name in answer.names[:3]:
                forward = await self.dns.query(name, "A" if address.version == 4 else "AAAA")
                if any(ipaddress.ip_address(a) == address for a in forward.addresses):
                    return name.rstrip(".").lower()
        except DnsUnavailable:
            return None
        except ValueError:
            return ""
        return ""

    async def _lookup(self, ips: Sequence[str], concurrency: int) -> dict[str, str]:
        """Names for ``ips``, ``concurrency`` at a time, each within the DNS deadline; IPs whose
        look-up failed are left out."""
        if self.dns is None or not ips:
            return {}
        gate = asyncio.Semaphore(concurrency)

        async def one(ip: str) -> tuple[str, str | None]:
            async with gate:
                assert self.dns is not None
                async with self.dns.deadline():
                    return ip, await self._ptr(ip)

        pairs = await asyncio.gather(*(one(ip) for ip in ips))
        return {ip: name for ip, name in pairs if name is not None}

    async def enrich(self, *, limit: int = ENRICH_LIMIT, budget: float = ENRICH_BUDGET) -> int:
        """Look up (and remember) the names of recent source IPs never looked up, or looked up
        over a week ago, most mail first, for at most ``budget`` seconds; the number named. A
        look-up DNS did not answer is remembered too, as no name, and asked again after a
        day (a broken reverse zone must not be asked every hour). The hourly sweep calls it,
        so a report's card finds its sources named without waiting on DNS."""
        now = self.clock()
        ips = self.store.unnamed(
            checked_before=now - RENAME_AFTER, since=since_day(now, ENRICH_DAYS), limit=limit
        )
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + budget
        named = 0
        for start in range(0, len(ips), ENRICH_BATCH):
            if loop.time() >= stop_at:
                break
            batch = ips[start : start + ENRICH_BATCH]
            try:
                async with asyncio.timeout_at(stop_at):
                    found = await self._lookup(batch, self.concurrency)
            except TimeoutError:
                break
            self.store.save_names(found, at=now)
            failed = {ip: "" for ip in batch if ip not in found}
            if failed:  # re-asked after a day, not an hour
                self.store.save_names(failed, at=now - RENAME_AFTER + RETRY_FAILED)
            named += len(found)
        return named

    async def _ptrs(self, sources: Sequence[SourceStats]) -> dict[str, str]:
        """Names for ``sources``: remembered ones, and the biggest unnamed looked up now."""
        known = self.store.names(s.ip for s in sources)
        missing = [s.ip for s in sorted(sources, key=lambda s: -s.messages) if s.ip not in known]
        found: dict[str, str] = {}
        if self.dns is not None and missing:
            async with self.dns.deadline():  # one deadline for the card, not one per source
                found = await self._lookup(missing[:NAMED_SOURCES], PTR_CONCURRENCY)
        if found:
            self.store.save_names(found, at=self.clock())
        return {ip: name for ip, name in {**known, **found}.items() if name}

    def _networks(self, sources: Sequence[SourceStats]) -> dict[str, str]:
        """Each source's network and country from the local IP database (none without one)."""
        return {s.ip: self.ip_db.network(s.ip) for s in sources} if self.ip_db is not None else {}

    async def summary(self, domain: str, days: int) -> DomainSummary:
        """``domain`` over the last ``days`` days, its biggest sources named by reverse DNS."""
        since = since_day(self.clock(), days)
        sources = self.store.sources(domain, since)
        ptrs = await self._ptrs(sources)
        named = name_sources(
            sources, ptrs, self.catalogue.senders.values(), domain, self._networks(sources)
        )
        return summarise(
            domain,
            days,
            named,
            reports=self.store.report_count(domain, since),
            receivers=self.store.receivers(domain, since),
            per_day=self.store.per_day(domain, since),
            failures=self.store.failure_count(domain, since),
        )
