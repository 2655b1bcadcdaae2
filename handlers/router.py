"""The conversation: what ndrbot answers to a message, a command, or a tick on a checklist.

Platform-neutral. The Slack and Teams adapters (and the terminal console) translate their events
into :class:`Message` / :class:`Command` values, call the router, and render the :class:`Reply`
cards it returns. State (what was already answered, posted cards, ticks) goes through the ports.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from handlers.answers import check_answer, diagnosis_answer
from handlers.card import Action, ActionKind, Card, Recheck
from handlers.cards import (
    check_lines,
    error_card,
    help_card,
    not_a_bounce_card,
    placeholder_card,
)
from handlers.cases import Case, Unfinished, cases_card
from handlers.checklist import TickRecord, apply_ticks, toggle
from handlers.checks import CheckPlan, CheckResult, DnsClient, InvalidTarget, run_plan
from handlers.commands import UsageError, find_command, help_lines
from handlers.delisting import DelistRequest, Draft, build_draft
from handlers.diagnosis import Diagnosis, diagnose
from handlers.dmarc.answers import readiness_answer, report_answer, uploads_answer
from handlers.events import Attachment, Command, Message, Reply, Visibility
from handlers.limits import RateLimiter
from handlers.ndr import Bounce, Kind, ReaderError, read
from handlers.ndr.kind import looks_mail_related
from handlers.ports import (
    CardStore,
    CaseBook,
    Clock,
    DmarcReports,
    Offload,
    SeenMessages,
    WatchCommands,
    inline,
    offloaded,
)
from handlers.recheck import rechecked
from handlers.refusals import Refusal
from knowledge import Catalogue

__all__ = ["Attachment", "Command", "Message", "Pending", "Reply", "Router", "Visibility"]


_SIZE_HINT = "Upload the .eml of the bounce on its own, or paste only its diagnostic part."
_DMARC_OFF = error_card("DMARC reports are off", "This ndrbot keeps no DMARC reports.")
_EML_NAMES = re.compile(r"\.(?:eml|txt|msg|log)$", re.IGNORECASE)
AlertsHere = Callable[[Command], Awaitable[Card]]


@dataclass(frozen=True)
class Pending:
    """A diagnosed bounce whose card is still to be made (its checks to run)."""

    diagnosis: Diagnosis
    visibility: Visibility
    checks_to_run: bool  # worth a placeholder: the answer will wait for DNS
    place: str = ""  # where the card goes ("slack:C123"), so the channel can list what is open

    @property
    def placeholder(self) -> Card:
        """The short card to show while the checks run."""
        return placeholder_card(self.diagnosis)


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
        cases: CaseBook | None = None,
        dmarc: DmarcReports | None = None,
        offload: Offload = inline,
    ) -> None:
        self.cases = cases
        # Where cards are built, read and saved (a server: off the loop that acknowledges).
        self.offload = offload
        self.dmarc = dmarc
        # Told the platform of every card answered (a paste's card, a command's), for metrics.
        self.on_card: Callable[[str], None] = lambda platform: None
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
        answer = self.read_message(message)
        return await self.finish(answer) if isinstance(answer, Pending) else answer

    async def finish(self, pending: Pending) -> Reply:
        """The card for a diagnosed bounce, its checks run (the slow part of an answer)."""
        reply = await self._diagnosis_reply(pending.diagnosis, pending.visibility, pending.place)
        self.on_card(pending.place.partition(":")[0])
        return reply

    def read_message(self, message: Message) -> Reply | Pending | None:
        """The quick part of :meth:`on_message`: a bounce read and diagnosed, its checks still to
        run (:meth:`finish`), so an adapter that can edit a message can post a placeholder
        first (:func:`~handlers.cards.placeholder_card`); any other answer as a reply."""
        if message.from_bot or message.edited:
            return None
        if not self.seen.first_time(message.platform, message.conversation, message.message_id):
            return None
        if self.dmarc is not None and message.direct:
            # Report files sent to the bot itself (a personal chat): taken in, not diagnosed.
            taken = uploads_answer(self.dmarc, message.attachments, f"{message.platform}:upload")
            if taken is not None:
                return Reply(taken, Visibility.THREAD)
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
                if message.direct or name != "message" or looks_mail_related(data):
                    return Reply(
                        error_card("Too large to read", f"{refusal} {_SIZE_HINT}"),
                        Visibility.THREAD,
                    )
                continue
            if bounce.is_ndr:
                diagnosis = diagnose(bounce, self.catalogue)
                place = _place(message.platform, message.conversation)
                if self.observe is not None:
                    self.observe(diagnosis, place)
                checks_to_run = self.run_checks and diagnosis.plan.runnable
                return Pending(diagnosis, Visibility.THREAD, checks_to_run, place)
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
            return Reply(self.help(slash=message.slash), Visibility.THREAD)
        return None

    async def diagnose_text(self, text: str, visibility: Visibility = Visibility.PRIVATE) -> Reply:
        """``/ndr TEXT`` and the paste form: diagnose whatever was given, bounce or not."""
        try:
            bounce = read(text, max_bytes=self.max_paste_bytes)
        except ReaderError as refusal:
            return Reply(error_card("Too large to read", f"{refusal} {_SIZE_HINT}"), visibility)
        return await self._diagnosis_reply(diagnose(bounce, self.catalogue), visibility)

    async def _diagnosis_reply(
        self, diagnosis: Diagnosis, visibility: Visibility, place: str = ""
    ) -> Reply:
        checks = await self.run_plan(diagnosis.plan) if self.run_checks else []
        private = visibility is Visibility.PRIVATE
        return await self.offload(
            lambda: self._saved(
                lambda card_id: diagnosis_answer(
                    diagnosis, self.catalogue, checks, card_id=card_id, private=private, place=place
                ),
                visibility,
            )
        )

    def _saved(self, build: Callable[[str], Card], visibility: Visibility) -> Reply:
        """The card ``build`` makes for a new id, saved for its buttons (on ``offload``: the
        card's making and saving are CPU and storage work a server keeps off its acking loop)."""
        card_id = self.new_id()
        card = build(card_id)
        self.cards.save_card(card_id, card)
        return Reply(card, visibility, card_id)

    async def run_plan(self, plan: CheckPlan) -> list[CheckResult]:
        """Run checks with this router's resolver and Spamhaus key (failures contained)."""
        return await run_plan(self.dns, plan, dqs_key=self.dqs_key)

    # -- commands ---------------------------------------------------------------------------

    def help(self, *, slash: bool = True) -> Card:
        """The help card: every command of the table, as this platform types it."""
        if slash:
            return help_card(help_lines())
        return help_card(
            help_lines(slash=False),
            how_to_type=(
                "In a channel, mention me first (@ndrbot mailcheck contoso.com); in a chat "
                "with me, type the command alone. A leading / works too."
            ),
        )

    async def on_command(self, command: Command) -> Reply:
        """Run a command; the reply is private to the caller, with a button to share it."""
        found = find_command(command.name or "help", command.args)
        if found is None:
            name = command.name.lower().lstrip("/")
            return Reply(
                error_card("Unknown command", f"I do not know /{name[:40]}. Try /ndrbot help."),
                Visibility.PRIVATE,
            )
        spec, args = found
        if spec.sub != "help" and not self.limiter.allow(command.platform, command.user):
            wait = self.limiter.retry_after(command.platform, command.user)
            return Reply(
                error_card(
                    "Slow down", f"Too many commands in a short time; try again in {wait} s."
                ),
                Visibility.PRIVATE,
            )
        try:
            reply = await spec.run(self, command, args)
            self.on_card(command.platform)
            return reply
        except InvalidTarget as error:
            return Reply(error_card("Cannot check that", str(error)), Visibility.PRIVATE)
        except UsageError as usage:
            return Reply(error_card("Usage", str(usage)), Visibility.PRIVATE)

    async def check_reply(
        self, title: str, plan: CheckPlan, *, checklist: str = "", portals: Sequence[str] = ()
    ) -> Reply:
        """Run ``plan`` and answer with a check card the caller can share (stored for that),
        ending with the catalogue's ``checklist`` and ``portals`` when named."""
        results = await self.run_plan(plan)
        return await self.offload(
            lambda: self._saved(
                lambda card_id: check_answer(
                    title,
                    results,
                    plan,
                    self.catalogue,
                    card_id=card_id,
                    checklist=checklist,
                    portals=portals,
                ),
                Visibility.PRIVATE,
            )
        )

    async def dmarc_report(self, domain: str, days: int) -> Reply:
        """``/dmarcreport``: who sends as ``domain`` (a card the caller can share)."""
        if self.dmarc is None:
            return Reply(_DMARC_OFF, Visibility.PRIVATE)
        card = await report_answer(self.dmarc, domain, days)
        return await self.offload(lambda: self._shareable(card))

    async def dmarc_ready(self, domain: str) -> Reply:
        """``/dmarcready``: the next step towards enforcement (a card the caller can share)."""
        if self.dmarc is None:
            return Reply(_DMARC_OFF, Visibility.PRIVATE)
        today = self.clock().date()
        card = await readiness_answer(self.dmarc, self.run_plan, domain, today)
        return await self.offload(lambda: self._shareable(card))

    def _shareable(self, card: Card) -> Reply:
        """``card`` stored under a new id, privately, with a button to share it."""
        share = (Action(ActionKind.SHARE, "Share in channel"),)
        return self._saved(
            lambda card_id: replace(card, id=card_id, actions=share), Visibility.PRIVATE
        )

    async def on_recheck(self, card_id: str, user: str, platform: str = "") -> Card | None:
        """Run a stored card's checks again and return it as everyone should now see it, with
        what changed (:mod:`handlers.recheck`); None when the card or its plan is gone.

        Re-checks count against the caller's command rate limit (each asks DNS afresh, and
        blocklists limit queries); a refused one leaves the card's lines as they were and says
        when to try again.
        """
        card = await self.offload(lambda: self.cards.load_card(card_id))
        plan_json = card.meta.get("plan") if card is not None else None
        if card is None or not plan_json:
            return None
        try:
            plan = CheckPlan.from_json(plan_json)
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: not a plan this one can run
        at = self.clock().isoformat(timespec="seconds")
        if not self.limiter.allow(platform, user):
            wait = self.limiter.retry_after(platform, user)
            why = f"too many checks in a short time; try again in {wait} s"
            kept = replace(card, recheck=Recheck(user, at, (f"Not checked again: {why}",)))
            return await self.offload(lambda: self._with_saved_ticks(card_id, kept))
        try:
            with self.dns.fresh():  # the record may have been fixed since: no cached answers
                lines = check_lines(await self.run_plan(plan))
        except Refusal as refusal:  # a stored target this version refuses: say so, keep lines
            kept = replace(card, recheck=Recheck(user, at, (f"Not checked again: {refusal}",)))
            return await self.offload(lambda: self._with_saved_ticks(card_id, kept))
        card = rechecked(card, lines, by=user, at=at)
        return await self.offload(lambda: self._saved_recheck(card_id, card))

    def _saved_recheck(self, card_id: str, card: Card) -> Card:
        self.cards.save_card(card_id, card)
        return self._with_saved_ticks(card_id, card)

    # -- delisting --------------------------------------------------------------------------

    def _delisting(self, card_id: str) -> tuple[Card, DelistRequest] | None:
        """A stored block card and the delisting request it keeps; None when either is gone
        (or was written by another version)."""
        card = self.cards.load_card(card_id)
        stored = card.meta.get("delist") if card is not None else None
        if card is None or not stored:
            return None
        try:
            return card, DelistRequest.from_json(stored)
        except ValueError:
            return None

    async def on_delist(self, card_id: str) -> Draft | None:
        """The prefilled delisting request for a stored block card, built from the bounce, the
        card's checks as the last Re-check left them and the checklist's ticks (evidence first:
        :mod:`handlers.delisting`); None when the card, or its request, is gone. On the loop, not
        queued behind readings: Slack's ``trigger_id`` for the form expires after 3 s."""
        found = self._delisting(card_id)
        if found is None:
            return None
        card, request = found
        return build_draft(
            request, self.catalogue, card.checks, card.checklist, self._ticks(card_id)
        )

    @offloaded
    def on_delist_sent(
        self,
        card_id: str,
        user: str,
        *,
        platform: str = "",
        conversation: str = "",
        thread: str = "",
    ) -> Card | None:
        """The user sent the request by hand: the card says who and when, for everyone (the
        first mark stands; a second or a redelivered one changes nothing), and, for a card in a
        conversation (``thread``: the card's own message), a case opens that follows the request
        up in that thread (:mod:`handlers.cases`). None if the card is gone."""
        found = self._delisting(card_id)
        if found is None:
            return None
        card, request = found
        if not card.delisting_by:
            now = self.clock()
            at = now.isoformat(timespec="seconds")
            card = replace(card, delisting_by=user, delisting_at=at)
            self.cards.save_card(card_id, card)
            if self.cases is not None and conversation and thread:
                self._open_case(card_id, request, user, now, platform, conversation, thread)
        return self._with_saved_ticks(card_id, card)

    def _open_case(
        self,
        card_id: str,
        request: DelistRequest,
        user: str,
        now: datetime,
        platform: str,
        conversation: str,
        thread: str,
    ) -> None:
        route = self.catalogue.delisting.get(request.route)
        if route is None or self.cases is None:
            return
        self.cases.open_case(
            Case(
                card_id=card_id,
                platform=platform,
                conversation=conversation,
                thread=thread,
                route=route.key,
                title=route.title,
                ip=request.ip,
                domain=request.sender_domain,
                zone=route.zone or "",
                opened_by=user,
                opened_at=now,
            )
        )

    @offloaded
    def cases_here(self, command: Command) -> Reply:
        """``/ndr cases``: this conversation's open delisting cases and unfinished checklists."""
        cases = self.cases.open_cases(command.platform, command.conversation) if self.cases else []
        unfinished = []
        for card_id, card in self.cards.cards_at(_place(command.platform, command.conversation)):
            if card.checklist is None:
                continue
            ticks = self._ticks(card_id)
            items = card.checklist.items
            left = sum(1 for item in items if item.id not in ticks)
            if left:
                unfinished.append(Unfinished(card.title, left, len(items)))
        return Reply(cases_card(cases, unfinished[::-1], self.clock()), Visibility.PRIVATE)

    def _with_saved_ticks(self, card_id: str, card: Card) -> Card:
        """``card`` showing the ticks recorded for it (the stored card has none applied)."""
        if card.checklist is None:
            return card
        return replace(card, checklist=apply_ticks(card.checklist, self._ticks(card_id)))

    def _ticks(self, card_id: str) -> dict[str, TickRecord]:
        """Who ticked what on a stored card, as the checklist rules take it."""
        return {item: TickRecord(*record) for item, record in self.cards.ticks(card_id).items()}

    @offloaded
    def on_take(self, card_id: str, user: str) -> Card | None:
        """An alert's "I'm on it": the card says who took it and when, for everyone; the first
        click wins (a second, or a redelivered one, changes nothing). None if the card is gone."""
        card = self.cards.load_card(card_id)
        if card is None:
            return None
        if not card.taken_by:
            card = replace(
                card,
                taken_by=user,
                taken_at=self.clock().isoformat(timespec="seconds"),
                actions=tuple(a for a in card.actions if a.kind is not ActionKind.TAKE),
            )
            self.cards.save_card(card_id, card)
        return self._with_saved_ticks(card_id, card)

    @offloaded
    def on_share(self, card_id: str) -> Reply | None:
        """ "Share in channel": the stored card, to post for everyone (without the Share
        button; a Re-check button stays, so the channel can check again)."""
        card = self.cards.load_card(card_id)
        if card is None:
            return None
        kept = tuple(a for a in card.actions if a.kind is not ActionKind.SHARE)
        return Reply(replace(card, actions=kept), Visibility.CHANNEL, card_id)

    # -- checklists -------------------------------------------------------------------------

    async def on_tick(self, card_id: str, item_id: str, user: str, done: bool) -> Card | None:
        """Record one tick (or un-tick); the card as everyone should now see it."""
        return await self.on_toggles(card_id, {item_id: done}, user)

    @offloaded
    def on_toggles(self, card_id: str, toggles: Mapping[str, bool], user: str) -> Card | None:
        """Apply ``toggles`` (item id -> ticked) by ``user`` to a stored card's checklist, by the
        rules of :mod:`handlers.checklist`; the card as everyone should now see it, or None when
        the card (or its checklist) is no longer stored. The bot never unblocks anything."""
        card = self.cards.load_card(card_id)
        if card is None or card.checklist is None:
            return None
        before = self._ticks(card_id)
        at = self.clock().isoformat(timespec="seconds")
        after = toggle(card.checklist, before, toggles, user=user, at=at)
        for item in before.keys() - after.keys():
            self.cards.set_tick(card_id, item, None, at)
        for item in after.keys() - before.keys():
            self.cards.set_tick(card_id, item, after[item].user, at)
        return replace(card, checklist=apply_ticks(card.checklist, after))


def _place(platform: str, conversation: str) -> str:
    """Where a card is posted (``"slack:C123"``): what trends count and ``/ndr cases`` lists."""
    return f"{platform}:{conversation}"
