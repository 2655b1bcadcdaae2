"""One line per event, for a person scanning the IT channel: what changed, in their words."""

from __future__ import annotations

from handlers.watch.transitions import Event, EventKind

__all__ = ["headline", "is_minor"]

_PERMERROR = {
    "multiple_records": "two or more SPF records",
    "syntax_error": "a syntax error",
    "include_missing": "an include with no SPF record",
    "include_loop": "an include loop",
    "too_many_void_lookups": "too many includes pointing at names that do not exist",
}


def _alert(event: Event) -> str:
    key, before, after = event.key, event.before, event.after or ""
    if key.startswith("blocklist."):
        return f"listed on {key.removeprefix('blocklist.')}"
    if key == "spf.record":
        return "SPF record removed" if before == "present" else "no SPF record"
    if key == "spf.permerror":
        return f"SPF record broken (permerror: {_PERMERROR.get(after, after)})"
    if key == "spf.lookup_limit":
        return "SPF record over the 10-lookup limit (permerror)"
    if key == "dmarc.record":
        if after == "multiple":
            return "two or more DMARC records (receivers apply none)"
        return "DMARC record removed" if before == "present" else "no DMARC record"
    if key == "dmarc.policy":
        return f"DMARC policy weakened from p={before} to p={after}"
    if key == "dmarc.pct":
        return f"DMARC pct lowered from {before} to {after}"
    if key.startswith("dkim."):
        selector = key.removeprefix("dkim.")
        return f"DKIM selector {selector} gone ({after.replace('_', ' ')})"
    if key == "mx":
        return f"MX changed from {before} to {after}"
    if key == "rdns":
        return "no reverse DNS" if after == "missing" else "reverse DNS not forward-confirmed"
    return f"{key} changed from {before} to {after}"


def _recovery(event: Event) -> str:
    key, after = event.key, event.after or ""
    if key.startswith("blocklist."):
        return f"no longer listed on {key.removeprefix('blocklist.')}"
    if key == "spf.record":
        return "SPF record published again"
    if key == "spf.permerror":
        return "SPF record valid again"
    if key == "spf.lookup_limit":
        return "SPF record within the 10-lookup limit again"
    if key == "dmarc.record":
        return "DMARC record in place again"
    if key == "dmarc.policy":
        return f"DMARC policy back to p={after}"
    if key == "dmarc.pct":
        return f"DMARC pct back to {after}"
    if key.startswith("dkim."):
        return f"DKIM selector {key.removeprefix('dkim.')} published again"
    if key == "mx":
        return f"MX back to {after}"
    if key == "rdns":
        return "reverse DNS forward-confirmed again"
    return f"{key} back to {after}"


def headline(event: Event) -> str:
    """A short phrase for ``event`` (the watch's target is said elsewhere on the card)."""
    if event.kind is EventKind.ALERT:
        return _alert(event)
    if event.kind is EventKind.RECOVERY:
        return _recovery(event)
    if event.kind is EventKind.CANNOT_CHECK:
        return "cannot be checked: DNS keeps failing to answer"
    return "can be checked again"


def is_minor(event: Event) -> bool:
    """True for news that may well be intended (an MX move) rather than breakage."""
    return event.key == "mx"
