"""Failed recipients from pastes that are not bounce messages: log lines, SMTP transcripts and
application errors, merged with what the report-reading finds.

The same refusal often shows up in several shapes at once (a Postfix log line quoting the remote
reply, the reply again as a bare line; a transcript and the app's exception around it). They are
merged into one candidate per refusal, each field taken from whichever shape gives it. Where the
paste names no recipient for a refusal, only the most informative such refusal is kept.
"""

from __future__ import annotations

import re
from dataclasses import replace

from handlers.ndr.apps import find_replies
from handlers.ndr.codes import STATUS_RE, has_code
from handlers.ndr.extract import Candidate, reply_text
from handlers.ndr.lazyre import lazy
from handlers.ndr.logs import read_log_lines
from handlers.ndr.transcript import read_transcript

__all__ = ["merge_candidates", "read_shapes"]


def read_shapes(report: str) -> list[Candidate]:
    """Candidates from the log lines, transcript and application errors in ``report``."""
    found = read_log_lines(report)
    session = read_transcript(report)
    if session is not None:
        at = report.find(session.reply[:40])
        found.append(
            Candidate(
                session.recipient,
                session.reply,
                session.host,
                None,
                session.command,
                at=max(at, 0),
                sender=session.sender,
                outcome="deferred" if session.reply[:1] == "4" else "bounced",
            )
        )
    return merge_candidates(found, find_replies(report))


def _same(a: str, b: str) -> bool:
    """True when two reply keys are the same refusal (one starts or contains the other)."""
    if not a or not b:
        return False
    short = min(len(a), len(b), 48)
    return short >= 12 and (a[:short] == b[:short] or a[:short] in b or b[:short] in a)


def _fill(kept: Candidate, other: Candidate, better: bool) -> Candidate:
    """``kept`` with the fields it lacks taken from ``other`` (the same refusal, another shape);
    ``other``'s text when it tells more (``better``)."""
    return replace(
        kept,
        address=kept.address or other.address,
        text=other.text if better else kept.text,
        host=kept.host or other.host,
        ip=kept.ip or other.ip,
        command=kept.command or other.command,
        sender=kept.sender or other.sender,
        client_ip=kept.client_ip or other.client_ip,
        outcome=kept.outcome or other.outcome,
        hidden=kept.hidden or other.hidden,
    )


def merge_candidates(primary: list[Candidate], extra: list[Candidate]) -> list[Candidate]:
    """``primary`` then those of ``extra`` about other refusals, each refusal once.

    A candidate without a recipient is dropped when another names one; of several without,
    only the most informative stays.
    """
    merged: list[Candidate] = []
    keys: list[str] = []
    ranks: list[tuple[int, int, int]] = []
    for candidate in [*primary, *extra]:
        reply = reply_text(candidate.text) if candidate.text else ""
        key = re.sub(r"[^a-z0-9]+", "", reply.lower())[:48]
        rank = _rank(candidate, reply)
        for index, other in enumerate(merged):
            same_address = candidate.address is not None and candidate.address == other.address
            if _same(key, keys[index]) and (
                same_address or candidate.address is None or other.address is None
            ):
                better = rank > ranks[index]
                merged[index] = _fill(other, candidate, better)
                ranks[index] = max(rank, ranks[index])
                break
        else:
            merged.append(candidate)
            keys.append(key)
            ranks.append(rank)
    # One reading per recipient: the same address refused twice (the RCPT refusal and the
    # "no valid recipients" after it) keeps the reading that tells most.
    best_for: dict[str, int] = {}
    for index, candidate in enumerate(merged):
        if candidate.address:
            known = best_for.get(candidate.address)
            if known is None or ranks[index] > ranks[known]:
                best_for[candidate.address] = index
    keep = set(best_for.values())
    pairs = [
        (c, r)
        for i, (c, r) in enumerate(zip(merged, ranks, strict=True))
        if not c.address or i in keep
    ]
    merged, ranks = [c for c, _ in pairs], [r for _, r in pairs]
    if any(has_code(c.text) for c in merged if c.address or c.hidden):
        return [c for c in merged if c.address or c.hidden]
    nameless = [i for i, c in enumerate(merged) if not (c.address or c.hidden)]
    if not nameless:
        return merged
    best = max(nameless, key=ranks.__getitem__)
    return [c for i, c in enumerate(merged) if c.address or c.hidden or i == best]


_SYNTAX = lazy(r"^\s*(?:50[0-4][ -]|5\.5\.\d)")


def _rank(candidate: Candidate, reply: str) -> tuple[int, int, int]:
    """How much a candidate tells (``reply`` is its reply text): an enhanced code, a reply code,
    not a mere syntax error (a mistyped command in a transcript), some words, its context."""
    score = 0
    if STATUS_RE.search(reply):
        score += 3
    if re.search(r"(?:^|\s)[45]\d\d[ -]", reply) or re.match(r"[45]\d\d", reply):
        score += 2
    if not _SYNTAX.match(reply):
        score += 2
    if len(reply) > 24:
        score += 1
    if candidate.host or candidate.command:
        score += 1
    # On a tie, the fuller reply (a whole multi-line reply over its last line), then the first.
    return score, min(len(reply), 400), -candidate.at
