"""The command table: every command ndrbot answers, in one place.

Each :class:`CommandSpec` names a command, its arguments, its help line, whether it is for
administrators, and the function that runs it. Everything else reads this table: the router
dispatches through it, the help card lists it, Slack registers its slash commands from it (and
the manifest test compares ``deploy/slack/manifest.yaml`` with it), Teams and the console parse
typed commands with it. Adding a command is one entry here and one function below.

A spec with ``sub`` is a fixed first argument of a shared command word (``/ndrbot alerts here``);
in Teams, where the bot's name is already the @mention, the sub's first word alone works too
(``@ndrbot alerts here``, ``@ndrbot help``).

Administrator-only commands check ``Command.is_admin`` in their own runner, which also records
the refusal in the audit log; the flag here is what the help card and the manifest show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from handlers.card import Card
from handlers.cards import error_card
from handlers.checks.names import normalise_domain
from handlers.checks.plan import CheckPlan, Step, plan_for_domain, single
from handlers.checks.result import InvalidTarget
from handlers.events import Command, Reply, Visibility
from handlers.ports import WatchCommands
from handlers.refusals import Refusal

__all__ = [
    "COMMANDS",
    "CommandSpec",
    "Desk",
    "UsageError",
    "command_names",
    "find_command",
    "help_lines",
    "typed_command",
]


class UsageError(Refusal):
    """A command was given the wrong arguments; the message shows the right form."""


class Desk(Protocol):
    """What a command's runner may use (the router provides it)."""

    watches: WatchCommands | None
    alerts_here: Callable[[Command], Awaitable[Card]] | None

    def help(self, *, slash: bool = True) -> Card:
        """The help card."""

    async def diagnose_text(self, text: str, visibility: Visibility = ...) -> Reply:
        """Diagnose pasted text, bounce or not."""

    async def check_reply(
        self, title: str, plan: CheckPlan, *, checklist: str = "", portals: Sequence[str] = ()
    ) -> Reply:
        """Run ``plan`` and answer with a shareable check card."""

    async def cases_here(self, command: Command) -> Reply:
        """This conversation's open delisting cases and unfinished checklists."""

    async def dmarc_report(self, domain: str, days: int) -> Reply:
        """What the DMARC aggregate reports received say about ``domain``."""

    async def dmarc_ready(self, domain: str) -> Reply:
        """Whether ``domain`` can take its next step towards DMARC enforcement."""


Runner = Callable[[Desk, Command, str], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandSpec:
    """One command: ``/name sub usage``, its help line, and what runs it."""

    name: str  # the word after the slash
    usage: str  # the arguments, as the help shows them
    help: str  # one line (at most 100 characters: Slack's manifest limit)
    run: Runner
    sub: str = ""  # a fixed first argument ("alerts here")
    admin_only: bool = False

    @property
    def synopsis(self) -> str:
        """``/spfcheck DOMAIN [IP]``."""
        return " ".join(p for p in (f"/{self.name}", self.sub, self.usage) if p)

    @property
    def typed(self) -> str:
        """How it is typed after an @mention (Teams): ``spfcheck DOMAIN [IP]``, ``alerts here``."""
        if self.sub:
            return " ".join(p for p in (self.sub, self.usage) if p)
        return " ".join(p for p in (self.name, self.usage) if p)


# -- runners -----------------------------------------------------------------------------------


def _words(args: str, least: int, most: int, usage: str) -> list[str]:
    words = args.split()
    if not least <= len(words) <= most:
        raise UsageError(usage)
    return words


async def _spf(desk: Desk, command: Command, args: str) -> Reply:
    words = _words(args, 1, 2, "/spfcheck DOMAIN [IP]")
    ip = words[1] if len(words) > 1 else None
    return await desk.check_reply(f"SPF check: {words[0]}", single(Step("spf", words[0], ip=ip)))


async def _dmarc(desk: Desk, command: Command, args: str) -> Reply:
    (domain,) = _words(args, 1, 1, "/dmarccheck DOMAIN")
    return await desk.check_reply(f"DMARC check: {domain}", single(Step("dmarc", domain)))


async def _dkim(desk: Desk, command: Command, args: str) -> Reply:
    words = _words(args, 1, 10_000, "/dkimcheck DOMAIN [SELECTOR ...]")
    step = Step("dkim", words[0], selectors=tuple(words[1:6]))
    return await desk.check_reply(f"DKIM check: {words[0]}", single(step))


async def _blocklist(desk: Desk, command: Command, args: str) -> Reply:
    (target,) = _words(args, 1, 1, "/blcheck IP|DOMAIN")
    return await desk.check_reply(f"Blocklist check: {target}", single(Step("dnsbl", target)))


DMARC_DAYS, DMARC_MAX_DAYS = 30, 366


async def _dmarcreport(desk: Desk, command: Command, args: str) -> Reply:
    usage = "/dmarcreport DOMAIN [DAYS]"
    words = _words(args, 1, 2, usage)
    try:
        domain = normalise_domain(words[0])
    except InvalidTarget as error:
        raise UsageError(f"{error}. Usage: {usage}") from None
    days = DMARC_DAYS
    if len(words) == 2:
        if not words[1].isdigit() or not 1 <= int(words[1]) <= DMARC_MAX_DAYS:
            raise UsageError(f"DAYS is a number from 1 to {DMARC_MAX_DAYS}. Usage: {usage}")
        days = int(words[1])
    return await desk.dmarc_report(domain, days)


async def _dmarcready(desk: Desk, command: Command, args: str) -> Reply:
    usage = "/dmarcready DOMAIN"
    (word,) = _words(args, 1, 1, usage)
    try:
        domain = normalise_domain(word)
    except InvalidTarget as error:
        raise UsageError(f"{error}. Usage: {usage}") from None
    return await desk.dmarc_ready(domain)


async def _mailcheck(desk: Desk, command: Command, args: str) -> Reply:
    (domain,) = _words(args, 1, 1, "/mailcheck DOMAIN")
    return await desk.check_reply(
        f"Mail check: {domain}",
        plan_for_domain(domain),
        checklist="postmaster_enrolment",
        portals=("outlookcom_snds", "google_postmaster", "yahoo_sender_hub"),
    )


async def _ndr(desk: Desk, command: Command, args: str) -> Reply:
    if not args.strip():
        return Reply(
            error_card("Nothing to read", "Paste the bounce after the command: /ndr <bounce text>"),
            Visibility.PRIVATE,
        )
    return await desk.diagnose_text(args)


async def _cases(desk: Desk, command: Command, args: str) -> Reply:
    return await desk.cases_here(command)


async def _watch(desk: Desk, command: Command, args: str) -> Reply:
    if desk.watches is None:
        card = error_card("Watches are off", "This ndrbot runs without watches.")
        return Reply(card, Visibility.PRIVATE)
    return Reply(await desk.watches.handle(command), Visibility.PRIVATE)


async def _alerts_here(desk: Desk, command: Command, args: str) -> Reply:
    if desk.alerts_here is None:
        return Reply(
            error_card("Alerts are off", "This ndrbot runs without alerts."), Visibility.PRIVATE
        )
    return Reply(await desk.alerts_here(command), Visibility.PRIVATE)


async def _help(desk: Desk, command: Command, args: str) -> Reply:
    return Reply(desk.help(slash=command.slash), Visibility.PRIVATE)


# -- the table ---------------------------------------------------------------------------------

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "spfcheck",
        "DOMAIN [IP]",
        "SPF record, lookup count and, with an IP, the SPF verdict for it",
        _spf,
    ),
    CommandSpec(
        "dmarccheck",
        "DOMAIN",
        "DMARC policy, reporting addresses and their authorisation",
        _dmarc,
    ),
    CommandSpec(
        "dkimcheck",
        "DOMAIN [SELECTOR ...]",
        "DKIM keys (Microsoft 365, Google and common selectors)",
        _dkim,
    ),
    CommandSpec(
        "blcheck",
        "IP|DOMAIN",
        "DNS blocklists (Spamhaus, Barracuda, SpamCop and more), with delisting links",
        _blocklist,
    ),
    CommandSpec(
        "dmarcreport",
        "DOMAIN [DAYS]",
        "who sends mail as the domain and whether it passes DMARC, from its aggregate reports",
        _dmarcreport,
    ),
    CommandSpec(
        "dmarcready",
        "DOMAIN",
        "is the domain ready for the next DMARC step? Every gate's evidence and the record to publish",
        _dmarcready,
    ),
    CommandSpec(
        "mailcheck",
        "DOMAIN",
        "everything for a domain: SPF, DMARC, DKIM, MX and domain blocklists",
        _mailcheck,
    ),
    CommandSpec(
        "ndr",
        "[BOUNCE TEXT]",
        "diagnose the bounce given after it (with no text, a form to paste it, where there are forms)",
        _ndr,
    ),
    CommandSpec(
        "ndr",
        "",
        "delisting requests still open here, and checklists not finished",
        _cases,
        sub="cases",
    ),
    CommandSpec(
        "ndrwatch",
        "add|remove|list [domain|ip] TARGET",
        "watch a domain or IP and alert the IT channel on changes",
        _watch,
    ),
    CommandSpec(
        "ndrbot",
        "",
        "send proactive alerts to this channel (administrators only)",
        _alerts_here,
        sub="alerts here",
        admin_only=True,
    ),
    CommandSpec("ndrbot", "", "this help", _help, sub="help"),
)
_HELP = next(spec for spec in COMMANDS if spec.sub == "help")


def help_lines(*, slash: bool = True) -> tuple[tuple[str, str], ...]:
    """``(synopsis, help)`` for every command, in table order (the help card's lines); with
    ``slash`` false, as typed after an @mention."""
    return tuple((spec.synopsis if slash else spec.typed, spec.help) for spec in COMMANDS)


def command_names() -> tuple[str, ...]:
    """The command words, each once, in table order (Slack's slash commands)."""
    return tuple(dict.fromkeys(spec.name for spec in COMMANDS))


def find_command(name: str, args: str) -> tuple[CommandSpec, str] | None:
    """The spec ``/name args`` runs and the arguments left for it; None for an unknown command.

    ``/ndrbot`` alone and ``/help`` are the help.
    """
    name = name.lower().lstrip("/")
    if name == "help":
        return _HELP, ""
    words = args.split()
    lowered = [w.lower() for w in words]
    fallback: tuple[CommandSpec, str] | None = None
    for spec in (s for s in COMMANDS if s.name == name):
        if not spec.sub:
            fallback = spec, args.strip()
            continue
        sub = spec.sub.split()
        if lowered[: len(sub)] == sub:
            return spec, " ".join(words[len(sub) :])
    if fallback is None and not words and name == _HELP.name:
        return _HELP, ""
    return fallback


def typed_command(text: str) -> tuple[str, str] | None:
    """``(name, args)`` for a command typed as a message (``spfcheck contoso.com``,
    ``/mailcheck x``, ``alerts here``, ``help``); None when the first word is not a command.

    For platforms without slash commands (Teams), where the message is addressed to the bot.
    """
    words = text.strip().split(None, 1)
    if not words:
        return None
    word = words[0].lstrip("/").lower()
    rest = words[1].strip() if len(words) > 1 else ""
    if any(spec.name == word for spec in COMMANDS) or word == "help":
        return word, rest
    for spec in COMMANDS:
        if spec.sub and spec.sub.split()[0] == word:
            return spec.name, f"{word} {rest}".strip()
    return None
