"""``ndrbot chat``: a terminal console running the same handlers as the chat platforms."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.render.text import render_text
from bot.services import Services, build_services
from bot.settings import Settings
from handlers.cards import diagnosis_card, error_card
from handlers.diagnosis import diagnose
from handlers.ndr import ReaderError, read

__all__ = ["register"]

_BANNER = """ndrbot console. Paste a bounce (or type a command such as /spfcheck example.com),
then enter a line with a single '.' to send it. Ctrl-D or /quit ends the session."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``chat`` subcommand."""
    parser = sub.add_parser("chat", help="a local console: paste bounces, type commands")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Read pastes from stdin until EOF and answer each one."""
    services = build_services(settings)
    interactive = sys.stdin.isatty()
    if interactive:
        print(_BANNER)
    return asyncio.run(_loop(services, interactive))


async def _answer(services: Services, text: str) -> str:
    try:
        bounce = read(text, max_bytes=services.settings.max_paste_bytes)
    except ReaderError as refusal:
        return render_text(error_card("Paste refused", str(refusal)))
    return render_text(diagnosis_card(diagnose(bounce, services.catalogue), services.catalogue))


async def _loop(services: Services, interactive: bool) -> int:
    buffer: list[str] = []
    while True:
        if interactive and not buffer:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() in (".", "/quit") or (False):
            text = "".join(buffer).strip()
            buffer = []
            if text:
                print(await _answer(services, text), flush=True)
            if not line or line.strip() == "/quit":
                return 0
            continue
        buffer.append(line)
