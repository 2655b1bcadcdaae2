"""``ndrbot check ...``: run one DNS check from a terminal, as text or JSON.

Exit status 0 when the check ran, whatever it found; 2 with a message on stderr for bad usage
or an invalid target (nothing is queried then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.cli_options import add_dns_options, apply_dns_options
from bot.cli_table import help_for
from bot.services import build_dns
from bot.settings import Settings, SettingsError
from handlers.cards import record_lines
from handlers.checks import CheckPlan, CheckResult, Step, plan_for_domain, run_plan, single
from handlers.refusals import Refusal

__all__ = ["register", "render_text"]

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "unknown": "UNKNOWN"}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (a list for 'domain')"
    )
    add_dns_options(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``check`` and its sub-commands (spf, dmarc, dkim, mx, rdns, blocklist, domain)."""
    check = subparsers.add_parser(
        "check",
        help=help_for("check"),
        description="Check SPF, DMARC, DKIM, MX, reverse DNS or blocklists.",
    )
    sub = check.add_subparsers(dest="check_command", metavar="CHECK", required=True)

    p = sub.add_parser("spf", help="SPF record, lookup count and (with --ip) check_host()")
    p.add_argument("domain")
    p.add_argument("--ip", help="evaluate the record for this client IP (RFC 7208 check_host)")
    p.add_argument(
        "--sender", metavar="ADDR", help="MAIL FROM address for macros (default postmaster@DOMAIN)"
    )
    p.add_argument("--helo", metavar="NAME", help="HELO/EHLO name for macros")
    p.set_defaults(
        func=_runner(lambda a: single(Step("spf", a.domain, ip=a.ip, sender=a.sender, helo=a.helo)))
    )

    p = sub.add_parser("dmarc", help="DMARC policy and its tags")
    p.add_argument("domain")
    p.set_defaults(func=_runner(lambda a: single(Step("dmarc", a.domain))))

    p = sub.add_parser("dkim", help="DKIM keys under given and common selectors")
    p.add_argument("domain")
    p.add_argument(
        "--selector",
        action="append",
        default=[],
        metavar="S",
        help="selector to check (repeatable)",
    )
    p.set_defaults(
        func=_runner(lambda a: single(Step("dkim", a.domain, selectors=tuple(a.selector))))
    )

    p = sub.add_parser("mx", help="MX records (and null MX)")
    p.add_argument("domain")
    p.set_defaults(func=_runner(lambda a: single(Step("mx", a.domain))))

    p = sub.add_parser("rdns", help="reverse DNS of an IP, forward-confirmed")
    p.add_argument("ip")
    p.set_defaults(func=_runner(lambda a: single(Step("rdns", a.ip))))

    p = sub.add_parser("blocklist", help="an IP or domain on DNS blocklists")
    p.add_argument("target", metavar="IP|DOMAIN")
    p.add_argument(
        "--list",
        action="append",
        dest="lists",
        metavar="ZONE",
        help="blocklist zone to use instead of the defaults (repeatable)",
    )
    p.set_defaults(
        func=_runner(
            lambda a: single(Step("dnsbl", a.target, lists=tuple(a.lists) if a.lists else None))
        )
    )

    p = sub.add_parser("domain", help="all the domain checks at once")
    p.add_argument("domain")
    p.add_argument(
        "--selector",
        action="append",
        default=[],
        metavar="S",
        help="DKIM selector to check too (repeatable)",
    )
    p.set_defaults(
        func=_runner(lambda a: plan_for_domain(a.domain, selectors=a.selector), many=True)
    )

    for parser in sub.choices.values():
        _common(parser)


Planner = Callable[[argparse.Namespace], CheckPlan]


def _runner(plan: Planner, *, many: bool = False) -> Callable[[argparse.Namespace, Settings], int]:
    """A subcommand: plan from the arguments, run, print (``many``: a JSON list, not one)."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            settings = apply_dns_options(args, settings)
            results = asyncio.run(
                run_plan(build_dns(settings), plan(args), dqs_key=settings.spamhaus_dqs_key)
            )
        except (Refusal, SettingsError) as exc:
            print(f"ndrbot check: {exc}", file=sys.stderr)
            return 2
        if args.json:
            payload: Any = [r.to_json() for r in results] if many else results[0].to_json()
            print(json.dumps(payload, indent=2))
        else:
            print("\n\n".join(render_text(r) for r in results))
        return 0

    return run


def render_text(result: CheckResult) -> str:
    """A readable block: status and summary, then one line per finding."""
    lines = [f"[{_MARK[str(result.status)]}] {result.check} {result.target}: {result.summary}"]
    for f in result.findings:
        lines.append(f"  - {f.severity}: {f.message} ({f.code})")
    flat = result.details.get("flattening")
    if flat:
        lines.append("  Proposed records (flattened):")
        lines += [f"    {line}" for line in record_lines(flat)]
        lines.append(f"  Caveat: {flat['caveat']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry for tests and debugging: ``python -m bot.cli_check spf example.com``."""
    parser = argparse.ArgumentParser(prog="ndrbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args, Settings.from_env()))


if __name__ == "__main__":
    sys.exit(main())
