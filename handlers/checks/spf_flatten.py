"""A concrete fix for an SPF record over the 10-lookup limit: flatten the costliest includes.

Choosing what to flatten and writing the records are pure functions; only collecting the
addresses behind the chosen includes (their ``a`` and ``mx`` terms) asks DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any

from handlers.checks.resolver import DnsClient, DnsUnavailable
from handlers.checks.spf_eval import MAX_LOOKUPS
from handlers.checks.spf_tree import SpfNode

__all__ = ["CAVEAT", "Flattening", "choose_includes", "propose_flattening", "txt_strings"]

M365_INCLUDE = "spf.protection.outlook.com"
UDP_SAFE = 450  # RFC 7208 section 3.4: keep the whole DNS answer under 512 octets
CAVEAT = (
    "Flattened records copy the providers' addresses as they are today. Providers change them "
    "without notice (Microsoft, Google and mail services do), and then your mail fails SPF: "
    "regenerate these records regularly (or use a managed SPF service), and keep the includes "
    "of providers you cannot follow closely."
)


@dataclass(frozen=True)
class Flattening:
    """The includes to replace and the records to publish instead."""

    flattened: tuple[str, ...]  # the include terms replaced by addresses
    records: tuple[tuple[str, str], ...]  # (name, record) to publish, the domain's own first
    lookups_after: int
    unresolved: tuple[str, ...] = ()  # terms that could not be flattened (macros, DNS failure)

    def to_json(self) -> dict[str, Any]:
        """JSON shape for ``details.flattening``."""
        return {
            "flatten": list(self.flattened),
            "records": [
                {"name": n, "value": v, "strings": txt_strings(v)} for n, v in self.records
            ],
            "lookups_after": self.lookups_after,
            "unresolved": list(self.unresolved),
            "caveat": CAVEAT,
        }


def txt_strings(record: str, limit: int = 255) -> list[str]:
    """Split ``record`` into TXT character-strings of at most 255 octets (RFC 7208 3.3)."""
    out: list[str] = []
    rest = record
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit) + 1 or limit  # keep each term whole where possible
        out.append(rest[:cut])
        rest = rest[cut:]
    out.append(rest)
    return out


def _flattenable(node: SpfNode) -> bool:
    for sub in node.walk():
        if sub.error_kind is not None or sub.parsed is None:
            return False
        if any(
            m.kind in ("ptr", "exists") or (m.domain and not m.domain.is_literal)
            for m in sub.parsed.mechanisms
        ):
            return False
    return True


def choose_includes(root: SpfNode, limit: int = MAX_LOOKUPS) -> list[SpfNode]:
    """Pick the fewest include subtrees whose flattening brings the total within ``limit``."""
    candidates = [
        c
        for c in root.children
        if c.via and c.via.lstrip("+").startswith("include:") and _flattenable(c)
    ]
    # Costliest first; Microsoft 365's include last, as Microsoft asks tenants to keep it.
    candidates.sort(key=lambda c: (c.domain == M365_INCLUDE, -c.cost))
    total, chosen = root.total_lookups, []
    for child in candidates:
        if total <= limit - 1:  # leave room for one include of a split-off record
            break
        chosen.append(child)
        total -= child.cost
    return chosen


async def _networks(dns: DnsClient, node: SpfNode) -> list[str]:
    """Every address range a pass in this subtree authorises (``+`` terms only)."""
    out: list[str] = []
    pending: list[Any] = []
    for sub in node.walk():
        assert sub.parsed is not None
        for mech in sub.parsed.mechanisms:
            if mech.qualifier != "+":
                continue
            if mech.network is not None:
                out.append(f"{'ip4' if mech.network.version == 4 else 'ip6'}:{mech.network}")
            elif mech.kind in ("a", "mx"):
                target = mech.domain.text.rstrip(".").lower() if mech.domain else sub.domain
                pending.append(_resolve(dns, mech.kind, target, mech.cidr4, mech.cidr6))
    for found in await asyncio.gather(*pending):
        out.extend(found)
    return list(dict.fromkeys(out))


async def _resolve(dns: DnsClient, kind: str, target: str, c4: int, c6: int) -> list[str]:
    hosts = [target]
    if kind == "mx":
        hosts = [h for _p, h in (await dns.query(target, "MX")).mx if h not in ("", ".")]
    answers = await asyncio.gather(*(dns.query(h, t) for h in hosts for t in ("A", "AAAA")))
    out = []
    for answer in answers:
        for address in answer.addresses:
            net = ipaddress.ip_network(
                f"{address}/{c4 if answer.rdtype == 'A' else c6}", strict=False
            )
            out.append(f"{'ip4' if net.version == 4 else 'ip6'}:{net}")
    return out


def build_records(
    root: SpfNode, chosen: list[SpfNode], networks: list[str]
) -> list[tuple[str, str]]:
    """The domain's new record (and split-off ``_spfN`` records when it would not fit UDP)."""
    assert root.parsed is not None
    replaced = {c.via for c in chosen}
    terms: list[str] = []
    inserted = False
    tail = [m.text for m in root.parsed.modifiers]
    for mech in root.parsed.mechanisms:
        if mech.text in replaced:
            if not inserted:
                terms.append("{networks}")
                inserted = True
            continue
        terms.append(mech.text)
    main = " ".join(["v=spf1", *terms, *tail])
    flat = main.replace("{networks}", " ".join(networks))
    if len(flat) <= UDP_SAFE:
        return [(root.domain, flat)]
    chunks: list[list[str]] = [[]]
    for net in networks:
        if len(" ".join(["v=spf1", *chunks[-1], net, "-all"])) > UDP_SAFE:
            chunks.append([])
        chunks[-1].append(net)
    names = [f"_spf{i}.{root.domain}" for i in range(1, len(chunks) + 1)]
    records = [(root.domain, main.replace("{networks}", " ".join(f"include:{n}" for n in names)))]
    records += [(n, " ".join(["v=spf1", *c, "-all"])) for n, c in zip(names, chunks, strict=True)]
    return records


async def propose_flattening(dns: DnsClient, root: SpfNode) -> Flattening | None:
    """A flattening that brings ``root`` within 10 lookups, or None when none is possible."""
    if root.parsed is None or root.total_lookups <= MAX_LOOKUPS:
        return None
    chosen = choose_includes(root)
    if not chosen:
        return None
    try:
        nets = await asyncio.gather(*(_networks(dns, c) for c in chosen))
    except DnsUnavailable:
        return None
    networks = list(dict.fromkeys(n for group in nets for n in group))
    records = build_records(root, chosen, networks)
    after = root.total_lookups - sum(c.cost for c in chosen) + len(records) - 1
    return Flattening(tuple(c.via or c.domain for c in chosen), tuple(records), after)
