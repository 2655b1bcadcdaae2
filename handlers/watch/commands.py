"""Reading ``/ndrwatch`` arguments into a request value (pure; the chat and the CLI share it).

add domain contoso.com [SELECTOR ...]   add ip 203.0.113.5   add contoso.com
remove domain contoso.com               remove 203.0.113.5   list
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from handlers.checks.names import normalise_domain, parse_ip
from handlers.checks.result import InvalidTarget
from handlers.refusals import Refusal
from handlers.watch.model import WatchKind

__all__ = ["USAGE", "WatchRequest", "WatchUsage", "parse_target", "parse_watch_args"]

USAGE = (
    "/ndrwatch add domain DOMAIN [DKIM-SELECTOR ...] | add ip IP | remove domain DOMAIN | "
    "remove ip IP | list"
)
_MAX_SELECTORS = 5
# RFC 1918 private networks, RFC 6598 shared address space, RFC 4193 unique local addresses.
# (ipaddress's is_private also covers the documentation ranges the examples use, so not that.)
_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


class WatchUsage(Refusal):
    """The arguments do not say what to do; the message says what was expected."""


@dataclass(frozen=True)
class WatchRequest:
    """``action`` is add, remove or list; kind and target are set for add and remove."""

    action: str
    kind: WatchKind | None = None
    target: str = ""
    selectors: tuple[str, ...] = ()


def _guess_kind(text: str) -> WatchKind:
    try:
        ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return WatchKind.DOMAIN
    return WatchKind.IP


def parse_target(kind: WatchKind, text: str) -> str:
    """The canonical form of a target (lower-case domain, compressed IP) or InvalidTarget."""
    if kind is WatchKind.IP:
        address = parse_ip(text)
        if (
            address.is_loopback
            or address.is_unspecified
            or address.is_link_local
            or any(address in net for net in _INTERNAL)
        ):
            # DNSBLs only list addresses seen on the Internet; an internal one stays clean forever.
            raise InvalidTarget(
                f"{text!r} is an internal address; watch the public IP your mail leaves from"
            )
        return str(address)
    return normalise_domain(text)


def parse_watch_args(args: str) -> WatchRequest:
    """Parse the text after ``/ndrwatch``; raise WatchUsage or InvalidTarget with a sentence."""
    words = args.split()
    if not words or words[0].lower() in ("help", "?"):
        raise WatchUsage(f"Usage: {USAGE}")
    action = words[0].lower()
    if action in ("list", "ls"):
        if len(words) > 1:
            raise WatchUsage("Usage: /ndrwatch list")
        return WatchRequest("list")
    if action in ("rm", "delete", "del"):
        action = "remove"
    if action not in ("add", "remove"):
        raise WatchUsage(f"I do not know '{words[0][:20]}'. Usage: {USAGE}")
    rest = words[1:]
    kind: WatchKind | None = None
    if rest and rest[0].lower() in ("domain", "ip"):
        kind = WatchKind(rest[0].lower())
        rest = rest[1:]
    if not rest:
        raise WatchUsage(f"Say what to {action}: /ndrwatch {action} domain contoso.com")
    kind = kind or _guess_kind(rest[0])
    target = parse_target(kind, rest[0])
    selectors = tuple(s.lower() for s in rest[1:])
    if selectors and (action == "remove" or kind is WatchKind.IP):
        raise WatchUsage(f"Usage: {USAGE}")
    if len(selectors) > _MAX_SELECTORS:
        raise WatchUsage(f"At most {_MAX_SELECTORS} DKIM selectors per watch")
    return WatchRequest(action, kind, target, selectors)
