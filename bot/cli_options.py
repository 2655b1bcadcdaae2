"""Options several commands share: which DNS servers to ask and how long to wait."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings, SettingsError, parse_nameserver

__all__ = ["add_dns_options", "apply_dns_options"]


def add_dns_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--nameserver HOST[:PORT]`` (repeatable) and ``--timeout SECONDS``."""
    parser.add_argument(
        "--nameserver",
        action="append",
        metavar="HOST[:PORT]",
        help="DNS server to ask (repeatable); default NDRBOT_NAMESERVERS or the system's",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per-query timeout (default NDRBOT_DNS_TIMEOUT, 3 s)",
    )


def apply_dns_options(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with the command line's DNS options over the environment's.

    A longer ``--timeout`` also lengthens the per-check deadline (to at least three queries'
    worth), so a slow resolver is given the time the user asked for.
    """
    changes: dict[str, Any] = {}
    if args.nameserver:
        changes["nameservers"] = tuple(
            parse_nameserver(n, setting="--nameserver") for n in args.nameserver
        )
    if args.timeout is not None:
        if args.timeout <= 0:
            raise SettingsError("--timeout must be more than 0 seconds")
        changes["dns_timeout"] = args.timeout
        changes["check_deadline"] = max(settings.check_deadline, args.timeout * 3)
    return settings.with_overrides(**changes) if changes else settings
