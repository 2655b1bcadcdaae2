"""The classifier's documented matching rules, re-stated small so the data can be tested alone.

handlers/variants.py owns the real classifier (used as ``classify_additive``); this strict-order restatement
checks that the data does not depend on its weights. A variant is a candidate when its codes are empty or hold the bounce's code (a bounce without
a code lets text decide), and it has no text rules or one of them is found. Score: longest text/regex/tag hit, then an exact single
code over a range, then a match of the rejecting system; ties keep catalogue order. Microsoft's
families (exo_*, recipient_access_denied_dbeb) are candidates only when a Microsoft system refused.
"""

from __future__ import annotations

import re
from functools import lru_cache

from handlers.variants import match_variant
from knowledge import MICROSOFT_FAMILIES, Catalogue, Variant

MICROSOFT = ("exchange_online", "outlook_com", "exchange_server", "exchange")


@lru_cache(maxsize=512)
def _tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(tag)}(?![A-Za-z0-9])", re.IGNORECASE)


def text_hit(variant: Variant, text: str) -> int | None:
    """Length of the longest text rule found in ``text``; 0 without rules; None when none hit."""
    if not variant.has_text_rules:
        return 0
    lowered = text.lower()
    best = -1
    for needle in variant.match_text:
        if needle in lowered:
            best = max(best, len(needle))
    for pattern in variant.match_regex:
        m = pattern.search(text)
        if m:
            best = max(best, len(m.group(0)))
    for tag in variant.tags:
        if _tag_pattern(tag).search(text):
            best = max(best, len(tag))
    return best if best >= 0 else None


def classify(
    catalogue: Catalogue, code: str | None, text: str, system: str | None = None
) -> Variant | None:
    """The best variant for a bounce with status ``code`` and diagnostic ``text``."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for variant in catalogue.variants:
        if variant.family in MICROSOFT_FAMILIES and system not in MICROSOFT:
            continue
        if variant.codes:
            if code is None:
                # A partial paste without a code: text decides, code-only variants have no say.
                if not variant.has_text_rules:
                    continue
            elif not variant.covers_code(code):
                continue
        hit = text_hit(variant, text)
        if hit is None:
            continue
        exact = int(
            code is not None and any(r.is_single and r.contains(code) for r in variant.codes)
        )
        score = (hit, exact, int(system is not None and variant.system == system))
        if best is None or score > best:
            best, chosen = score, variant
    return chosen


def classify_additive(
    catalogue: Catalogue, code: str | None, text: str, system: str | None = None
) -> Variant | None:
    """The real classifier's answer (handlers/diagnosis.py), as a second opinion to the above."""
    return match_variant(catalogue, code, text, system)[0]
