"""Who sends as the domain: each source IP named (a known service, else its reverse DNS) and put in
one of four buckets, with what to do about it. Pure functions over the store's per-source sums.

Buckets, decided in this order:

``aligned``     most of its messages passed DMARC (SPF or DKIM passed and aligned);
``forwarder``   a forwarder or mailing list: a known forwarding service, receivers that said
                so (``forwarded``, ``mailing_list``, ``trusted_forwarder``), or a
                DKIM signature that passed while SPF failed from a host that is not ours;
``fixable``     a known sending service (authenticating as itself), or mail authenticated as
                one of our own names but not aligned: one DNS change makes it align;
``unknown``     nothing that vouches for it: an unlisted sender of ours, an unknown service,
                or someone spoofing the domain (passing SPF or DKIM for some other domain
                proves nothing: spammers authenticate their own domains too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from handlers.dmarc.names import base_domain
from knowledge import SendingService

__all__ = [
    "Bucket",
    "DomainSummary",
    "NamedSource",
    "SourceStats",
    "identify",
    "minus",
    "name_sources",
    "summarise",
]

FORWARD_OVERRIDES = frozenset({"forwarded", "mailing_list", "trusted_forwarder"})


class Bucket(StrEnum):
    ALIGNED = "aligned"
    FORWARDER = "forwarder"
    FIXABLE = "fixable"
    UNKNOWN = "unknown"


BUCKET_TITLES = {
    Bucket.ALIGNED: "Aligned",
    Bucket.FIXABLE: "Authenticated, not aligned (fixable)",
    Bucket.FORWARDER: "Forwarders and mailing lists",
    Bucket.UNKNOWN: "Unknown senders or spoofing",
}


@dataclass(frozen=True)
class SourceStats:
    """What the reports say about one source IP over the period (summed by the store)."""

    ip: str
    messages: int
    aligned: int  # DMARC pass
    dkim_aligned: int
    spf_aligned: int
    dkim_auth: int  # a DKIM signature passed, aligned or not
    spf_auth: int  # SPF passed, aligned or not
    forwarded: int  # receivers' overrides that say forwarded or mailing list
    rejected: int = 0  # disposition reject or quarantine
    dkim_domains: tuple[str, ...] = ()  # d= of passing signatures, biggest first
    envelope_domains: tuple[str, ...] = ()
    receivers: tuple[str, ...] = ()
    first_day: str = ""  # the first day any report named it (YYYY-MM-DD), in all time


@dataclass(frozen=True)
class NamedSource:
    """A source with its name, bucket and the fix that makes it align."""

    stats: SourceStats
    bucket: Bucket
    name: str  # "SendGrid (Twilio)", "mail.example.net", or the IP itself
    ptr: str = ""  # forward-confirmed reverse DNS, "" when none or not looked up
    service: SendingService | None = None
    fix: str = ""
    network: str = ""  # "AS8075 Microsoft Corporation, US", from a local IP database
    base: str = ""  # the reverse DNS name's registered domain ("hostco.net"), "" without one

    @property
    def share(self) -> float:
        return self.stats.aligned / self.stats.messages if self.stats.messages else 0.0


@dataclass(frozen=True)
class DomainSummary:
    """One domain over a period: volume, aligned share, sources by bucket, receivers."""

    domain: str
    days: int
    messages: int
    aligned: int
    reports: int
    sources: tuple[NamedSource, ...]  # biggest first
    receivers: tuple[tuple[str, int], ...]  # (org, messages), biggest first
    per_day: tuple[tuple[str, int, int], ...] = ()  # (YYYY-MM-DD, messages, aligned)
    first_day: str = ""
    last_day: str = ""
    buckets: Mapping[Bucket, int] = field(default_factory=dict)  # messages per bucket
    failures: int = 0  # failure reports (RFC 9991) received: context, never counted

    @property
    def share(self) -> float:
        return self.aligned / self.messages if self.messages else 0.0


def _suffix(name: str, suffixes: Iterable[str]) -> bool:
    name = name.lower().rstrip(".")
    return any(name == s.lstrip(".") or name.endswith("." + s.lstrip(".")) for s in suffixes if s)


def identify(
    services: Iterable[SendingService], ptr: str, stats: SourceStats
) -> SendingService | None:
    """The known service behind a source: a mailing list by its own domain (it sends from its
    host's servers, say Google's), else by reverse DNS, then by the DKIM ``d=`` it signs with,
    then by its Return-Path domain."""
    known = tuple(services)
    for service in known:  # a list re-signs or rewrites: its own domain says so, not the host
        if service.kind == "forwarder" and (
            any(_suffix(d, service.dkim_domains) for d in stats.dkim_domains)
            or any(_suffix(d, service.envelope_domains) for d in stats.envelope_domains)
        ):
            return service
    if ptr:
        for service in known:
            if _suffix(ptr, service.ptr_suffixes):
                return service
    for domain in stats.dkim_domains:
        for service in known:
            if _suffix(domain, service.dkim_domains):
                return service
    for domain in stats.envelope_domains:
        for service in known:
            if _suffix(domain, service.envelope_domains):
                return service
    return None


def _ours(name: str, domain: str) -> bool:
    return _suffix(name, (domain,))


def _bucket(stats: SourceStats, service: SendingService | None, domain: str) -> Bucket:
    half = stats.messages / 2 if stats.messages else 1
    if stats.aligned >= half and stats.messages:
        return Bucket.ALIGNED
    if service is not None and service.kind == "forwarder":
        return Bucket.FORWARDER
    if stats.forwarded >= half:
        return Bucket.FORWARDER
    foreign_dkim = [d for d in stats.dkim_domains if not _ours(d, domain)]
    if stats.dkim_auth >= half and not foreign_dkim and stats.spf_auth < half:
        # Our own signature verified, SPF failed, yet not aligned: a relay rewrote the path.
        return Bucket.FORWARDER
    if service is not None:
        return Bucket.FIXABLE
    # Authenticated as a domain of ours (a subdomain's DKIM or Return-Path) but not aligned:
    # the domain owner's own stream, fixable. Passing SPF or DKIM for some other domain proves
    # nothing: spammers authenticate their own domains too.
    ours_signed = any(_ours(d, domain) for d in stats.dkim_domains) and stats.dkim_auth >= half
    ours_bounced = any(_ours(d, domain) for d in stats.envelope_domains) and stats.spf_auth >= half
    if ours_signed or ours_bounced:
        return Bucket.FIXABLE
    return Bucket.UNKNOWN


def _fix(bucket: Bucket, service: SendingService | None, stats: SourceStats, domain: str) -> str:
    if bucket is Bucket.ALIGNED:
        return ""
    if service is not None and bucket is not Bucket.FORWARDER:
        return service.fix
    if bucket is Bucket.FORWARDER:
        return (
            "Nothing to fix on your side: forwarding breaks SPF. Keep DKIM signing on every "
            "stream so forwarded mail still passes; these are not counted against enforcement."
        )
    signer = next((d for d in stats.dkim_domains if not _ours(d, domain)), "")
    if bucket is Bucket.FIXABLE:
        return (
            f"It authenticates as a name under {domain} that does not align: check the "
            "alignment mode (adkim/aspf) or sign with DKIM for the domain itself."
        )
    if signer:
        return (
            f"It signs as {signer}. If it is a service you use, set up DKIM for {domain} in it "
            "(it gives the records to publish); if not, it is spoofing your domain."
        )
    return (
        "If this is yours (a server, an app, a partner), add it to SPF or sign its mail with "
        "DKIM; if not, it is spoofing your domain and enforcement will stop it."
    )


def name_sources(
    sources: Sequence[SourceStats],
    ptrs: Mapping[str, str],
    services: Iterable[SendingService],
    domain: str,
    networks: Mapping[str, str] | None = None,
) -> tuple[NamedSource, ...]:
    """Each source named, bucketed and given its fix; biggest first."""
    known = tuple(services)
    out = []
    for stats in sorted(sources, key=lambda s: (-s.messages, s.ip)):
        ptr = ptrs.get(stats.ip, "")
        service = identify(known, ptr, stats)
        bucket = _bucket(stats, service, domain)
        name = service.name if service is not None else (ptr or stats.ip)
        fix = _fix(bucket, service, stats, domain)
        network = (networks or {}).get(stats.ip, "")
        out.append(NamedSource(stats, bucket, name, ptr, service, fix, network, base_domain(ptr)))
    return tuple(out)


def summarise(
    domain: str,
    days: int,
    named: Sequence[NamedSource],
    *,
    reports: int,
    receivers: Sequence[tuple[str, int]],
    per_day: Sequence[tuple[str, int, int]] = (),
    failures: int = 0,
) -> DomainSummary:
    """The domain's summary from its named sources."""
    messages = sum(s.stats.messages for s in named)
    buckets = {b: sum(s.stats.messages for s in named if s.bucket is b) for b in Bucket}
    summary = DomainSummary(
        domain=domain,
        days=days,
        messages=messages,
        aligned=sum(s.stats.aligned for s in named),
        reports=reports,
        sources=tuple(named),
        receivers=tuple(receivers),
        per_day=tuple(per_day),
        buckets=buckets,
        failures=failures,
    )
    if per_day:
        summary = replace(summary, first_day=per_day[0][0], last_day=per_day[-1][0])
    return summary


def minus(whole: Sequence[SourceStats], part: Sequence[SourceStats]) -> list[SourceStats]:
    """``whole`` without ``part`` (the same sources over a shorter window): the sums of the days
    in ``whole`` that ``part`` does not cover."""
    later = {s.ip: s for s in part}
    out = []
    for s in whole:
        p = later.get(s.ip)
        if p is None:
            out.append(s)
            continue
        rest = replace(
            s,
            messages=s.messages - p.messages,
            aligned=s.aligned - p.aligned,
            dkim_aligned=s.dkim_aligned - p.dkim_aligned,
            spf_aligned=s.spf_aligned - p.spf_aligned,
            dkim_auth=s.dkim_auth - p.dkim_auth,
            spf_auth=s.spf_auth - p.spf_auth,
            forwarded=s.forwarded - p.forwarded,
            rejected=s.rejected - p.rejected,
        )
        if rest.messages > 0:
            out.append(rest)
    return out
