"""The conversation: what ndrbot answers to a message, a command, or a tick on a checklist.

Platform-neutral. The Slack and Teams adapters (and the terminal console) translate their events
into :class:`Message` / :class:`Command` values, call the router, and render the :class:`Reply`
cards it returns. State (what was already answered, posted cards, ticks) goes through the ports.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from handlers.card import Action, Card
from handlers.cards import (
    TickRecord,
    apply_ticks,
    check_card,
    diagnosis_card,
    error_card,
    help_card,
    not_a_bounce_card,
    ticks_done,
)
from handlers.checks import (
    CheckResult,
    DnsClient,
    InvalidTarget,
    check_blocklist,
    check_dkim,
    check_dmarc,
    check_domain,
    check_spf,
    run_planned_checks,
)
from handlers.diagnosis import Diagnosis, diagnose
from handlers.events import Attachment, Command, Message, Reply, Visibility
from handlers.limits import RateLimiter
from handlers.ndr import Bounce, Kind, ReaderError, read
from handlers.ndr.kind import BOUNCE_PHRASES
from handlers.ports import CardStore, Clock, SeenMessages, WatchCommands
from knowledge import Catalogue

__all__ = [
    "COMMANDS",
    "Attachment",
    "Command",
    "Message",
    "Reply",
    "Router",
    "Visibility",
    "checks_for",
]

COMMANDS: tuple[tuple[str, str], ...] = (
    ("/spfcheck DOMAIN [IP]", "SPF record, lookup count and, with an IP, the SPF verdict for it"),
    ("/dmarccheck DOMAIN", "DMARC policy, reporting addresses and their authorisation"),
    ("/dkimcheck DOMAIN [SELECTOR ...]", "DKIM keys (Microsoft 365, Google and common selectors)"),
    (
        "/blcheck IP|DOMAIN",
        "DNS blocklists (Spamhaus, Barracuda, SpamCop and more), with delisting links",
    ),
    ("/mailcheck DOMAIN", "everything for a domain: SPF, DMARC, DKIM, MX and domain blocklists"),
    (
        "/ndr [BOUNCE TEXT]",
        "diagnose a bounce privately (in Slack, with no text, opens a form to paste it)",
    ),
    (
        "/ndrwatch add|remove|list [domain|ip] TARGET",
        "watch a domain or IP and alert the IT channel on changes",
    ),
    ("/ndrbot alerts here", "send proactive alerts to this channel (administrators only)"),
    ("/ndrbot help", "this help"),
)


_SIZE_HINT = "Upload the .eml of the bounce on its own, or paste only its diagnostic part."
_EML_NAMES = re.compile(r"\.(?:eml|txt|msg|log)$", re.IGNORECASE)
AlertsHere = Callable[[Command], Awaitable[Card]]


class Router:
    """Answers messages, commands and checklist ticks with cards."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        dns: DnsClient,
        seen: SeenMessages,
        cards: CardStore,
        clock: Clock,
        limiter: RateLimiter,
        max_paste_bytes: int,
        dqs_key: str | None = None,
        watches: WatchCommands | None = None,
        alerts_here: AlertsHere | None = None,
        run_checks: bool = True,
        observe: Callable[[Diagnosis, str], None] | None = None,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.catalogue = catalogue
        self.dns = dns
        self.seen = seen
        self.cards = cards
        self.clock = clock
        self.limiter = limiter
        self.max_paste_bytes = max_paste_bytes
        self.dqs_key = dqs_key
        self.watches = watches
        self.alerts_here = alerts_here
        self.run_checks = run_checks
        self.observe = observe  # sees every diagnosed bounce (for trend alerts), with its source
        self.new_id = new_id

    # -- messages ---------------------------------------------------------------------------

    async def on_message(self, message: Message) -> Reply | None:
        """A card in the thread for a pasted or uploaded bounce; silence for anything else in a
        channel; a short help in a direct message. Each message is answered at most once."""
        if message.from_bot or message.edited:
            return None
        if not self.seen.first_time(message.platform, message.conversation, message.message_id):
            return None
        inputs: list[tuple[str, bytes | str]] = []
        problems: list[str] = []
        for attachment in message.attachments:
            if attachment.data is None:
                if _EML_NAMES.search(attachment.name):
                    problems.append(
                        f"{attachment.name}: {attachment.error or 'could not be fetched'}"
                    )
                continue
            inputs.append((attachment.name, attachment.data))
        if message.text.strip():
            inputs.append(("message", message.text))
        recognised: Bounce | None = None
        for name, data in inputs:
            try:
                bounce = read(data, max_bytes=self.max_paste_bytes)
            except ReaderError as refusal:
                if message.direct or name != "message" or _looks_mail_related(data):
                    return Reply(
                        error_card("Too large to read", f"{refusal} {_SIZE_HINT}"),
                        Visibility.THREAD,
                    )
                continue
            if bounce.is_ndr:
                diagnosis = diagnose(bounce, self.catalogue)
                if self.observe is not None:
                    self.observe(diagnosis, f"{message.platform}:{message.conversation}")
                return await self._diagnosis_reply(diagnosis, Visibility.THREAD)
            if recognised is None and bounce.kind not in (Kind.CHAT, Kind.UNKNOWN):
                recognised = bounce
        if problems:
            return Reply(
                error_card("Could not read the file", "; ".join(problems)), Visibility.THREAD
            )
        if message.direct and recognised is not None:
            # Sent to the bot itself: say what it is (an auto-reply, a challenge request, ...).
            return Reply(not_a_bounce_card(diagnose(recognised, self.catalogue)), Visibility.THREAD)
        if message.direct:
            return Reply(self.help(), Visibility.THREAD)
        return None

    async def diagnose_text(self, text: str, visibility: Visibility = Visibility.PRIVATE) -> Reply:
        """``/ndr TEXT`` and the paste form: diagnose whatever was given, bounce or not."""
        try:
            bounce = read(text, max_bytes=self.max_paste_bytes)
        except ReaderError as refusal:
            return Reply(error_card("Too large to read", f"{refusal} {_SIZE_HINT}"), visibility)
        return await self._diagnosis_reply(diagnose(bounce, self.catalogue), visibility)

    async def _diagnosis_reply(self, diagnosis: Diagnosis, visibility: Visibility) -> Reply:
        checks = await self._planned_checks(diagnosis) if self.run_checks else []
        card_id = self.new_id()
        card = diagnosis_card(diagnosis, self.catalogue, checks, card_id=card_id)
        if visibility is Visibility.PRIVATE:
            # A private diagnosis (/ndr) can be shared, like a check result.
            card = replace(card, actions=(Action("share", "Share in channel", card_id),))
        self.cards.save_card(card_id, card)
        return Reply(card, visibility, card_id)

    async def _planned_checks(self, diagnosis: Diagnosis) -> list[CheckResult]:
        return await checks_for(self.dns, diagnosis, dqs_key=self.dqs_key)

    # -- commands ---------------------------------------------------------------------------

    def help(self) -> Card:
        """The help card."""
        return help_card(COMMANDS)

    async def on_command(self, command: Command) -> Reply:
        """Run a command; the reply is private to the caller, with a button to share it."""
        name = command.name.lower().lstrip("/")
        if name in ("ndrbot", "help", "") and command.args.strip().lower() in ("", "help"):
            return Reply(self.help(), Visibility.PRIVATE)
        if not self.limiter.allow(command.platform, command.user):
            wait = self.limiter.retry_after(command.platform, command.user)
            return Reply(
                error_card(
                    "Slow down", f"Too many commands in a short time; try again in {wait} s."
                ),
                Visibility.PRIVATE,
            )
        if name == "ndr":
            if not command.args.strip():
                return Reply(
                    error_card(
                        "Nothing to read", "Paste the bounce after the command: /ndr <bounce text>"
                    ),
                    Visibility.PRIVATE,
                )
            return await self.diagnose_text(command.args)
        if name == "ndrwatch":
            if self.watches is None:
                return Reply(
                    error_card("Watches are off", "This ndrbot runs without watches."),
                    Visibility.PRIVATE,
                )
            return Reply(
                await self.watches.handle(command),
                Visibility.PRIVATE,
            )
        if name == "ndrbot" and command.args.strip().lower() == "alerts here":
            if self.alerts_here is None:
                return Reply(
                    error_card("Alerts are off", "This ndrbot runs without alerts."),
                    Visibility.PRIVATE,
                )
            return Reply(await self.alerts_here(command), Visibility.PRIVATE)
        runner = _CHECK_COMMANDS.get(name)
        if runner is None:
            return Reply(
                error_card("Unknown command", f"I do not know /{name[:40]}. Try /ndrbot help."),
                Visibility.PRIVATE,
            )
        title, run = runner
        args = command.args.split()
        try:
            results = await run(self, args)
        except InvalidTarget as error:
            return Reply(error_card("Cannot check that", str(error)), Visibility.PRIVATE)
        except _Usage as usage:
            return Reply(error_card("Usage", str(usage)), Visibility.PRIVATE)
        card_id = self.new_id()
        target = args[0] if args else ""
        card = check_card(f"{title} {target}".strip(), results, shareable=True)
        card = replace(
            card,
            actions=tuple(replace(a, value=card_id) for a in card.actions),
            meta={"card_id": card_id},
        )
        self.cards.save_card(card_id, card)
        return Reply(card, Visibility.PRIVATE, card_id)

    async def on_share(self, card_id: str) -> Reply | None:
        """ "Share in channel": the stored card, to post for everyone (without the button)."""
        card = self.cards.load_card(card_id)
        if card is None:
            return None
        return Reply(replace(card, actions=()), Visibility.CHANNEL, card_id)

    # -- checklists -------------------------------------------------------------------------

    async def on_tick(self, card_id: str, item_id: str, user: str, done: bool) -> Card | None:
        """Record a tick (or un-tick) and return the card as everyone should now see it.

        The unblock step cannot be ticked before every security step is; such a tick is
        ignored and the card comes back unchanged. The bot never unblocks anything itself.
        """
        card = self.cards.load_card(card_id)
        if card is None or card.checklist is None:
            return None
        items = {item.id: item for item in card.checklist.items}
        item = items.get(item_id)
        if item is None:
            return card
        ticks = self.cards.ticks(card_id)
        if item.is_unblock and done and not _security_done(card, ticks):
            return self._with_ticks(card, ticks)
        self.cards.set_tick(
            card_id, item_id, user if done else None, self.clock().isoformat(timespec="seconds")
        )
        ticks = self.cards.ticks(card_id)
        if not _security_done(card, ticks):
            # Un-ticking a security step takes the unblock tick back with it.
            for unblock in (i for i in card.checklist.items if i.is_unblock and i.id in ticks):
                self.cards.set_tick(
                    card_id, unblock.id, None, self.clock().isoformat(timespec="seconds")
                )
            ticks = self.cards.ticks(card_id)
        return self._with_ticks(card, ticks)

    def _with_ticks(self, card: Card, ticks: dict[str, tuple[str, str]]) -> Card:
        assert card.checklist is not None
        return replace(card, checklist=apply_ticks(card.checklist, _records(ticks)))


async def checks_for(
    dns: DnsClient, diagnosis: Diagnosis, *, dqs_key: str | None = None
) -> list[CheckResult]:
    """Run the checks a diagnosis calls for, concurrently, on the targets its bounce gave."""
    if not diagnosis.checks:
        return []
    targets = diagnosis.targets
    return await run_planned_checks(
        dns,
        checks=diagnosis.checks,
        sender_domain=targets.sender_domain,
        sending_ip=targets.sending_ip,
        from_domain=targets.from_domain,
        spf_domain=targets.spf_domain,
        dkim_domains=targets.dkim_domains,
        dkim_selectors=targets.dkim_selectors,
        dqs_key=dqs_key,
        mx_domain=targets.mx_domain,
        sending_ip_hidden=targets.sending_ip_hidden,
    )


def _records(ticks: dict[str, tuple[str, str]]) -> dict[str, TickRecord]:
    return {item: TickRecord(user, at) for item, (user, at) in ticks.items()}


def _security_done(card: Card, ticks: dict[str, tuple[str, str]]) -> bool:
    assert card.checklist is not None
    return ticks_done(card.checklist, _records(ticks))


def _looks_mail_related(data: bytes | str) -> bool:
    head = data[:65536] if isinstance(data, str) else data[:65536].decode("utf-8", "replace")
    return bool(BOUNCE_PHRASES.search(head) or re.search(r"\b[245]\.\d{1,3}\.\d{1,3}\b", head))


class _Usage(ValueError):
    """A command was given the wrong arguments; the message shows the right form."""


async def _spf(router: Router, args: Sequence[str]) -> list[CheckResult]:
    if not 1 <= len(args) <= 2:
        raise _Usage("/spfcheck DOMAIN [IP]")
    async with router.dns.deadline():
        return [await check_spf(router.dns, args[0], ip=args[1] if len(args) > 1 else None)]


async def _dmarc(router: Router, args: Sequence[str]) -> list[CheckResult]:
    if len(args) != 1:
        raise _Usage("/dmarccheck DOMAIN")
    async with router.dns.deadline():
        return [await check_dmarc(router.dns, args[0])]


async def _dkim(router: Router, args: Sequence[str]) -> list[CheckResult]:
    if not args:
        raise _Usage("/dkimcheck DOMAIN [SELECTOR ...]")
    async with router.dns.deadline():
        return [await check_dkim(router.dns, args[0], tuple(args[1:6]))]


async def _blocklist(router: Router, args: Sequence[str]) -> list[CheckResult]:
    if len(args) != 1:
        raise _Usage("/blcheck IP|DOMAIN")
    async with router.dns.deadline():
        return [await check_blocklist(router.dns, args[0], dqs_key=router.dqs_key)]


async def _mailcheck(router: Router, args: Sequence[str]) -> list[CheckResult]:
    if len(args) != 1:
        raise _Usage("/mailcheck DOMAIN")
    async with router.dns.deadline():
        return await check_domain(router.dns, args[0], dqs_key=router.dqs_key)


_Runner = Callable[[Router, Sequence[str]], Awaitable[list[CheckResult]]]
_CHECK_COMMANDS: dict[str, tuple[str, _Runner]] = {
    "spfcheck": ("SPF check:", _spf),
    "dmarccheck": ("DMARC check:", _dmarc),
    "dkimcheck": ("DKIM check:", _dkim),
    "blcheck": ("Blocklist check:", _blocklist),
    "mailcheck": ("Mail check:", _mailcheck),
}
