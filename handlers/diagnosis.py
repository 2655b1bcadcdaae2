"""From a :class:`~handlers.ndr.model.Bounce` to a :class:`Diagnosis`: which known variant it is,
its coarse family, how sure we are, the facts for its remediation text, and which automated checks
would help and on what.

Pure: the catalogue is passed in. The matching rules are in :mod:`handlers.variants`; this module
adds what a bounce's kind changes (a delay notice reads as a delay) and what the checks look at.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import parsedate_to_datetime

from handlers.checks.plan import CheckPlan, CheckTargets, plan_for_bounce
from handlers.ndr.codes import ADDRESS_RE
from handlers.ndr.model import Bounce, FailedRecipient, Kind
from handlers.ndr.reason import reason_for
from handlers.variants import match_variant
from knowledge import Catalogue, Facts, Variant

__all__ = ["CheckTargets", "Diagnosis", "diagnose", "diagnosis_json", "facts_for", "match_variant"]


@dataclass(frozen=True)
class Diagnosis:
    """What a bounce is and what to do about it (variant is None for anything but an NDR)."""

    bounce: Bounce
    variant: Variant | None
    reasons: tuple[str, ...]  # Sisimai-vocabulary reason per failed recipient
    confidence: str  # high | medium | low | none
    evidence: tuple[str, ...] = ()  # what matched, for people and for tests
    facts: Facts = field(default_factory=Facts)
    targets: CheckTargets = field(default_factory=CheckTargets)

    @property
    def family(self) -> str | None:
        """The coarse family name (a public contract), or None for a non-bounce."""
        return self.variant.family if self.variant else None

    @property
    def reason(self) -> str | None:
        """The reason of the first failed recipient."""
        return self.reasons[0] if self.reasons else None

    @property
    def checks(self) -> tuple[str, ...]:
        """The automated checks the variant calls for."""
        return self.variant.checks if self.variant else ()

    @functools.cached_property
    def plan(self) -> CheckPlan:
        """The variant's checks on the targets the bounce gave (empty for a non-bounce); made
        once (the router, the placeholder and the card all ask for it)."""
        return plan_for_bounce(self.checks, self.targets)


_UNDECIDED = ("onhold", "undefined")  # no reason found; the catalogue may know better


def diagnose(bounce: Bounce, catalogue: Catalogue) -> Diagnosis:
    """Classify ``bounce`` against ``catalogue``."""
    if not bounce.is_ndr:
        reasons: tuple[str, ...] = ()
        if bounce.kind in (Kind.FEEDBACK, Kind.DMARC_REPORT):
            reasons = ("feedback",)
        if bounce.kind is Kind.AUTO_REPLY:
            reasons = ("vacation",)
        return Diagnosis(bounce, None, reasons, "none")
    reasons = tuple(reason_for(r, bounce.kind) for r in bounce.recipients)
    first = bounce.first
    variant, evidence, confidence = _best_variant(first, bounce, catalogue)
    if (
        variant is not None
        and reasons
        and reasons[0] in _UNDECIDED
        and variant.reason not in _UNDECIDED
    ):
        reasons = (variant.reason, *reasons[1:])
    return Diagnosis(
        bounce,
        variant,
        reasons,
        confidence,
        evidence,
        facts_for(bounce),
        _targets(bounce, variant.reason if variant else None),
    )


def _best_variant(
    first: FailedRecipient | None, bounce: Bounce, catalogue: Catalogue
) -> tuple[Variant | None, tuple[str, ...], str]:
    variant, notes = match_variant(
        catalogue, first.status if first else None, first.diagnostic if first else "", bounce.system
    )
    if variant is None:
        return None, (), "low"
    if bounce.delay_notice and variant.family not in (
        "message_delayed",
        "exo_throttled_new_sender",
        "yahoo_deferred_reputation",
    ):
        # A delay notice is about a message still in the queue; a permanent-failure variant
        # matched only by code would mislead.
        delayed = [v for v in catalogue.by_family("message_delayed") if not v.has_text_rules]
        if delayed and not any(n.startswith("text") for n in notes):
            return delayed[0], ("delay notice",), "medium"
    has_text = any(n.startswith("text") for n in notes)
    has_code = any(n.startswith("code") for n in notes)
    confidence = "high" if has_text and has_code else "medium" if (has_text or has_code) else "low"
    return variant, notes, confidence


_ADDRESS = re.compile(ADDRESS_RE.pattern)


def _safe_address(value: str | None) -> str | None:
    if not value or len(value) > 254:
        return None
    match = _ADDRESS.fullmatch(value)
    return value if match else None


def _safe_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


_HOST = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+"
)


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rpartition("@")[2].lower().strip("[]")
    return domain if _HOST.fullmatch(domain) else None


def _original_date_window(bounce: Bounce) -> tuple[str | None, str | None]:
    date_text = bounce.original.date if bounce.original else None
    if not date_text:
        return None, None
    day = _plain_date(date_text)
    try:
        if day is None:
            day = parsedate_to_datetime(date_text).date()  # the date where it was written
        return (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):  # (a year 1 or 9999 overflows)
        return None, None


# The usual RFC 5322 date ("Thu, 4 Dec 2026 10:00:00 +0000 (UTC)"), read without the standard
# library's general parser (a fifth of the classifier's time): only the day matters here, and a
# test holds this to parsedate_to_datetime on every date it accepts.
_PLAIN_DATE = re.compile(
    r"[ \t]*(?:(?:mon|tue|wed|thu|fri|sat|sun),[ \t]*)?(\d{1,2})[ \t]+([a-z]{3})[ \t]+"
    r"([1-9]\d{3})[ \t]+(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?[ \t]+[+-](?:[01]\d|2[0-3])[0-5]\d"
    r"[ \t]*(?:\([^()\n]*\)[ \t]*)?",
    re.IGNORECASE | re.ASCII,
)
_MONTHS = {
    m: n
    for n, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def _plain_date(text: str) -> date | None:
    """The day of a date written the usual way, or None for anything else (or no such day)."""
    match = _PLAIN_DATE.fullmatch(text)
    month = _MONTHS.get(match.group(2).lower()) if match else None
    if match is None or month is None:
        return None
    try:
        return date(int(match.group(3)), month, int(match.group(1)))
    except ValueError:
        return None


def facts_for(bounce: Bounce) -> Facts:
    """The validated facts of a bounce for remediation templates (anything odd is left out)."""
    first = bounce.first
    sender = _safe_address(bounce.sender)
    recipient = _safe_address(first.address if first else None)
    host = first.remote_mta.host if first else None
    start, end = _original_date_window(bounce)
    return Facts(
        sender=sender,
        recipient=recipient,
        sender_domain=_domain(sender) or _lower_host(bounce.sender_domain),
        recipient_domain=_domain(recipient),
        sending_ip=_safe_ip(bounce.sending_ip),
        remote_host=host if host and _HOST.fullmatch(host) else None,
        status=first.status if first else None,
        reply_code=first.reply_code if first else None,
        start_date=start,
        end_date=end,
    )


def _targets(bounce: Bounce, reason: str | None = None) -> CheckTargets:
    original = bounce.original
    # The sender's address, else the domain a receiver's SPF/DMARC verdict names.
    sender_domain = _domain(_safe_address(bounce.sender)) or _lower_host(bounce.sender_domain)
    sending_ip = _safe_ip(bounce.sending_ip) or _safe_ip(
        original.connecting_ip if original else None
    )
    from_domain = spf_domain = None
    dkim_domains: list[str] = []
    if original is not None:
        from_domain = _domain(original.from_address)
        for result in original.auth_results:
            if result.method == "spf" and spf_domain is None:
                mailfrom = result.get("smtp.mailfrom")
                spf_domain = (
                    _domain(mailfrom) if mailfrom and "@" in mailfrom else _lower_host(mailfrom)
                )
            elif result.method == "dkim":
                domain = _lower_host(
                    result.get("header.d")
                    or (result.get("header.i") or "").lstrip("@").rpartition("@")[2]
                )
                if domain and domain not in dkim_domains:
                    dkim_domains.append(domain)
            elif result.method == "dmarc" and from_domain is None:
                from_domain = _lower_host(result.get("header.from"))
    recipient = bounce.first.address if bounce.first else None
    # An MX check is about where the failed mail was going, unless the variant is about the
    # sender's own address (Sisimai's "rejected": a sender domain without MX, say).
    mx_domain = sender_domain if reason == "rejected" else _domain(_safe_address(recipient))
    return CheckTargets(
        mx_domain=mx_domain,
        sender_domain=sender_domain or from_domain,
        sending_ip=sending_ip,
        sending_ip_hidden=None if sending_ip else bounce.hidden_ip,
        from_domain=from_domain or sender_domain,
        spf_domain=spf_domain,
        dkim_domains=tuple(dkim_domains),
        dkim_selectors=original.dkim_selectors if original else (),
    )


def _lower_host(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower().rstrip(".")
    return value if _HOST.fullmatch(value) else None


def diagnosis_json(diagnosis: Diagnosis, file: str | None = None) -> dict[str, object]:
    """The ``ndrbot diagnose --json`` object (a public contract: keep the keys)."""
    bounce = diagnosis.bounce
    first = bounce.first
    variant = diagnosis.variant
    return {
        "file": file,
        "is_ndr": bounce.is_ndr,
        "kind": str(bounce.kind),
        "status": first.status if first else None,
        "reply_code": first.reply_code if first else None,
        "permanent": bounce.permanent,
        "family": variant.family if variant else None,
        "variant": variant.key if variant else None,
        "title": variant.title if variant else None,
        "reason": diagnosis.reason,
        "confidence": diagnosis.confidence,
        "sender": bounce.sender,
        "recipients": [
            {
                "address": r.address,
                "status": r.status,
                "reply_code": r.reply_code,
                "diagnostic": r.diagnostic or None,
                "remote_mta": r.remote_mta.to_json(),
                "hidden_address": r.hidden_address,
                "reason": diagnosis.reasons[i] if i < len(diagnosis.reasons) else None,
            }
            for i, r in enumerate(bounce.recipients)
        ],
        "reporting_mta": bounce.reporting_mta,
        "remote_mta": first.remote_mta.to_json() if first else {"host": None, "ip": None},
        "sending_ip": bounce.sending_ip,
        "sending_ip_hidden": bounce.hidden_ip,
        "sender_domain": _lower_host(bounce.sender_domain) or _domain(_safe_address(bounce.sender)),
        "diagnostic": (first.diagnostic or None) if first else None,
        "system": bounce.system,
        "system_evidence": bounce.system_evidence,
        "notes": list(bounce.notes),
    }
