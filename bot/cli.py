"""The ``ndrbot`` command: ``diagnose``, ``check``, ``chat``, ``preview`` and the server commands.

Settings come from the environment (and ``./.env``); flags override them. Bad usage or a bad
setting exits with status 2 and a message naming what is wrong.

Only the subcommand being run is imported (its module registers its arguments); the others are
listed from :mod:`bot.cli_table` alone, so ``ndrbot --help`` and ``ndrbot diagnose`` start
without loading the server, the chat SDKs or aiohttp.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli_table import SUBCOMMANDS
from bot.settings import Settings, SettingsError

__all__ = ["build_parser", "main"]


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: the subcommand ``argv`` names fully registered (all of them when
    ``argv`` is None), the others by name and help line only."""
    parser = argparse.ArgumentParser(
        prog="ndrbot",
        description="Read bounced-mail reports, say what failed and how to fix it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    modules = {m for name, (m, _) in SUBCOMMANDS.items() if argv is None or name == chosen}
    for module in sorted(modules):
        importlib.import_module(module).register(sub)
    for name, (_module, line) in SUBCOMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=line)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(dotenv=Path(".env"))
    except SettingsError as error:
        print(f"ndrbot: bad setting: {error}", file=sys.stderr)
        return 2
    from bot.store import StoreUnavailable  # light: no database driver is imported by it

    try:
        status: int = args.func(args, settings)
    except StoreUnavailable as error:  # NDRBOT_DB cannot be opened: say why, no traceback
        print(f"ndrbot: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
