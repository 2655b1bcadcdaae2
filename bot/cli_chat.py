"""``ndrbot chat``: a terminal console running the same router and handlers as Slack and Teams.

Paste a bounce and end it with a line holding a single ``.`` (or Ctrl-D; in a pasted SMTP session,
the ``.`` that ends the message data after a ``354`` stays in the paste); type a command such as
``/spfcheck example.com``; ``/tick N`` ticks item N of the last checklist; ``/recheck`` runs the
last card's checks again and says what changed; ``/delist`` prints the last block card's
prefilled delisting request and ``/delist sent`` marks it sent; ``/quit`` ends.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import secrets
import sys
from pathlib import Path

from bot.cli_table import help_for
from bot.render.drafts import draft_text
from bot.render.text import render_text
from bot.services import Services, build_dmarc, build_router, build_services
from bot.settings import Settings
from handlers.card import ActionKind, Card
from handlers.commands import command_names
from handlers.events import Command, Message, Reply
from handlers.router import Router

__all__ = ["register"]

_BANNER = (
    "ndrbot console (no Slack or Teams needed). Paste a bounce, then a line with a single '.'\n"
    "to send it. Commands: "
    + ", ".join(f"/{name}" for name in command_names())
    + " (/ndrbot help says what each does),\n/tick N (tick item N of the last checklist), "
    "/recheck (the last card's checks again),\n/delist (the last block's delisting request; "
    "/delist sent when you sent it), /quit."
)


def _first_run(settings: Settings, *, checks: bool) -> str:
    """One short block for a newcomer: what is configured, and what the quick doctor found."""
    platforms = [
        name
        for name, on in (("Slack", settings.slack_enabled), ("Teams", settings.microsoft_app_id))
        if on
    ]
    lines = [
        f"Configured: {', '.join(platforms) or 'no chat platform yet (this console needs none)'}."
    ]
    if checks:
        from bot.doctor.quick import problems, quick_check

        found = problems(asyncio.run(quick_check(settings)))
        lines += [f"{f.verdict.upper()}: {f.check}: {f.found}" for f in found[:3]]
        lines.append(
            "Next: `ndrbot doctor` says what to fix." if found else "DNS and storage look fine."
        )
    return "\n".join(lines) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``chat`` subcommand."""
    parser = sub.add_parser("chat", help=help_for("chat"))
    parser.add_argument(
        "--no-checks", action="store_true", help="do not run DNS checks for pasted bounces"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Read pastes and commands from stdin until EOF or /quit, answering each one."""
    # The console creates no file of its own; the default database is used when it exists (so
    # /dmarcreport sees the reports `ndrbot dmarc ingest` stored), else state stays in memory.
    default = settings.db_path == "ndrbot.sqlite3"
    if default and not Path(settings.db_path).exists():
        settings = settings.with_overrides(db_path=":memory:")
    services = build_services(settings)
    router = build_router(services, run_checks=not args.no_checks, dmarc=build_dmarc(services))
    interactive = sys.stdin.isatty()
    if interactive:
        print(_BANNER)
        print(_first_run(settings, checks=not args.no_checks))
    try:
        return asyncio.run(_Console(services, router, interactive).loop())
    finally:
        services.close()


class _Console:
    def __init__(self, services: Services, router: Router, interactive: bool) -> None:
        self.services = services
        self.router = router
        self.interactive = interactive
        self.user = getpass.getuser() or "console"
        self.count = 0
        # Each paste is a message of its own to the router, which answers a message id once
        # (and remembers it in ndrbot.sqlite3 for a week): the ids of this session are its own.
        self.session = secrets.token_hex(4)
        self.last_card: tuple[str, Card] | None = None
        self.last_checked: str | None = None  # the last card with a Re-check button
        self.last_block: str | None = None  # the last card with a Request delisting button

    def show(self, card: Card) -> None:
        print(render_text(card) + "\n", flush=True)

    async def send(self, text: str) -> None:
        self.count += 1
        if text.startswith("/tick"):
            await self.tick(text[5:].strip())
            return
        if text.strip() == "/recheck":
            await self.recheck()
            return
        if text.strip() in ("/delist", "/delist sent"):
            await self.delist(sent=text.strip().endswith("sent"))
            return
        reply: Reply | None
        if text.startswith("/") and "\n" not in text.strip():
            name, _, rest = text[1:].partition(" ")
            reply = await self.router.on_command(
                Command("console", "console", self.user, name, rest.strip(), is_admin=True)
            )
        else:
            message = Message(
                "console", "console", f"{self.session}-{self.count}", self.user, text, direct=True
            )
            reply = await self.router.on_message(message)
        if reply is None:
            return
        if reply.card_id and reply.card.checklist is not None:
            self.last_card = (reply.card_id, reply.card)
        if reply.card_id and any(a.kind is ActionKind.RECHECK for a in reply.card.actions):
            self.last_checked = reply.card_id
        if reply.card_id and any(a.kind is ActionKind.DELIST for a in reply.card.actions):
            self.last_block = reply.card_id
        self.show(reply.card)

    async def recheck(self) -> None:
        if self.last_checked is None:
            print("There is nothing to re-check yet: paste a bounce or run a check first.\n")
            return
        updated = await self.router.on_recheck(self.last_checked, self.user, "console")
        if updated is None:
            print("That card is no longer stored.\n")
            return
        if self.last_card is not None and self.last_card[0] == self.last_checked:
            self.last_card = (self.last_checked, updated)
        self.show(updated)

    async def delist(self, *, sent: bool) -> None:
        if self.last_block is None:
            print("No block to ask delisting for yet: paste a blocklist or banned-IP bounce.\n")
            return
        if sent:
            marked = await self.router.on_delist_sent(self.last_block, self.user)
            if marked is not None:
                self.show(marked)
            return
        draft = await self.router.on_delist(self.last_block)
        if draft is None:
            print("That card is no longer stored.\n")
            return
        print(draft_text(draft) + "\n", flush=True)

    async def tick(self, which: str) -> None:
        if self.last_card is None or self.last_card[1].checklist is None:
            print("There is no checklist to tick yet.\n")
            return
        card_id, card = self.last_card
        items = card.checklist.items if card.checklist else ()
        if not which.isdigit() or not 1 <= int(which) <= len(items):
            print(f"Give the item number, 1 to {len(items)}.\n")
            return
        item = items[int(which) - 1]
        updated = await self.router.on_tick(card_id, item.id, self.user, not item.done)
        if updated is not None:
            self.last_card = (card_id, updated)
            self.show(updated)

    async def loop(self) -> int:
        buffer: list[str] = []
        while True:
            if self.interactive and not buffer:
                print("> ", end="", flush=True)
            line = sys.stdin.readline()
            stripped = line.strip()
            if not buffer and stripped.startswith("/") and stripped != "/quit":
                await self.send(stripped)
                continue
            if stripped == "." and _inside_smtp_data(buffer):
                buffer.append(line)  # the end of a pasted session's DATA, not of the paste
                continue
            if not line or stripped in (".", "/quit"):
                text = "".join(buffer).strip()
                buffer = []
                if text:
                    await self.send(text)
                if not line or stripped == "/quit":
                    return 0
                continue
            buffer.append(line)


_DATA_COMMAND = re.compile(r"^\W{0,4}(?:C:|->|>>>|CLIENT -> SERVER:)?\s*DATA\s*$", re.IGNORECASE)
_GO_AHEAD = re.compile(r"^\W{0,4}(?:S:|<-|<<<|SERVER -> CLIENT:)?\s*354[ -]")
_REFUSED = re.compile(r"^\W{0,4}(?:S:|<-|<\*\*|<<<|SERVER -> CLIENT:)?\s*[45]\d\d[ -]")


def _inside_smtp_data(buffer: list[str]) -> bool:
    """True when the paste so far is an SMTP session in its DATA phase (a DATA command answered
    by 354, and no lone "." since), where "." ends the message data, not the paste."""
    for index in range(len(buffer) - 1, -1, -1):
        line = buffer[index]
        if line.strip() == "." or _REFUSED.match(line):
            return False
        if _GO_AHEAD.match(line):
            return any(_DATA_COMMAND.match(before) for before in buffer[max(0, index - 5) : index])
    return False
