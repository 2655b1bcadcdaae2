"""``ndrbot diagnose [--json] [--no-checks] [PATH ...]``: read bounces from files or stdin."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bot.cli_options import add_dns_options, apply_dns_options
from bot.cli_table import help_for
from bot.render.text import render_text
from bot.services import Services, build_services
from bot.settings import Settings, SettingsError
from handlers.cards import diagnosis_card
from handlers.diagnosis import diagnose, diagnosis_json
from handlers.ndr import ReaderError, read

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``diagnose`` subcommand."""
    parser = sub.add_parser(
        "diagnose",
        help=help_for("diagnose"),
        description="Read each bounce (a .eml file, a pasted text, '-' for stdin) and diagnose it.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files to read; none or '-' reads stdin"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per input, one per line"
    )
    parser.add_argument("--no-checks", action="store_true", help="do not run DNS/blocklist checks")
    add_dns_options(parser)
    parser.set_defaults(func=run)


def _inputs(paths: list[str]) -> list[tuple[str, bytes | None, str | None]]:
    """``(name, data, error)`` for every input, stdin included."""
    found: list[tuple[str, bytes | None, str | None]] = []
    for path in paths or ["-"]:
        if path == "-":
            found.append(("-", sys.stdin.buffer.read(), None))
            continue
        try:
            found.append((path, Path(path).read_bytes(), None))
        except OSError as error:
            found.append((path, None, f"cannot read {path}: {error.strerror or error}"))
    return found


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Diagnose every input; exit 0 when all were read, 1 when any could not be, 2 on bad usage."""
    try:
        settings = apply_dns_options(args, settings)
    except SettingsError as error:
        print(f"ndrbot diagnose: {error}", file=sys.stderr)
        return 2
    services = build_services(settings)
    if args.no_checks:  # nothing is awaited: no event loop, and asyncio is never imported
        return _drive(_run(args, services))
    import asyncio

    return asyncio.run(_run(args, services))


def _drive(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine that never suspends (``--no-checks``: it awaits nothing) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return int(done.value)
    coroutine.close()
    raise RuntimeError("ndrbot diagnose --no-checks waited for something")


async def _run(args: argparse.Namespace, services: Services) -> int:
    if not args.no_checks:
        from handlers.checks.run import run_plan  # dnspython only when checks run
    status = 0
    inputs = _inputs(args.paths)
    for index, (name, data, error) in enumerate(inputs):
        if data is None:
            print(f"ndrbot diagnose: {error}", file=sys.stderr)
            status = 1
            continue
        try:
            bounce = read(data, max_bytes=services.settings.max_paste_bytes)
        except ReaderError as refusal:
            print(f"ndrbot diagnose: {name}: {refusal}", file=sys.stderr)
            status = 1
            continue
        diagnosis = diagnose(bounce, services.catalogue)
        checks = (
            []
            if args.no_checks
            else await run_plan(
                services.dns, diagnosis.plan, dqs_key=services.settings.spamhaus_dqs_key
            )
        )
        if args.json:
            record = diagnosis_json(diagnosis, None if name == "-" else name)
            if not args.no_checks:
                record["checks"] = [c.to_json() for c in checks]
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            if len(inputs) > 1:
                print(("\n" if index else "") + f"== {name}")
            print(render_text(diagnosis_card(diagnosis, services.catalogue, checks)), flush=True)
    return status
