"""The classifier's documented matching rules, re-stated small so the data can be tested alone.

handlers/ owns the real classifier; this copy exists so the catalogue's tests do not depend on
it. A variant is a candidate when its codes are empty or hold the bounce's code (a bounce without
a code lets text decide), and it has no text rules or one of them is found. Score: longest text/regex/tag hit, then an exact single
code over a range, then a match of the rejecting system; ties keep catalogue order.
"""

from __future__ import annotations

import re
from functools import lru_cache

from knowledge import Catalogue, Variant


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


def _additive_text(variant: Variant, text: str) -> int:
    lowered = text.lower()
    best = 0
    for needle in variant.match_text:
        if needle in lowered:
            best = max(best, len(needle))
    for pattern in variant.match_regex:
        m = pattern.search(text)
        if m:
            best = max(best, len(m.group(0)))
    for tag in variant.tags:
        if _tag_pattern(tag).search(text):
            best = max(best, len(tag) + 10)  # tags are short but unambiguous
    return best


def classify_additive(
    catalogue: Catalogue, code: str | None, text: str, system: str | None = None
) -> Variant | None:
    """The weighted form handlers/diagnosis.py uses (as of this writing), for a second opinion.

    Text length (capped at 80) + 30 for an exact code or 20 for a range + 15 for the rejecting
    system (5 for generic, -25 for another provider); without a status, codes do not filter.
    """
    best: float | None = None
    chosen = None
    for variant in catalogue.variants:
        code_score = 0.0
        if variant.codes and code is not None:
            ranges = [r for r in variant.codes if r.contains(code)]
            if not ranges:
                continue
            code_score = 30.0 if any(r.is_single for r in ranges) else 20.0
        hit = _additive_text(variant, text)
        if variant.has_text_rules and not hit:
            continue
        if system is None:
            sys_score = 5.0 if variant.system == "generic" else 0.0
        elif variant.system == system:
            sys_score = 15.0
        elif variant.system == "generic":
            sys_score = 5.0
        elif {variant.system, system} == {"exchange_online", "outlook_com"}:
            sys_score = 0.0
        else:
            sys_score = -25.0
        score = min(hit, 80) + code_score + sys_score
        if not variant.has_text_rules and not variant.codes:
            score = -1.0
        if best is None or score > best:
            best, chosen = score, variant
    return chosen
