"""The base (registered) domain of a source's reverse DNS name: who runs the host, at a glance
(``mail-ed1-f49.google.com`` is Google's, ``host-5.static.hostco.net`` HostCo's). Pure.

The Public Suffix List's ICANN section, as the ``publicsuffixlist`` package ships it (no network);
its private section is left out on purpose: ``x.s3.amazonaws.com`` is run by Amazon, whoever
rents the name. (DMARC itself finds organizational domains by the RFC 9989 DNS tree walk, not
by this list: this is only for naming.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache
from typing import Any

__all__ = ["base_domain", "top_bases"]


@cache
def _list() -> Any:
    from publicsuffixlist import PublicSuffixList  # loaded on the first name (~0.1 s)

    return PublicSuffixList(only_icann=True)


def base_domain(host: str) -> str:
    """``host``'s registered domain (``""`` for an IP, a bare suffix or a name with none)."""
    name = host.strip().rstrip(".").lower()
    if not name or "." not in name:
        return ""
    try:
        ipaddress.ip_address(name)
        return ""
    except ValueError:
        pass
    return str(_list().privatesuffix(name) or "")


def top_bases(bases: Iterable[str], limit: int = 3) -> list[tuple[str, int]]:
    """The most common base domains (``""`` left out), most first, then alphabetically."""
    counts: dict[str, int] = {}
    for base in bases:
        if base:
            counts[base] = counts.get(base, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
