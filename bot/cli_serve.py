"""``ndrbot serve``: Slack, Teams, the bounce intake and the alert workers in one process."""

from __future__ import annotations

import argparse
import gc
import sys

from aiohttp import web

from bot.cli_table import help_for
from bot.logs import configure_logging
from bot.server import build_server
from bot.settings import Settings, SettingsError
from bot.store import StoreUnavailable

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = sub.add_parser(
        "serve",
        help=help_for("serve"),
    )
    parser.add_argument("--host", default=None, help="address to listen on (NDRBOT_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (NDRBOT_PORT)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the server and run until interrupted; a bad setting exits 2 naming it."""
    changes: dict[str, object] = {}
    if args.host:
        changes["host"] = args.host
    if args.port is not None:
        if not 0 < args.port < 65536:
            print("ndrbot serve: --port must be 1-65535", file=sys.stderr)
            return 2
        changes["port"] = args.port
    if changes:
        settings = settings.with_overrides(**changes)
    # Library loggers stay at INFO or above: at DEBUG some log request bodies (pastes).
    configure_logging(settings.log_format)
    try:
        server = build_server(settings)
    except SettingsError as error:
        print(f"ndrbot serve: bad setting: {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"ndrbot serve: {error}", file=sys.stderr)
        return 2
    server.app.on_startup.append(_settle)  # last: after every part has started
    web.run_app(server.app, host=settings.host, port=settings.port, print=None)
    return 0


async def _settle(_app: web.Application) -> None:
    """What start made (the catalogue, the reader's patterns and automata, the SDKs' modules)
    lives as long as the process: kept out of the cycle collector's full passes, which otherwise
    walk all of it, 50-80 ms each, several times in a burst, with every request waiting.
    Reference counting still frees whatever of it is let go. (The serving process only: tests
    that build a server in their own process keep the collector as it is.)"""
    gc.collect()
    gc.freeze()
