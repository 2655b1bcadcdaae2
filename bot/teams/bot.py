"""The Teams bot: an ``ActivityHandler`` that turns Activities into router calls and the router's
replies into Adaptive Cards.

What goes where (issue 4):

- a message in a channel, group chat or personal chat -> ``router.on_message`` (bounces get a
  card in the thread; anything else in a channel gets silence; when the bot is addressed, by an
  @mention or in a personal chat, a non-bounce gets the help card);
- the same words as Slack's slash commands, typed after an @mention (or anywhere in a personal
  chat), with or without a leading ``/`` -> ``router.on_command``;
- ``Action.Submit`` from a card -> ``router.on_tick`` (then the card is updated in place, for
  everyone) or ``router.on_share``.

"Private" results: Teams has no ephemeral messages for bots, so a command's result is a reply in
the thread where it was typed (in a personal chat that *is* private). Its "Share in channel"
button, shown only in channels, posts the result as a new top-level message in the channel. A 1:1
chat was the alternative, but a bot can only open one with people who installed it personally,
so for everyone else the answer would silently go nowhere.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.platform import DeliveryError
from bot.reading import off_loop
from bot.render.drafts import draft_adaptive
from bot.store.chat import ChatStore
from bot.teams.activities import (
    Submit,
    base_conversation,
    command_in,
    file_refs,
    html_body,
    parse_submit,
    strip_mention,
    thread_root,
)
from bot.teams.files import FileFetcher
from bot.teams.poster import TeamsPoster, card_activity
from handlers.card import ActionKind, Card
from handlers.cards import error_card
from handlers.events import Command, Message, Reply, Visibility
from handlers.failures import log_failure
from handlers.router import Router

__all__ = ["NdrTeamsBot"]

log = logging.getLogger("ndrbot.teams")
PLATFORM = "teams"


def _conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    kind = getattr(conversation, "conversation_type", None)
    if kind:
        return str(kind)
    # The Emulator sends no conversationType: it is a one-to-one chat unless marked as a group.
    return "groupChat" if getattr(conversation, "is_group", False) else "personal"


def _for_here(turn_context: TurnContext, card: Card) -> Card:
    """``card`` as this conversation shows it: outside a channel there is no channel to share
    to (the result is already there), so no Share button, also after a tick or a re-check."""
    if _conversation_type(turn_context.activity) == "channel":
        return card
    return replace(card, actions=tuple(a for a in card.actions if a.kind is not ActionKind.SHARE))


def _user(activity: Activity) -> str:
    sender = activity.from_property
    return str(getattr(sender, "aad_object_id", None) or sender.id)


def _from_bot(activity: Activity) -> bool:
    # Bot Framework ids: "29:" for people, "28:" for bots; the Emulator marks roles instead.
    sender = activity.from_property
    return str(sender.id).startswith("28:") or getattr(sender, "role", None) == "bot"


def _entities(activity: Activity) -> list[dict[str, Any]]:
    return [
        {"type": entity.type, **(entity.additional_properties or {})}
        for entity in activity.entities or ()
        if entity is not None
    ]


def _attachments(activity: Activity) -> list[dict[str, Any]]:
    return [
        {"contentType": a.content_type, "name": a.name, "content": a.content}
        for a in activity.attachments or ()
        if a is not None
    ]


class NdrTeamsBot(ActivityHandler):
    """Answers Teams Activities through the router (see the module docstring)."""

    def __init__(
        self,
        *,
        router: Router,
        store: ChatStore,
        admins: tuple[str, ...],
        files: FileFetcher,
        poster: TeamsPoster,
    ) -> None:
        super().__init__()
        self.router = router
        self.store = store
        self.admins = frozenset(admins)
        self.files = files
        self.poster = poster

    # -- activities -----------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """A message, a command or a card's submit."""
        activity = turn_context.activity
        submit = parse_submit(activity.value)
        if submit is not None:
            self._remember(activity)
            await self._on_submit(turn_context, submit)
            return
        recipient = activity.recipient
        text, mentioned = strip_mention(
            activity.text or "",
            _entities(activity),
            getattr(recipient, "id", "") or "",
            getattr(recipient, "name", "") or "",
        )
        attachments = _attachments(activity)
        full_text = html_body(attachments) or text
        addressed = mentioned or _conversation_type(activity) == "personal"
        if addressed:
            self._remember(activity)
            command = command_in(text, full_text)
            if command is not None:
                await self._on_command(turn_context, *command)
                return
        from_bot = _from_bot(activity)
        fetched = (
            () if from_bot else tuple([await self.files.fetch(f) for f in file_refs(attachments)])
        )
        message = Message(
            platform=PLATFORM,
            conversation=base_conversation(activity.conversation.id),
            message_id=str(activity.id or ""),
            user=_user(activity),
            text=full_text,
            direct=addressed,
            attachments=fetched,
            from_bot=from_bot,
            slash=False,
        )
        # CPU work in a worker thread: other requests are not held up behind it on the loop.
        answer = await off_loop(self.router.read_message, message)
        if answer is None:
            return
        if isinstance(answer, Reply):
            await self._send(turn_context, answer)
            return
        # One message per diagnosis: when checks will take a while, a placeholder now, updated
        # into the card afterwards; either way a failure becomes an apology, not silence.
        posted = None
        if answer.checks_to_run:
            posted = await turn_context.send_activity(card_activity(answer.placeholder))
        try:
            reply = await self.router.finish(answer)
        except Exception as error:
            log_failure(log, "a bounce's card", error)
            card = error_card("Something went wrong", "ndrbot could not finish this card.")
            reply = Reply(card, answer.visibility)
        if not answer.checks_to_run:
            await self._send(turn_context, reply)
        else:
            card = reply.card
            update = card_activity(card)
            update.id = posted.id if posted is not None else None
            try:
                if update.id:
                    await turn_context.update_activity(update)
                    return
            except Exception as error:  # the card still reaches the thread, as a reply
                log.warning("updating a placeholder failed: %s", type(error).__name__)
            await self._reply(turn_context, card)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """Added to a team or chat (or its members changed): remember how to post there."""
        self._remember(turn_context.activity)
        await super().on_conversation_update_activity(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """Installed: remember the conversation; in a personal chat, say what ndrbot does."""
        self._remember(turn_context.activity)
        if _conversation_type(turn_context.activity) == "personal":
            await turn_context.send_activity(card_activity(self.router.help(slash=False)))

    # -- commands and submits -------------------------------------------------------------

    async def _on_command(self, turn_context: TurnContext, name: str, args: str) -> None:
        activity = turn_context.activity
        conversation = base_conversation(activity.conversation.id)
        # Teams redelivers an Activity it thinks timed out; a command runs once per message.
        if not self.store.first_time(PLATFORM, conversation, str(activity.id or "")):
            return
        await turn_context.send_activity(Activity(type=ActivityTypes.typing))
        user = _user(activity)
        command = Command(
            platform=PLATFORM,
            conversation=conversation,
            user=user,
            name=name,
            args=args,
            is_admin=user in self.admins,
            slash=False,
        )
        await self._send(turn_context, await self.router.on_command(command))

    async def _on_submit(self, turn_context: TurnContext, submit: Submit) -> None:
        if submit.action is ActionKind.SHARE:
            await self._share(turn_context, submit.card_id)
            return
        sender = turn_context.activity.from_property
        who = str(getattr(sender, "name", None) or sender.id)  # shown on the card
        if submit.action is ActionKind.TAKE:
            taken = await self.router.on_take(submit.card_id, who)
            await self._show_or_gone(
                turn_context, taken, "Alert not found", "That alert is no longer stored."
            )
            return
        if submit.action is ActionKind.DELIST:
            draft = await self.router.on_delist(submit.card_id)
            if draft is None:
                await self._reply(
                    turn_context, error_card("Nothing to request", "That card is no longer stored.")
                )
                return
            opened_from = str(turn_context.activity.reply_to_id or "")
            rendered = draft_adaptive(draft, submit.card_id, opened_from)
            await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(rendered))
            )
            return
        if submit.action is ActionKind.DELIST_SENT:
            activity = turn_context.activity
            conversation_id = str(activity.conversation.id or "")
            marked = await self.router.on_delist_sent(
                submit.card_id,
                who,
                platform=PLATFORM,
                conversation=base_conversation(conversation_id),
                # Follow-ups go in the card's thread: its channel thread, else under the card.
                thread=thread_root(conversation_id) or submit.card_message,
            )
            if marked is None:
                await self._reply(
                    turn_context, error_card("Nothing to mark", "That card is no longer stored.")
                )
                return
            if submit.card_message:  # the card itself says who sent the request, for everyone
                update = card_activity(_for_here(turn_context, marked))
                update.id = submit.card_message
                try:
                    await turn_context.update_activity(update)
                    return
                except Exception as error:  # deleted, or not ours to edit: say it as a reply
                    log_failure(log, "updating the card after a delisting request", error)
            await self._reply(turn_context, marked)
            return
        if submit.action is ActionKind.RECHECK:
            activity = turn_context.activity
            conversation = base_conversation(activity.conversation.id)
            if not self.store.first_time(PLATFORM, conversation, str(activity.id or "")):
                return  # Teams redelivered the click: it was re-checked once already
            rechecked = await self.router.on_recheck(submit.card_id, who, PLATFORM)
            await self._show_or_gone(
                turn_context, rechecked, "Nothing to re-check", "That card is no longer stored."
            )
            return
        updated = await self.router.on_toggles(submit.card_id, submit.toggles, who)
        await self._show_or_gone(
            turn_context, updated, "Checklist not found", "This checklist is no longer stored."
        )

    async def _show_or_gone(
        self, turn_context: TurnContext, card: Card | None, title: str, gone: str
    ) -> None:
        """The card as it now is, in place; or, when it is no longer stored, say so."""
        if card is None:
            await self._reply(turn_context, error_card(title, gone))
            return
        await self._show(turn_context, card)

    async def _share(self, turn_context: TurnContext, card_id: str) -> None:
        activity = turn_context.activity
        conversation = base_conversation(activity.conversation.id)
        if not self.store.first_time(PLATFORM, conversation, str(activity.id or "")):
            return
        reply = await self.router.on_share(card_id)
        if reply is None:
            await self._reply(
                turn_context, error_card("Nothing to share", "That result is no longer stored.")
            )
            return
        try:
            await self.poster.post(conversation, reply.card)
        except DeliveryError as error:
            log.warning("teams share failed: %s", error)
            await self._reply(
                turn_context, error_card("Could not share", "Posting to the channel failed.")
            )
            return
        await self._show(turn_context, reply.card)  # the thread's copy loses its button

    # -- sending --------------------------------------------------------------------------

    async def _send(self, turn_context: TurnContext, reply: Reply) -> None:
        card = _for_here(turn_context, reply.card)
        if reply.visibility is Visibility.CHANNEL:
            conversation = base_conversation(turn_context.activity.conversation.id)
            await self.poster.post(conversation, card)
        else:  # THREAD and PRIVATE: a reply to the message that asked
            await self._reply(turn_context, card)

    async def _reply(self, turn_context: TurnContext, card: Card) -> None:
        await turn_context.send_activity(card_activity(card))

    async def _show(self, turn_context: TurnContext, card: Card) -> None:
        """Replace the card the submit came from (everyone sees the new state)."""
        card_message = turn_context.activity.reply_to_id
        if not card_message:
            await self._reply(turn_context, card)
            return
        update = card_activity(_for_here(turn_context, card))
        update.id = card_message
        await turn_context.update_activity(update)

    def _remember(self, activity: Activity) -> None:
        """Save how to reach this conversation later (the channel itself, not a thread)."""
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        conversation = base_conversation(activity.conversation.id)
        reference.conversation.id = conversation
        self.store.save_reference(PLATFORM, conversation, reference.serialize())
