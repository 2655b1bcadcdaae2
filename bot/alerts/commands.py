"""``/ndrwatch`` and ``/ndrbot alerts here``: the watch list and the alert channel, as commands.

Anyone may list; only administrators (``Command.is_admin``, decided by the adapter from
``NDRBOT_ADMINS``) may add, remove or move the alerts, and everyone else gets a plain refusal.
Every change is written to the audit log with who made it (``slack:U123``, ``teams:<aad id>``,
``cli:<os user>``) and when; so is every refused attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.store.alerts import AlertStore, AlreadyWatched
from bot.store.chat import ChatStore
from handlers.card import Card, Fact, Tone
from handlers.cards import error_card
from handlers.checks.result import InvalidTarget
from handlers.events import Command
from handlers.ports import Clock
from handlers.watch.cards import watch_list_card
from handlers.watch.commands import WatchRequest, WatchUsage, parse_watch_args
from handlers.watch.model import Watch, WatchKind

__all__ = ["ALERT_CHANNEL_SETTING", "AlertsHereHandler", "WatchCommandHandler", "who"]

ALERT_CHANNEL_SETTING = "alerts.channel.{platform}"  # ChatStore setting, set by /ndrbot alerts here

_ADMINS_ONLY = (
    "Only ndrbot administrators can {what}. Ask one of them (they are listed in the "
    "NDRBOT_ADMINS setting). Anyone can see what is watched with /ndrwatch list."
)


def who(command: Command) -> str:
    """How a command's author is recorded: ``platform:user``."""
    return f"{command.platform}:{command.user}"


def _changed_card(title: str, watch: Watch, text: str) -> Card:
    return Card(
        title=title,
        tone=Tone.SUCCESS,
        summary=text,
        facts=(Fact("Watch", f"#{watch.id} {watch.label}"),),
    )


class WatchCommandHandler:
    """Implements the router's ``WatchCommands`` port (and the CLI's ``ndrbot watch``)."""

    def __init__(
        self,
        store: AlertStore,
        *,
        clock: Clock,
        first_run_at: Callable[[datetime], datetime],
        intervals: dict[WatchKind, float],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.first_run_at = first_run_at
        self.intervals = intervals
        self.on_change = on_change

    async def handle(self, command: Command) -> Card:
        """Run ``/ndrwatch ARGS`` for the command's author and return the reply card."""
        try:
            request = parse_watch_args(command.args)
        except WatchUsage as usage:
            return error_card("Usage", str(usage))
        except InvalidTarget as bad:
            return error_card("Cannot watch that", str(bad))
        if request.action != "list" and not command.is_admin:
            self.store.audit(
                at=self.clock(),
                who=who(command),
                action=f"watch.{request.action}.refused",
                subject=f"{request.kind} {request.target}",
            )
            return error_card(
                "Administrators only", _ADMINS_ONLY.format(what="add or remove watches")
            )
        return self.apply(request, who(command))

    def apply(self, request: WatchRequest, author: str) -> Card:
        """Carry out a parsed request for ``author`` (already allowed to)."""
        if request.action == "list":
            return watch_list_card(self.store.watches(), self.store.states())
        assert request.kind is not None
        now = self.clock()
        if request.action == "add":
            try:
                watch = self.store.add_watch(
                    request.kind,
                    request.target,
                    who=author,
                    at=now,
                    first_run_at=self.first_run_at(now),
                    selectors=request.selectors,
                )
            except AlreadyWatched as already:
                return error_card("Already watched", str(already))
            self.on_change()
            seconds = self.intervals[request.kind]
            every = f"{seconds / 3600:g} hours" if seconds >= 7200 else f"{seconds / 60:g} minutes"
            checks = (
                "blocklists and reverse DNS"
                if request.kind is WatchKind.IP
                else "SPF, DMARC, DKIM and MX"
            )
            return _changed_card(
                f"Watching {watch.label}",
                watch,
                f"ndrbot checks {checks} of {watch.target} about every {every} and "
                "posts to the alert channel when something changes, and again when it is fixed.",
            )
        removed = self.store.remove_watch(request.kind, request.target, who=author, at=now)
        if removed is None:
            return error_card(
                "Not watched", f"{request.kind} {request.target} is not on the watch list."
            )
        return _changed_card(
            f"Stopped watching {removed.label}", removed, "No more alerts for it will be posted."
        )


class AlertsHereHandler:
    """``/ndrbot alerts here``: post proactive alerts to the conversation it was typed in."""

    def __init__(self, store: AlertStore, chat: ChatStore, *, clock: Clock) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock

    async def __call__(self, command: Command) -> Card:
        """Set the alert conversation of the command's platform (administrators only)."""
        if not command.is_admin:
            self.store.audit(
                at=self.clock(),
                who=who(command),
                action="alerts.here.refused",
                subject=f"{command.platform}:{command.conversation}",
            )
            return error_card("Administrators only", _ADMINS_ONLY.format(what="move the alerts"))
        key = ALERT_CHANNEL_SETTING.format(platform=command.platform)
        self.chat.set_setting(key, command.conversation, user=who(command))
        self.store.audit(
            at=self.clock(),
            who=who(command),
            action="alerts.here",
            subject=f"{command.platform}:{command.conversation}",
        )
        return Card(
            title="Alerts will be posted here",
            tone=Tone.SUCCESS,
            summary=(
                "Watch alerts (blocklistings, SPF, DMARC, DKIM and MX changes), bounce trends "
                "and bounces ndrbot could not read will be posted in this conversation."
            ),
            facts=(Fact("Set by", command.user),),
        )
