"""What ndrbot does with each kind of Slack request, registered on bolt's ``AsyncApp``.

Every listener translates the payload (``bot.slack.translate``), asks the router, renders the
card (``bot.render.blockkit``) and sends it back the way Slack expects for that surface:

- a message in a channel or DM -> ``chat.postMessage`` in its thread;
- a slash command -> an ephemeral "Checking…" ack within Slack's 3 seconds, then a lazy
  listener that replaces it through ``response_url`` (docs.slack.dev "Implementing slash
  commands"; bolt's lazy listeners);
- ``/ndr`` without text -> ``views.open`` with the paste form; its submission is answered
  privately through the command's ``response_url`` (kept in ``private_metadata``);
- "Share in channel" -> ``router.on_share`` and ``chat.postMessage`` in that channel;
- a checklist tick -> ``router.on_tick`` and ``chat.update`` of the card for everyone.

Logs carry ids and sizes only: never a token, a secret or what was pasted.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reading import off_loop
from bot.render.blockkit import (
    TICK_ACTION_PREFIX,
    action_id,
    parse_tick_action_id,
    render_blockkit,
)
from bot.render.drafts import DELIST_CALLBACK, delist_modal, delist_modal_origin
from bot.slack.files import FileFetcher
from bot.slack.pictures import with_uploaded_picture, without_picture
from bot.slack.replies import (
    GONE,
    MESSAGE_OPTIONS,
    clicked,
    pooled,
    respond_with_card,
    show_update,
    slack_error,
    webhook,
)
from bot.slack.translate import (
    PASTE_BLOCK,
    PASTE_CALLBACK,
    PLATFORM,
    SlackMessage,
    from_slack_text,
    is_slack_url,
    message_from_event,
    paste_modal,
    paste_origin,
)
from handlers.card import ActionKind
from handlers.cards import error_card
from handlers.commands import command_names
from handlers.events import Command, Message
from handlers.failures import log_failure
from handlers.router import Reply, Router

__all__ = ["COMMAND_NAMES", "Listeners"]

log = logging.getLogger(__name__)

# Every command word of the command table is a Slack slash command (and in the manifest).
COMMAND_NAMES = command_names()
_COMMANDS = re.compile("^/(?:" + "|".join(COMMAND_NAMES) + ")$")
WORKERS = 8  # answers worked on at once (NDRBOT_WORKERS); more wait, acknowledged, for a slot
_CHECKING = ":hourglass_flowing_sand: Checking…"
_NOT_POSTED = ("not_in_channel", "channel_not_found", "is_archived", "restricted_action")


class Listeners:
    """The listeners, bound to one router and one set of Slack clients."""

    def __init__(
        self,
        router: Router,
        *,
        files: Callable[[], FileFetcher],
        is_admin: Callable[[str], Awaitable[bool]],
        api_url: str,
        workers: int = WORKERS,
        first_event: Callable[[str, str], bool] = lambda team, event_id: True,
        web: Callable[[], AsyncWebClient | None] = lambda: None,
    ) -> None:
        self.router = router
        # Each Events API delivery's event_id, recorded in the shared store before any work
        # (after the ack, off the event loop: acks never wait on the database); Slack's retry
        # of an event, on this replica or another, is then acknowledged and nothing else.
        self.first_event = first_event
        # The pooled client for our own calls once the server has started (bolt's own client
        # opens a connection per call); None before, and the listener's client answers.
        self.web = web
        self.files = files
        self.is_admin = is_admin
        self.api_url = api_url
        # The work after an ack (reading, checking, rendering, posting) runs at most ``workers``
        # at a time; the rest wait their turn, acknowledged already, and none is dropped. Acks
        # then never queue behind a burst's worth of work on the event loop.
        self.slots = asyncio.Semaphore(workers)
        # The listeners at work, acknowledged already: a stop lets them finish (for a while).
        self.running: set[asyncio.Task[Any]] = set()

    def register(self, app: AsyncApp) -> None:
        """Attach every listener to ``app``; those that answer do it over the server's pooled
        connections (``bot.slack.replies.pooled``)."""

        def answering(listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
            return pooled(listener, self.web, self.running)

        app.event("message")(answering(self.on_message))
        app.event("app_mention")(answering(self.on_message))
        app.command(_COMMANDS)(ack=answering(self.ack_command), lazy=[answering(self.run_command)])
        app.action(re.compile("^" + re.escape(TICK_ACTION_PREFIX) + r"\|"))(answering(self.on_tick))
        app.action(action_id(ActionKind.SHARE))(answering(self.on_share))
        app.action(action_id(ActionKind.RECHECK))(answering(self.on_recheck))
        app.action(action_id(ActionKind.TAKE))(answering(self.on_take))
        app.view(PASTE_CALLBACK)(ack=self.ack_paste, lazy=[answering(self.run_paste)])
        app.action(action_id(ActionKind.DELIST))(answering(self.on_delist))
        app.action("ndr_delist_open")(self.ack_only)  # the modal's link button: Slack opens it
        app.view(DELIST_CALLBACK)(answering(self.on_delist_sent))

    # -- messages -----------------------------------------------------------------------------

    async def on_message(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        context: Mapping[str, Any],
        client: AsyncWebClient,
    ) -> None:
        """A pasted or uploaded bounce gets a card in its thread; anything else, silence."""
        slack = message_from_event(event, context.get("bot_user_id"))
        if slack is None or slack.message.from_bot or slack.message.edited:
            return
        event_id = str(body.get("event_id") or "")
        team = str(body.get("team_id") or "")
        if event_id and not await off_loop(self.first_event, team, event_id):
            log.info("slack event %s seen before: acknowledged, not handled again", event_id)
            return
        message = slack.message
        log.info(
            "slack message %s/%s: %d chars, %d files",
            message.conversation,
            message.message_id,
            len(message.text),
            len(slack.files),
        )
        try:
            async with self.slots:
                await self._answer(slack, message, client)
        except SlackApiError as error:
            log.warning("reply to %s failed: %s", message.conversation, slack_error(error))
        except Exception as error:
            log_failure(log, f"message {message.conversation}/{message.message_id}", error)

    async def _answer(self, slack: SlackMessage, message: Message, client: AsyncWebClient) -> None:
        if slack.files:
            message = slack.with_attachments(await self.files().fetch_all(slack.files))
        # Reading and diagnosing is CPU work: in a worker thread, so acks of other requests do
        # not wait behind it on the event loop. (It marks the message answered: say something.)
        answer = await off_loop(self.router.read_message, message)
        if answer is None:
            return
        where: dict[str, Any] = {"channel": message.conversation, "thread_ts": slack.thread_ts}
        placeholder: str | None = None
        if isinstance(answer, Reply):
            card = answer.card
        else:
            if answer.checks_to_run:
                # One message per diagnosis: a placeholder now, edited into the card once the
                # checks are back (or into an apology if making the card failed).
                posted = await client.chat_postMessage(
                    **where, **MESSAGE_OPTIONS, **render_blockkit(answer.placeholder)
                )
                placeholder = str(posted["ts"])
            try:
                card = (await self.router.finish(answer)).card
            except Exception as error:
                log_failure(log, f"message {message.conversation}/{message.message_id}", error)
                card = error_card("Something went wrong", "ndrbot could not finish this card.")
        if placeholder is not None:
            try:
                await client.chat_update(
                    channel=message.conversation, ts=placeholder, **render_blockkit(card)
                )
                return
            except SlackApiError as error:  # the card still reaches the thread, as a new reply
                log.warning("chat.update of a placeholder failed: %s", slack_error(error))
        await client.chat_postMessage(**where, **MESSAGE_OPTIONS, **render_blockkit(card))

    # -- slash commands -----------------------------------------------------------------------

    async def ack_command(
        self, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Within 3 s: the paste form for a bare ``/ndr``, otherwise "Checking…"."""
        if command.get("command") == "/ndr" and not command.get("text", "").strip():
            await ack()
            view = paste_modal(command.get("channel_id", ""), command.get("response_url"))
            try:
                await client.views_open(trigger_id=command.get("trigger_id", ""), view=view)
            except SlackApiError as error:
                log.warning("views.open failed: %s", slack_error(error))
            return
        await ack(response_type="ephemeral", text=_CHECKING)

    async def run_command(
        self, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        """The command's work, after the ack: the result replaces "Checking…", privately."""
        name = str(command.get("command", "")).lstrip("/")
        args = from_slack_text(str(command.get("text") or ""))
        if name == "ndr" and not args.strip():
            return  # the paste form answers instead
        user = str(command.get("user_id") or "")
        log.info("slack /%s by %s: %d chars", name, user, len(args))
        async with self.slots:
            await self._run_command(name, args, user, command, respond, client)

    async def _run_command(
        self,
        name: str,
        args: str,
        user: str,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        try:
            reply = await self.router.on_command(
                Command(
                    platform=PLATFORM,
                    conversation=str(command.get("channel_id") or ""),
                    user=user,
                    name=name,
                    args=args,
                    is_admin=await self.is_admin(user),
                )
            )
            card = await with_uploaded_picture(client, reply.card)
        except Exception as error:
            log_failure(log, f"/{name}", error)
            card = error_card("Something went wrong", "ndrbot could not finish; try again.")
        await respond_with_card(respond, card, replace_original=True)

    # -- interactivity ------------------------------------------------------------------------

    async def on_tick(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        """A checklist tick: record it and show the card, as it now is, to everyone."""
        await ack()
        ids = parse_tick_action_id(str(action.get("action_id") or ""))
        if ids is None:
            return
        user = str((body.get("user") or {}).get("id") or "")
        done = bool(action.get("selected_options"))
        card = await self.router.on_tick(ids[0], ids[1], user, done)
        log.info("tick %s/%s by %s: %s", ids[0], ids[1], user, "done" if done else "undone")
        await show_update(body, card, client, respond, "a tick")

    async def on_recheck(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        """Re-check: run the card's checks again and edit the card in place with what changed."""
        await ack()
        user, card_id = clicked(body, action)
        log.info("re-check %s by %s", card_id, user)
        async with self.slots:
            card = await self.router.on_recheck(card_id, user, PLATFORM)
        await show_update(body, card, client, respond, "a re-check")

    async def on_take(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        """An alert's "I'm on it": the card says who took it, for everyone."""
        await ack()
        user, card_id = clicked(body, action)
        card = await self.router.on_take(card_id, user)
        await show_update(body, card, client, respond, "taking an alert")

    async def on_delist(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        """ "Request delisting": the prefilled, editable request in a modal for whoever clicked."""
        await ack()
        user, card_id = clicked(body, action)
        draft = await self.router.on_delist(card_id)
        if draft is None:
            await respond(response_type="ephemeral", replace_original=False, text=GONE)
            return
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
        message_ts = str(container.get("message_ts") or "")
        thread_ts = str(
            container.get("thread_ts") or (body.get("message") or {}).get("thread_ts") or ""
        )
        private = str(body.get("response_url") or "") if container.get("is_ephemeral") else ""
        view = delist_modal(draft, card_id, channel, message_ts, thread_ts, private_reply=private)
        log.info("delisting draft %s (%s) for %s", card_id, draft.route, user)
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)
        except SlackApiError as error:
            log.warning("views.open for a delisting draft failed: %s", slack_error(error))

    async def ack_only(self, ack: AsyncAck) -> None:
        """A button Slack handles itself (a link): acknowledged, nothing else to do."""
        await ack()

    async def on_delist_sent(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The modal's "Mark as sent": the card it came from says who sent the request, when."""
        await ack()
        card_id, channel, ts, thread, private = delist_modal_origin(view)
        user = str((body.get("user") or {}).get("id") or "")
        if private:
            # A private card: no thread anyone else sees, so no case; the card itself says it.
            marked = await self.router.on_delist_sent(card_id, user)
            if marked is not None and is_slack_url(private, self.api_url):
                message: dict[str, Any] = {"replace_original": True, "response_type": "ephemeral"}
                message.update(render_blockkit(marked))
                await webhook(private, client).send_dict(message)
            return
        card = await self.router.on_delist_sent(
            card_id, user, platform=PLATFORM, conversation=channel, thread=thread
        )
        if card is None or not channel or not ts:
            return
        log.info("delisting request on %s marked sent by %s", card_id, user)
        try:
            await client.chat_update(channel=channel, ts=ts, **render_blockkit(card))
        except SlackApiError as error:
            log.warning("chat.update after a delisting request failed: %s", slack_error(error))

    async def on_share(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        """ "Share in channel": the private result, posted for everyone in the channel."""
        await ack()
        reply = await self.router.on_share(str(action.get("value") or ""))
        if reply is None:
            await respond(response_type="ephemeral", replace_original=False, text=GONE)
            return
        channel = str((body.get("channel") or {}).get("id") or "")
        card = await with_uploaded_picture(client, reply.card)
        message = render_blockkit(card)
        try:
            try:
                await client.chat_postMessage(channel=channel, **MESSAGE_OPTIONS, **message)
            except SlackApiError as error:
                if slack_error(error) != "invalid_blocks" or card.picture is None:
                    raise
                message = render_blockkit(without_picture(card))  # the words go, not the chart
                await client.chat_postMessage(channel=channel, **MESSAGE_OPTIONS, **message)
        except SlackApiError as error:
            code = slack_error(error)
            if code not in _NOT_POSTED:
                log.warning("sharing in %s failed: %s", channel, code)
                await respond(
                    response_type="ephemeral",
                    replace_original=False,
                    text=f"Slack would not let me post it ({code}).",
                )
                return
            # Not a member there: the response_url can still post in the channel.
            await respond(response_type="in_channel", replace_original=False, **message)
        await respond(delete_original=True)

    async def ack_paste(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        """The paste form: refuse an empty paste in the form itself, else close it."""
        text, _, _ = paste_origin(view)
        if not text.strip():
            await ack(response_action="errors", errors={PASTE_BLOCK: "Paste the bounce first."})
            return
        await ack()

    async def run_paste(
        self, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The pasted bounce's card, privately, in the channel ``/ndr`` was typed in."""
        text, channel, response_url = paste_origin(view)
        user = str((body.get("user") or {}).get("id") or "")
        if not text.strip():
            return
        log.info("slack /ndr form by %s: %d chars", user, len(text))
        command = Command(PLATFORM, channel, user, "ndr", text)
        try:
            async with self.slots:
                card = (await self.router.on_command(command)).card
        except Exception as error:
            log_failure(log, "/ndr form", error)
            card = error_card("Something went wrong", "ndrbot could not finish; try again.")
        message = {"response_type": "ephemeral", "replace_original": False}
        message.update(render_blockkit(card))
        if response_url and is_slack_url(response_url, self.api_url):
            sent = await webhook(response_url, client).send_dict(message)
            if sent.status_code == 200:
                return
            log.warning("response_url answered HTTP %s; posting ephemerally", sent.status_code)
        try:
            if channel:
                await client.chat_postEphemeral(channel=channel, user=user, **render_blockkit(card))
            else:
                await client.chat_postMessage(
                    channel=user, **MESSAGE_OPTIONS, **render_blockkit(card)
                )
        except SlackApiError as error:
            log.warning("could not deliver the /ndr form's answer: %s", slack_error(error))
