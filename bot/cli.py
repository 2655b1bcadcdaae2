"""The ``ndrbot`` command: ``diagnose``, ``check``, ``chat`` and the server commands.

Settings come from the environment (and ``./.env``); flags override them. Bad usage or a bad
setting exits with status 2 and a message naming what is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import cli_chat, cli_check, cli_diagnose, cli_preview, cli_serve, cli_teams, cli_watch
from bot.settings import Settings, SettingsError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="ndrbot",
        description="Read bounced-mail reports, say what failed and how to fix it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    cli_diagnose.register(sub)
    cli_check.register(sub)
    cli_chat.register(sub)
    cli_preview.register(sub)
    cli_serve.register(sub)
    cli_watch.register(sub)
    cli_teams.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(dotenv=Path(".env"))
    except SettingsError as error:
        print(f"ndrbot: bad setting: {error}", file=sys.stderr)
        return 2
    status: int = args.func(args, settings)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
