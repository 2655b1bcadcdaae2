"""The static SPF lookup tree of a domain: every include and redirect with what it costs.

Unlike ``check_host()`` this needs no client IP: it follows every ``include:`` and ``redirect=``
to count the DNS lookups a receiver may have to make (RFC 7208 section 4.6.4), fetching all the
records of one level concurrently, so the time taken is one round trip per level of the tree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.spf_parse import SpfRecord, SpfSyntaxError, is_spf_record, parse_record

__all__ = ["SpfNode", "walk_spf"]

_MAX_NODES = 60  # a tree this big is far over the limit already; stop fetching


@dataclass
class SpfNode:
    """One record in the tree (mutable while the walk builds it; JSON via :meth:`to_json`)."""

    domain: str
    via: str | None = None  # the term that led here: "include:x", "redirect=x" or None
    record: str | None = None
    strings: tuple[str, ...] = ()  # the record's TXT character-strings as published
    records: tuple[str, ...] = ()  # every SPF record found (more than one is an error)
    parsed: SpfRecord | None = None
    answer_size: int = 0
    own_lookups: int = 0
    error: str | None = None  # "no SPF record", syntax error, loop, ...
    error_kind: str | None = None  # "missing" | "multiple" | "syntax" | "loop" | "dns" | "macro"
    dns_failure: DnsUnavailable | None = None
    void: bool = False  # the include target does not exist or has no TXT at all
    children: list[SpfNode] = field(default_factory=list)

    @property
    def total_lookups(self) -> int:
        """This record's lookups plus those of everything it includes or redirects to."""
        return self.own_lookups + sum(c.total_lookups for c in self.children)

    @property
    def cost(self) -> int:
        """What this include or redirect costs its parent: its own term plus its tree."""
        return self.total_lookups + (1 if self.via else 0)

    def walk(self) -> list[SpfNode]:
        """This node and all below it, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: domain, via, record, lookups, total_lookups, error, children."""
        return {
            "domain": self.domain,
            "via": self.via,
            "record": self.record,
            "lookups": self.own_lookups,
            "total_lookups": self.total_lookups,
            "cost": self.cost,
            "error": self.error,
            "children": [c.to_json() for c in self.children],
        }


def _fill(node: SpfNode, answer: DnsAnswer) -> None:
    node.answer_size = answer.size
    texts = answer.txt_strings
    spf = [i for i, t in enumerate(texts) if is_spf_record(t)]
    node.records = tuple(texts[i] for i in spf)
    if not spf:
        node.void = answer.void
        node.error_kind, node.error = "missing", f"{node.domain} publishes no SPF record"
        return
    if len(spf) > 1:
        node.error_kind = "multiple"
        node.error = f"{node.domain} publishes {len(spf)} SPF records (RFC 7208 section 4.5)"
        return
    node.record = texts[spf[0]]
    node.strings = tuple(s.decode("latin-1") for s in answer.txt[spf[0]])
    try:
        node.parsed = parse_record(node.record)
    except SpfSyntaxError as exc:
        node.error_kind, node.error = "syntax", f"syntax error: {exc}"
        return
    node.own_lookups = len(node.parsed.lookup_terms)


def _targets(node: SpfNode) -> list[tuple[str, str]]:
    """(via, domain) of the includes and redirect to follow; macro targets are noted only."""
    record = node.parsed
    if record is None:
        return []
    out: list[tuple[str, str]] = []
    specs = [(m.text, m.domain) for m in record.mechanisms if m.kind == "include" and m.domain]
    if record.redirect is not None and not record.has_all:
        specs.append((f"redirect={record.redirect.text}", record.redirect))
    for via, spec in specs:
        if spec is None:
            continue
        if not spec.is_literal:
            node.children.append(
                SpfNode(
                    domain=spec.text,
                    via=via,
                    error_kind="macro",
                    error="depends on the sender or IP (macros); counted as one lookup",
                )
            )
            continue
        out.append((via, spec.text.rstrip(".").lower()))
    return out


async def walk_spf(dns: DnsClient, domain: str) -> SpfNode:
    """Fetch ``domain``'s SPF record and everything it includes, one level at a time."""
    root = SpfNode(domain=domain)
    level: list[tuple[SpfNode, tuple[str, ...]]] = [(root, ())]
    count = 1
    while level:
        answers = await asyncio.gather(
            *(dns.query(node.domain, "TXT") for node, _path in level), return_exceptions=True
        )
        following: list[tuple[SpfNode, tuple[str, ...]]] = []
        for (node, path), answer in zip(level, answers, strict=True):
            if isinstance(answer, DnsUnavailable):
                node.error_kind, node.error, node.dns_failure = "dns", str(answer), answer
                continue
            if isinstance(answer, BaseException):
                raise answer
            _fill(node, answer)
            for via, target in _targets(node):
                child = SpfNode(domain=target, via=via)
                node.children.append(child)
                if target in path or target == node.domain:
                    child.error_kind = "loop"
                    child.error = f"include loop: {' -> '.join((*path, node.domain, target))}"
                    continue
                count += 1
                if count > _MAX_NODES:
                    child.error_kind, child.error = "limit", "not followed: the tree is too large"
                    continue
                following.append((child, (*path, node.domain)))
        level = following
    return root
