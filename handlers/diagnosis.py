"""From a :class:`~handlers.ndr.model.Bounce` to a :class:`Diagnosis`: which known variant it is,
its coarse family, how sure we are, and which automated checks would help.

Pure: the catalogue is passed in. Matching follows the catalogue's contract: a variant is a
candidate when its code ranges cover the status (or it has none) and, if it has text rules, one of
them is found in the rejecting server's text. Among candidates the longest matching text wins,
then an exact code over a range, then a variant written for the system that rejected the message.

Microsoft's families (``exo_*``, ``recipient_access_denied_dbeb``) are for refusals by Microsoft's
systems only: when the reader did not find that Exchange Online, Outlook.com or Exchange refused,
their variants are not candidates, and the generic variant for the same kind of refusal (with
advice that fits Postfix, Gmail or a gateway) answers instead.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime

from handlers.ndr.codes import ADDRESS_RE
from handlers.ndr.model import Bounce, FailedRecipient, Kind
from handlers.ndr.reason import reason_for
from handlers.ndr.systems import MICROSOFT
from knowledge import MICROSOFT_FAMILIES, Catalogue, CodeRange, Facts, Variant, parse_code

__all__ = ["CheckTargets", "Diagnosis", "diagnose", "diagnosis_json", "facts_for", "match_variant"]


@dataclass(frozen=True)
class CheckTargets:
    """What the automated checks of a diagnosis would look at."""

    sender_domain: str | None = None
    sending_ip: str | None = None
    from_domain: str | None = None
    spf_domain: str | None = None
    dkim_domains: tuple[str, ...] = ()
    dkim_selectors: tuple[tuple[str, str], ...] = ()
    mx_domain: str | None = None  # whose MX matters: the recipient's, or the sender's
    sending_ip_hidden: str | None = None  # what the paste showed where it masked the sending IP


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
    if variant is not None and reasons and reasons[0] in ("onhold", "undefined"):
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


def match_variant(
    catalogue: Catalogue, status: str | None, text: str, system: str | None = None
) -> tuple[Variant | None, tuple[str, ...]]:
    """The catalogue variant that best fits a status code and diagnostic text, with what matched.

    The rules in the module docstring; the score adds the matched text's length (capped at
    80), 30 for an exact code or 20 for a range, and the system preference.
    """
    parsed = parse_code(status) if status else None
    index = _index(catalogue)
    hits = _TextHits(text[:4000], index[1])
    # Variants with text rules can only match when text one of their rules needs is present
    # (a phrase, a tag, the literal part of a regex): the rest are skipped without scoring.
    textual = set(index[6])
    for phrase in hits.phrases:
        textual.update(index[5][phrase])
    for needed in index[7]:
        if needed in hits.lowered:
            textual.update(index[5][needed])
    best: tuple[float, Variant, CodeRange | None, str] | None = None
    microsoft = system in MICROSOFT
    for variant in _candidates(catalogue, parsed):
        if variant.has_text_rules and id(variant) not in textual:
            continue
        if variant.family in MICROSOFT_FAMILIES and not microsoft:
            continue
        code_score, matched_range = _code_score(variant, status, parsed)
        if code_score < 0:
            continue
        text_len, text_note = _text_score(variant, hits) if variant.has_text_rules else (0, "")
        if variant.has_text_rules and not text_len:
            continue
        score = min(text_len, 80) + code_score + _system_score(variant.system, system)
        if not variant.has_text_rules and not variant.codes:
            score = -1.0  # the catch-all: only when nothing else fits
        if best is None or score > best[0]:
            best = (score, variant, matched_range, text_note)
    if best is None:
        return None, ()
    _score, variant, matched_range, text_note = best
    code_note = ""
    if matched_range is not None:
        code_note = (
            f"code {status}" if matched_range.is_single else f"code {status} in {matched_range}"
        )
    return variant, tuple(n for n in (code_note, text_note) if n)


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


_Index = tuple[
    tuple[Variant, ...],  # the catalogue's variants (to notice a different catalogue)
    tuple[str, ...],  # every match_text phrase of the catalogue, once
    tuple[Variant, ...],  # variants without codes
    dict[tuple[int, int, int], tuple[Variant, ...]],  # narrow ranges, by exact code
    dict[tuple[int, int], tuple[Variant, ...]],  # wide ranges, by class and subject
    dict[str, tuple[int, ...]],  # each phrase, regex literal or tag: ids of its variants
    frozenset[int],  # ids of variants with a regex no literal can gate (tested on every text)
    tuple[str, ...],  # the triggers that are tags or regex literals (phrases are tested anyway)
]
_INDEX: dict[int, _Index] = {}
_NARROW = 1000  # a range of at most this many detail codes is indexed code by code


def _build_index(catalogue: Catalogue) -> _Index:
    codeless: list[Variant] = []
    exact: dict[tuple[int, int, int], list[Variant]] = {}
    wide: dict[tuple[int, int], list[Variant]] = {}
    for variant in catalogue.variants:
        if not variant.codes:
            codeless.append(variant)
        for r in variant.codes:
            if r.lo[:2] == r.hi[:2] and r.hi[2] - r.lo[2] <= _NARROW:
                for detail in range(r.lo[2], r.hi[2] + 1):
                    bucket = exact.setdefault((r.lo[0], r.lo[1], detail), [])
                    if variant not in bucket:
                        bucket.append(variant)
            else:
                for subject in range(r.lo[1], r.hi[1] + 1):
                    bucket = wide.setdefault((r.lo[0], subject), [])
                    if variant not in bucket:
                        bucket.append(variant)
    # Triggers: text one of a variant's rules needs; a variant is scored only when one is present.
    triggers: dict[str, list[int]] = {}
    others: set[str] = set()
    ungated: set[int] = set()
    for variant in catalogue.variants:
        needs = [t.lower() for t in variant.tags]
        for regex in variant.match_regex:
            literal = _required_literal(regex)
            if literal is None:
                ungated.add(id(variant))
            else:
                needs.append(literal)
        others.update(needs)
        for needed in [*variant.match_text, *needs]:
            triggers.setdefault(needed, []).append(id(variant))
    return (
        catalogue.variants,
        tuple(sorted({p for v in catalogue.variants for p in v.match_text})),
        tuple(codeless),
        {k: tuple(v) for k, v in exact.items()},
        {k: tuple(v) for k, v in wide.items()},
        {k: tuple(v) for k, v in triggers.items()},
        frozenset(ungated),
        tuple(sorted(others)),
    )


def _index(catalogue: Catalogue) -> _Index:
    """The catalogue's index, built once (and again if the catalogue's variants change)."""
    index = _INDEX.get(id(catalogue))
    if index is None or index[0] is not catalogue.variants:
        index = _INDEX[id(catalogue)] = _build_index(catalogue)
    return index


def _candidates(catalogue: Catalogue, parsed: tuple[int, int, int] | None) -> tuple[Variant, ...]:
    """Variants that could match a status: those without codes and those whose ranges cover it
    (from the index, so a diagnosis does not walk every variant)."""
    index = _index(catalogue)
    if parsed is None:
        return index[0]
    return index[2] + index[3].get(parsed, ()) + index[4].get(parsed[:2], ())


def _code_score(
    variant: Variant, status: str | None, parsed: tuple[int, int, int] | None
) -> tuple[float, CodeRange | None]:
    if not variant.codes:
        return 0.0, None
    if status is None or parsed is None:
        # A partial paste without a code: only a variant's text can speak for it.
        return (0.0 if variant.has_text_rules else -1.0), None
    for code_range in variant.codes:
        if code_range.lo <= parsed <= code_range.hi:
            return (30.0 if code_range.is_single else 20.0), code_range
    return -1.0, None


_TAG_CACHE: dict[str, re.Pattern[str]] = {}


def _tag_pattern(tag: str) -> re.Pattern[str]:
    pattern = _TAG_CACHE.get(tag)
    if pattern is None:
        pattern = re.compile(r"(?<![\w-])" + re.escape(tag) + r"(?![\w-])", re.IGNORECASE)
        _TAG_CACHE[tag] = pattern
    return pattern


_LITERALS: dict[re.Pattern[str], str | None] = {}
_ESCAPED_LITERAL = re.compile(r"\\([.()\[\]{}*+?|^$/#-])")


def _required_literal(pattern: re.Pattern[str]) -> str | None:
    """A lower-case piece of text every match of ``pattern`` contains (its longest run of plain
    characters outside groups, classes and quantifiers, at least 3 long), or None when that cannot
    be told simply (a top-level alternation)."""
    if pattern in _LITERALS:
        return _LITERALS[pattern]
    source = pattern.pattern
    runs = [""]
    index, depth = 0, 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            nxt = source[index + 1 : index + 2]
            literal = nxt and not nxt.isalnum()
            index += 2
            piece = nxt if literal and depth == 0 else None
        elif char in "[{":
            close = "]" if char == "[" else "}"
            end = source.find(close, index + 1)
            while end > 0 and source[end - 1] == "\\":
                end = source.find(close, end + 1)
            index = len(source) if end < 0 else end + 1
            piece = None
            if char == "{":
                runs[-1] = runs[-1][:-1]  # the quantified character is not always there
        elif char == "(":
            depth, index, piece = depth + 1, index + 1, None
        elif char == ")":
            depth, index, piece = max(depth - 1, 0), index + 1, None
        elif char == "|" and depth == 0:
            _LITERALS[pattern] = None
            return None
        elif char in ".^$|":
            index, piece = index + 1, None
        elif char in "?*+":
            if char != "+":
                runs[-1] = runs[-1][:-1]  # an optional character ends the run without it
            index, piece = index + 1, None
        else:
            index, piece = index + 1, (char if depth == 0 else None)
        if piece is None:
            runs.append("")
        else:
            runs[-1] += piece
    longest = max(runs, key=len)
    found = longest.lower() if len(longest) >= 3 else None
    _LITERALS[pattern] = found
    return found


class _TextHits:
    """What of the catalogue's text rules a diagnostic contains, each rule tested once per call
    (many variants share phrases, tags and patterns)."""

    def __init__(self, text: str, phrases: tuple[str, ...]) -> None:
        self.text = text
        self.lowered = text.lower()
        # Every phrase of the catalogue tested once, up front: cheaper than asking per variant.
        self.phrases = frozenset(p for p in phrases if p in self.lowered)
        self._regexes: dict[re.Pattern[str], int] = {}
        self._tags: dict[str, bool] = {}

    def regex(self, pattern: re.Pattern[str]) -> int:
        length = self._regexes.get(pattern)
        if length is None:
            needed = _required_literal(pattern)
            if needed and needed not in self.lowered:
                length = 0  # the words every match contains are absent: no need to run it
            else:
                match = pattern.search(self.text)
                length = len(match.group(0)) if match else 0
            self._regexes[pattern] = length
        return length

    def tag(self, tag: str) -> bool:
        hit = self._tags.get(tag)
        if hit is None:
            # A substring test first: most tags are absent, and that answer is cheap.
            hit = tag.lower() in self.lowered and bool(_tag_pattern(tag).search(self.text))
            self._tags[tag] = hit
        return hit


def _text_score(variant: Variant, hits: _TextHits) -> tuple[int, str]:
    best, note = 0, ""
    if hits.phrases:
        for phrase in variant.match_text:
            if len(phrase) > best and phrase in hits.phrases:
                best, note = len(phrase), f"text '{phrase}'"
    for regex in variant.match_regex:
        length = hits.regex(regex)
        if length > best:
            best, note = length, f"text /{regex.pattern}/"
    for tag in variant.tags:
        if len(tag) + 10 > best and hits.tag(tag):
            # Provider tags are short but unambiguous: weigh them like a long phrase.
            best, note = len(tag) + 10, f"text tag {tag}"
    return best, note


def _system_score(variant_system: str, detected: str | None) -> float:
    if detected is None:
        # Nothing named the rejecting system (a partial paste): the generic reading first.
        return {"generic": 5.0, "exchange_online": 3.0}.get(variant_system, 0.0)
    # Exchange on-premises (or "Exchange, cannot tell which") shares Exchange Online's texts.
    detected = "exchange_online" if detected in ("exchange", "exchange_server") else detected
    if variant_system == detected:
        return 15.0
    if variant_system == "generic":
        return 5.0
    if {variant_system, detected} == {"exchange_online", "outlook_com"}:
        return 0.0  # the same Microsoft filtering stack answers for both
    return -25.0


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
    try:
        when = parsedate_to_datetime(date_text)
    except (TypeError, ValueError, IndexError):
        return None, None
    start = (when - timedelta(days=1)).date().isoformat()
    end = (when + timedelta(days=1)).date().isoformat()
    return start, end


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
