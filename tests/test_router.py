"""The conversation, platform-neutral: what the router answers, and when it stays silent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import open_database
from bot.store.chat import ChatStore
from handlers.card import ActionKind, Card, Tone
from handlers.checks import DnsClient
from handlers.events import Command, Message, Visibility
from handlers.limits import RateLimiter
from handlers.router import Router
from knowledge import Catalogue
from tests.dns.conftest import serve
from tests.dns.server import LoopbackDns

__all__ = ["serve"]  # a fixture, used by name

SAMPLES = Path(__file__).parent / "ndr" / "samples"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _router(
    catalogue: Catalogue, clock: FakeClock, dns: DnsClient, *, run_checks: bool, commands: int
) -> Router:
    store = ChatStore(open_database(":memory:"))
    ids = iter(f"card{i}" for i in range(1000))
    return Router(
        catalogue=catalogue,
        dns=dns,
        seen=store,
        cards=store,
        clock=clock,
        limiter=RateLimiter(clock, capacity=commands, per_minute=commands),
        max_paste_bytes=64 * 1024,
        run_checks=run_checks,
        new_id=lambda: next(ids),
    )


@pytest.fixture
def router(catalogue: Catalogue, clock: FakeClock) -> Router:
    dns = DnsClient([("127.0.0.1", 9)], timeout=0.2)
    return _router(catalogue, clock, dns, run_checks=False, commands=3)


def _message(text: str, message_id: str = "1", **kw: object) -> Message:
    return Message("slack", "C1", message_id, "U1", text, **kw)  # type: ignore[arg-type]


async def test_a_pasted_bounce_gets_a_card_in_the_thread(router: Router) -> None:
    reply = await router.on_message(_message((SAMPLES / "exo_relay_old_layout.txt").read_text()))
    assert reply is not None and reply.visibility is Visibility.THREAD
    assert reply.card.title == "Microsoft 365 refused to relay your message"
    assert any(f.label == "Recipient" and f.value == "lee@fabrikam.com" for f in reply.card.facts)


async def test_ordinary_chat_in_a_channel_gets_silence(router: Router) -> None:
    assert await router.on_message(_message("lunch at 12? the 550 bus is late again")) is None


async def test_a_direct_message_that_is_not_a_bounce_gets_help(router: Router) -> None:
    reply = await router.on_message(_message("hi, what can you do?", direct=True))
    assert reply is not None and "paste" in reply.card.summary.lower()


async def test_look_alikes_get_no_card_in_a_channel_and_are_named_in_a_direct_message(
    router: Router,
) -> None:
    challenge = (SAMPLES / "shapes" / "not_bounce_challenge.txt").read_text()
    assert await router.on_message(_message(challenge, "c1")) is None
    reply = await router.on_message(_message(challenge, "c2", direct=True))
    assert reply is not None and reply.card.title == "Not a bounce"
    assert "challenge-response" in reply.card.summary


async def test_a_retried_or_edited_message_gets_no_second_card(router: Router) -> None:
    text = "550 5.7.1 Unable to relay"
    assert await router.on_message(_message(text, "42")) is not None
    assert await router.on_message(_message(text, "42")) is None  # platform retry
    assert await router.on_message(_message(text, "43", edited=True)) is None


async def test_an_uploaded_eml_is_read(router: Router) -> None:
    from handlers.events import Attachment

    data = (SAMPLES / "banned_ip_postfix.eml").read_bytes()
    reply = await router.on_message(_message("", attachments=(Attachment("bounce.eml", data),)))
    assert reply is not None and any(f.value == "192.0.2.15" for f in reply.card.facts)


async def test_an_oversized_bounce_paste_is_refused_with_a_clear_message(router: Router) -> None:
    text = "Remote Server returned '550 5.7.1 Unable to relay'\n" + "x" * 70_000
    reply = await router.on_message(_message(text))
    assert reply is not None and reply.card.title == "Too large to read"
    assert "over ndrbot's limit" in reply.card.summary


async def test_commands_are_private_and_rate_limited(router: Router) -> None:
    replies = [
        await router.on_command(Command("slack", "C1", "U1", "blcheck", "not_an_ip!"))
        for _ in range(4)
    ]
    assert all(r.visibility is Visibility.PRIVATE for r in replies)
    assert replies[0].card.title == "Cannot check that"
    assert replies[3].card.title == "Slow down"


async def test_unknown_command_and_help(router: Router) -> None:
    assert (
        await router.on_command(Command("slack", "C1", "U2", "frobnicate"))
    ).card.title == "Unknown command"
    help_card = (await router.on_command(Command("slack", "C1", "U2", "ndrbot", "help"))).card
    assert "/spfcheck DOMAIN [IP]" in help_card.sections[0].text


async def test_checklist_unblock_waits_for_every_security_step(
    router: Router, clock: FakeClock
) -> None:
    reply = await router.on_message(
        _message((SAMPLES / "restricted_sender_quoted.txt").read_text())
    )
    assert reply is not None and reply.card_id and reply.card.checklist is not None
    items = reply.card.checklist.items
    unblock = next(i for i in items if i.is_unblock)
    assert not unblock.enabled

    card = await router.on_tick(reply.card_id, unblock.id, "U9", True)
    assert card is not None and card.checklist is not None
    assert not next(i for i in card.checklist.items if i.is_unblock).done  # refused: too early

    for item in items:
        if item.required:
            clock.now += timedelta(minutes=1)
            card = await router.on_tick(reply.card_id, item.id, "U9", True)
    assert card is not None and card.checklist is not None
    first = card.checklist.items[0]
    assert first.done and first.done_by == "U9" and first.done_at == "2026-01-05T09:01:00+00:00"
    assert next(i for i in card.checklist.items if i.is_unblock).enabled

    card = await router.on_tick(reply.card_id, unblock.id, "U7", True)
    assert card is not None and card.checklist is not None
    assert next(i for i in card.checklist.items if i.is_unblock).done

    # Taking back a security step takes the unblock tick back too.
    card = await router.on_tick(reply.card_id, items[0].id, "U7", False)
    assert card is not None and card.checklist is not None
    again = next(i for i in card.checklist.items if i.is_unblock)
    assert not again.enabled and not again.done


async def test_share_posts_the_stored_card_without_the_button(router: Router) -> None:
    reply = await router.on_command(
        Command("slack", "C1", "U1", "ndr", "550 5.7.1 Unable to relay")
    )
    assert reply.card_id is not None
    shared = await router.on_share(reply.card_id)
    assert shared is not None and shared.visibility is Visibility.CHANNEL
    assert shared.card.title == reply.card.title and shared.card.actions == ()


class ExplodingDns(DnsClient):
    """A resolver with a bug in it: every query raises something that is not a DNS answer."""

    async def query(self, name: str, rdtype: str):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"bug while asking for {name}")


@pytest.fixture
def exploding_router(catalogue: Catalogue, clock: FakeClock) -> Router:
    dns = ExplodingDns([("127.0.0.1", 9)], timeout=0.2)
    return _router(catalogue, clock, dns, run_checks=True, commands=10)


async def test_a_check_that_crashes_still_gives_the_bounce_its_card(
    exploding_router: Router,
) -> None:
    text = (SAMPLES / "eop_spamhaus_postfix.txt").read_text()
    reply = await exploding_router.on_message(_message(text))
    assert reply is not None and reply.card.title
    assert reply.card.checks, "the card lists the checks it tried"
    for line in reply.card.checks:
        if line.target:  # a check that ran (not one skipped for a missing target)
            assert line.status == "unknown"
            assert "RuntimeError" in line.summary and "failed inside ndrbot" in line.summary


async def test_a_check_command_that_crashes_answers_unknown_not_silence(
    exploding_router: Router,
) -> None:
    reply = await exploding_router.on_command(
        Command("slack", "C1", "U1", "mailcheck", "contoso.com")
    )
    assert [line.name for line in reply.card.checks] == [
        "SPF",
        "DMARC",
        "DKIM",
        "MX",
        "Blocklists",
    ]
    assert {line.status for line in reply.card.checks} == {"unknown"}
    assert all("RuntimeError" in line.summary for line in reply.card.checks)


async def test_help_shows_commands_as_each_platform_types_them(router: Router) -> None:
    slack = (await router.on_command(Command("slack", "C1", "U2", "ndrbot", "help"))).card
    teams = (await router.on_command(Command("teams", "C1", "U2", "help", slash=False))).card
    assert "/mailcheck DOMAIN:" in slack.sections[0].text
    assert (
        "\nmailcheck DOMAIN:" in teams.sections[0].text
        and "/mailcheck" not in teams.sections[0].text
    )
    assert "alerts here:" in teams.sections[0].text
    assert "@ndrbot" in teams.sections[1].text and len(slack.sections) == 1
    assert not slack.steps  # commands are not "next steps"


async def test_recheck_runs_the_same_checks_fresh_and_says_what_changed(
    catalogue: Catalogue, clock: FakeClock, serve: Callable[..., LoopbackDns]
) -> None:
    server = serve({"contoso.test": [("TXT", "v=spf1 -all")]})
    dns = DnsClient([server.nameserver], timeout=0.5)
    router = _router(catalogue, clock, dns, run_checks=True, commands=10)
    reply = await router.on_command(
        Command("slack", "C1", "U1", "spfcheck", "contoso.test 203.0.113.5")
    )
    assert reply.card.checks[0].status == "fail"
    assert [a.kind for a in reply.card.actions] == [ActionKind.SHARE, ActionKind.RECHECK]
    server.zone["contoso.test"] = [("TXT", "v=spf1 ip4:203.0.113.5 -all")]  # someone fixed it
    clock.now += timedelta(minutes=3)
    assert reply.card_id is not None
    card = await router.on_recheck(reply.card_id, "U7")
    assert card is not None and card.checks[0].status == "pass"
    # A check card's header follows its lines: no red "fails" over a line that passes.
    assert card.tone is Tone.SUCCESS and card.summary == card.checks[0].summary
    assert card.recheck is not None and card.recheck.fixed
    assert card.recheck.changes == ("SPF for contoso.test now passes (was fail)",)
    assert (card.recheck.by, card.recheck.at) == ("U7", "2026-01-05T09:03:00+00:00")
    assert router.cards.load_card(reply.card_id) == card  # a later click starts from this


async def test_recheck_of_a_forgotten_card_or_one_without_checks_is_none(router: Router) -> None:
    assert await router.on_recheck("no-such-card", "U1") is None
    reply = await router.on_message(_message((SAMPLES / "exo_relay_old_layout.txt").read_text()))
    assert reply is not None and reply.card_id is not None
    assert not any(a.kind is ActionKind.RECHECK for a in reply.card.actions)  # checks were off
    assert await router.on_recheck(reply.card_id, "U1") is None


async def test_recheck_counts_against_the_rate_limit_and_says_when_to_try_again(
    catalogue: Catalogue, clock: FakeClock, serve: Callable[..., LoopbackDns]
) -> None:
    server = serve({"contoso.test": [("TXT", "v=spf1 -all")]})
    router = _router(catalogue, clock, DnsClient([server.nameserver]), run_checks=True, commands=2)
    reply = await router.on_command(Command("slack", "C1", "U1", "spfcheck", "contoso.test"))
    assert reply.card_id is not None
    first = await router.on_recheck(reply.card_id, "U1", "slack")
    assert first is not None and first.recheck is not None
    asked = len(server.log)
    refused = await router.on_recheck(reply.card_id, "U1", "slack")
    assert refused is not None and refused.recheck is not None
    assert refused.recheck.changes[0].startswith("Not checked again: too many checks")
    assert refused.checks == first.checks and len(server.log) == asked  # nothing was asked


async def test_mailcheck_ends_with_the_postmaster_enrolment_checklist(
    catalogue: Catalogue, clock: FakeClock, serve: Callable[..., LoopbackDns]
) -> None:
    server = serve({"contoso.test": [("TXT", "v=spf1 -all")]})
    router = _router(catalogue, clock, DnsClient([server.nameserver]), run_checks=True, commands=5)
    reply = await router.on_command(Command("slack", "C1", "U1", "mailcheck", "contoso.test"))
    checklist = reply.card.checklist
    assert checklist is not None
    assert [i.id for i in checklist.items] == [
        "microsoft_snds_jmrp",
        "google_postmaster",
        "yahoo_sender_hub",
    ]
    text = " ".join(i.text for i in checklist.items)
    assert "0.3%" in text and "5.7.515 is about authentication" in text.replace("\n", " ")
    assert {link.url for link in reply.card.links} == {
        "https://sendersupport.olc.protection.outlook.com/snds/",
        "https://postmaster.google.com/",
        "https://senders.yahooinc.com/",
    }
    assert reply.card_id is not None
    ticked = await router.on_tick(reply.card_id, "google_postmaster", "U1", True)
    assert ticked is not None and ticked.checklist is not None
    assert [i.done for i in ticked.checklist.items] == [False, True, False]


async def test_taking_an_alert_says_who_and_the_first_click_wins(router: Router) -> None:
    alert = Card("203.0.113.5: listed on Spamhaus ZEN", Tone.ERROR, id="alert-1")
    router.cards.save_card("alert-1", alert)
    taken = await router.on_take("alert-1", "U7")
    assert taken is not None and (taken.taken_by, taken.taken_at) == (
        "U7",
        "2026-01-05T09:00:00+00:00",
    )
    again = await router.on_take("alert-1", "U8")
    assert again is not None and again.taken_by == "U7"
    assert await router.on_take("gone", "U7") is None


async def test_every_click_s_database_work_runs_where_the_server_says(
    catalogue: Catalogue, clock: FakeClock
) -> None:
    """A server keeps database work off the event loop that acknowledges requests (each write a
    round trip to PostgreSQL): the router does every card read and write through ``offload``."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker")
    loop = asyncio.get_running_loop()

    async def offload(work: Callable[[], object]) -> object:
        return await loop.run_in_executor(worker, work)

    router = _router(catalogue, clock, DnsClient([("127.0.0.1", 9)], timeout=0.2),
                     run_checks=False, commands=10)  # fmt: skip
    router.offload = offload  # type: ignore[assignment]
    calls: list[tuple[str, str]] = []
    for name in ("save_card", "load_card", "ticks", "set_tick", "cards_at"):
        method = getattr(router.cards, name)

        def recording(
            *args: object, _name: str = name, _method: Callable[..., object] = method
        ) -> object:
            calls.append((_name, threading.current_thread().name))
            return _method(*args)

        setattr(router.cards, name, recording)

    reply = await router.on_message(
        _message((SAMPLES / "restricted_sender_quoted.txt").read_text())
    )
    assert reply is not None and reply.card_id and reply.card.checklist is not None
    first = reply.card.checklist.items[0]
    ticked = await router.on_tick(reply.card_id, first.id, "U9", True)
    assert ticked is not None and ticked.checklist is not None and ticked.checklist.items[0].done
    assert await router.on_share(reply.card_id) is not None
    assert await router.on_take(reply.card_id, "U9") is not None
    assert await router.on_recheck(reply.card_id, "U9", "slack") is None  # no DNS plan kept
    await router.cases_here(Command("slack", "C1", "U9", "ndr", "cases"))
    worker.shutdown()
    names = {name for name, _ in calls}
    assert {"save_card", "load_card", "ticks", "set_tick", "cards_at"} <= names
    assert all(thread.startswith("worker") for _, thread in calls), calls
