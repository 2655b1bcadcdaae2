"""Matching a status code and a reply text against the catalogue: which variant fits best.

Pure: the catalogue is passed in. A variant is a candidate when its code ranges cover the status
(or it has none) and, if it has text rules, one of them is found in the rejecting server's text.
Among candidates the longest matching text wins, then an exact code over a range, then a variant
written for the system that rejected the message.

Microsoft's families (``exo_*``, ``recipient_access_denied_dbeb``) are for refusals by Microsoft's
systems only: when the reader did not find that Exchange Online, Outlook.com or Exchange refused,
their variants are not candidates, and the generic variant for the same kind of refusal (with
advice that fits Postfix, Gmail or a gateway) answers instead.

Speed: the catalogue is indexed once (variants by code, and by the text each needs), so a
diagnosis scores only the variants that can match, and tests each phrase, tag and regex once.
"""

from __future__ import annotations

import operator
import re
from typing import NamedTuple

from handlers.ndr.automaton import LiteralSet
from handlers.ndr.systems import MICROSOFT
from knowledge import MICROSOFT_FAMILIES, Catalogue, CodeRange, Variant, parse_code

__all__ = ["match_variant", "prepare_index"]


def match_variant(
    catalogue: Catalogue, status: str | None, text: str, system: str | None = None
) -> tuple[Variant | None, tuple[str, ...]]:
    """The catalogue variant that best fits a status code and diagnostic text, with what matched.

    The rules in the module docstring; the score adds the matched text's length (capped at
    80), 30 for an exact code or 20 for a range, and the system preference.
    """
    parsed = parse_code(status) if status else None
    index = _index(catalogue)
    hits = _TextHits(text[:4000], index)
    # Variants with text rules can only match when text one of their rules needs is present
    # (a phrase, a tag, the literal part of a regex): the rest are skipped without scoring.
    textual = set(index.ungated)
    for needed in hits.found:
        textual.update(index.triggers[needed])
    best: tuple[float, Variant, CodeRange | None, str] | None = None
    microsoft = system in MICROSOFT
    scored = _scored(index, parsed)
    entries = [*scored.plain, *(scored.texted[i] for i in textual.intersection(scored.texted))]
    entries.sort(key=_position)  # the candidates' own order: the first of equal scores wins
    for _, variant, code_score, matched_range, microsoft_only, texted in entries:
        if microsoft_only and not microsoft:
            continue
        text_len, text_note = _text_score(variant, hits) if texted else (0, "")
        if texted and not text_len:
            continue
        score = min(text_len, 80) + code_score + _system_score(variant.system, system)
        if not texted and not variant.codes:
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


# A candidate: its place among the candidates, the variant, its code score, the range that
# matched, whether only a Microsoft system's refusal can match it, whether it has text rules.
_Entry = tuple[int, Variant, float, "CodeRange | None", bool, bool]
_position = operator.itemgetter(0)


class _Scored(NamedTuple):
    """A status's candidates: those matched by code alone, and those with text rules by id."""

    plain: tuple[_Entry, ...]
    texted: dict[int, _Entry]


class _Index(NamedTuple):
    variants: tuple[Variant, ...]  # the catalogue's variants (to notice a different catalogue)
    codeless: tuple[Variant, ...]  # variants without codes
    spans: dict[tuple[int, int], tuple[tuple[int, int, Variant], ...]]  # (lo, hi, v) by subject
    broad: tuple[tuple[CodeRange, Variant], ...]  # ranges over several subjects (4.x.x, say)
    triggers: dict[str, tuple[int, ...]]  # each phrase, regex literal or tag: ids of its variants
    ungated: frozenset[int]  # ids of variants with a regex no literal can gate (always tested)
    words: LiteralSet  # every trigger, found in a text in one pass
    scored: dict[tuple[int, int, int] | None, _Scored]  # _scored's answers, by status


_INDEX: dict[int, _Index] = {}


def _build_index(catalogue: Catalogue) -> _Index:
    """Built in time proportional to the number of code ranges (not to their widths): a range
    within one class.subject is one ``(lo, hi, variant)`` entry under it; the few that span
    several subjects (a whole class, say) are kept apart and compared in full."""
    codeless: list[Variant] = []
    spans: dict[tuple[int, int], list[tuple[int, int, Variant]]] = {}
    broad: list[tuple[CodeRange, Variant]] = []
    for variant in catalogue.variants:
        if not variant.codes:
            codeless.append(variant)
        for r in variant.codes:
            if r.lo[:2] == r.hi[:2]:
                spans.setdefault(r.lo[:2], []).append((r.lo[2], r.hi[2], variant))
            else:
                broad.append((r, variant))
    # Triggers: text one of a variant's rules needs; a variant is scored only when one is present.
    triggers: dict[str, list[int]] = {}
    ungated: set[int] = set()
    for variant in catalogue.variants:
        needs = [t.lower() for t in variant.tags]
        for regex in variant.match_regex:
            literal = _required_literal(regex)
            if literal is None:
                ungated.add(id(variant))
            else:
                needs.append(literal)
        for needed in [*variant.match_text, *needs]:
            triggers.setdefault(needed, []).append(id(variant))
    return _Index(
        catalogue.variants,
        tuple(codeless),
        {k: tuple(v) for k, v in spans.items()},
        tuple(broad),
        {k: tuple(v) for k, v in triggers.items()},
        frozenset(ungated),
        LiteralSet(tuple(sorted(triggers))),
        {},
    )


def prepare_index(catalogue: Catalogue) -> None:
    """Build the catalogue's index, and its phrases' automaton, now (a server: before requests,
    not during the first)."""
    _index(catalogue).words.prepare()


def _index(catalogue: Catalogue) -> _Index:
    """The catalogue's index, built once (and again if the catalogue's variants change)."""
    index = _INDEX.get(id(catalogue))
    if index is None or index.variants is not catalogue.variants:
        index = _INDEX[id(catalogue)] = _build_index(catalogue)
    return index


def _candidates(index: _Index, parsed: tuple[int, int, int] | None) -> tuple[Variant, ...]:
    """Variants that could match a status: those without codes and those whose ranges cover it
    (from the index, so a diagnosis does not walk every variant)."""
    if parsed is None:
        return index.variants
    seen: set[int] = set()
    covering: list[Variant] = []
    for lo, hi, variant in index.spans.get(parsed[:2], ()):
        if lo <= parsed[2] <= hi and id(variant) not in seen:
            seen.add(id(variant))
            covering.append(variant)
    for code_range, variant in index.broad:
        if code_range.lo <= parsed <= code_range.hi and id(variant) not in seen:
            seen.add(id(variant))
            covering.append(variant)
    return index.codeless + tuple(covering)


_SCORED_KEPT = 4096  # statuses whose candidates are kept (a hostile stream of odd codes: bounded)


def _scored(index: _Index, parsed: tuple[int, int, int] | None) -> _Scored:
    """The candidates for a status that its code does not rule out, in order, with their code
    scores: worked out once per status, as bounces with the same code come again and again. Those
    with text rules are kept by id, as a diagnosis scores only the few its text can match."""
    scored = index.scored.get(parsed)
    if scored is None:
        plain: list[_Entry] = []
        texted: dict[int, _Entry] = {}
        for position, variant in enumerate(_candidates(index, parsed)):
            code_score, matched_range = _code_score(variant, parsed)
            if code_score < 0:
                continue
            microsoft_only = variant.family in MICROSOFT_FAMILIES
            has_text = variant.has_text_rules
            entry = (position, variant, code_score, matched_range, microsoft_only, has_text)
            if has_text:
                texted.setdefault(id(variant), entry)
            else:
                plain.append(entry)
        if len(index.scored) >= _SCORED_KEPT:
            index.scored.clear()
        scored = index.scored[parsed] = _Scored(tuple(plain), texted)
    return scored


def _code_score(
    variant: Variant, parsed: tuple[int, int, int] | None
) -> tuple[float, CodeRange | None]:
    if not variant.codes:
        return 0.0, None
    if parsed is None:
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
            # \xHH, \uXXXX, \N{...}, \1: an escape with a payload; skip it, ending the run.
            index += {"x": 4, "u": 6, "U": 10}.get(nxt, 2)
            if nxt == "N" and source[index : index + 1] == "{":
                index = source.find("}", index) + 1 or len(source)
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

    def __init__(self, text: str, index: _Index) -> None:
        self.text = text
        self.lowered = text.lower()
        # Every trigger of the catalogue (phrase, tag, regex literal) looked for once, up front,
        # in one pass.
        self.found = frozenset(index.words.present(self.lowered))
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
    if hits.found:
        for phrase in variant.match_text:
            if len(phrase) > best and phrase in hits.found:
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
