"""Cases: a delisting request marked sent is followed up in its card's thread, exactly once per
step, across a restart; ``/ndr cases`` lists what the channel is still waiting on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts import Alerts
from handlers.cases import FOLLOW_AT_MOST, REMIND_AFTER, Case, Listing, next_step
from handlers.checks import DnsClient
from handlers.events import Command, Message
from handlers.limits import RateLimiter
from handlers.router import Router
from knowledge import Catalogue
from tests.alerts.conftest import FakeClock, RecordingPoster
from tests.dns.conftest import blocklist_zone, client_for
from tests.dns.server import LoopbackDns

IP = "192.0.2.80"
LISTING = "80.2.0.192.zen.spamhaus.org"
SAMPLES = Path(__file__).resolve().parents[1] / "ndr" / "samples"
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _case(**changes: object) -> Case:
    base = dict(
        card_id="c1",
        platform="slack",
        conversation="C0HELP",
        thread="1700.1",
        route="spamhaus_removal",
        title="Ask Spamhaus to remove the listing",
        ip=IP,
        domain="contoso.com",
        zone="zen.spamhaus.org",
        opened_by="U0PAT",
        opened_at=OPENED,
        id=7,
    )
    return Case(**{**base, **changes})  # type: ignore[arg-type]


def test_a_listed_case_is_reminded_once_after_two_days_and_closed_when_clear() -> None:
    case = _case()
    early = next_step(case, OPENED + timedelta(hours=1), Listing.LISTED)
    assert early.message is None and not early.closed and early.next_check is not None
    late = OPENED + REMIND_AFTER + timedelta(minutes=1)
    remind = next_step(case, late, Listing.LISTED)
    assert remind.kind == "reminder" and remind.reminded and remind.message is not None
    assert f"{IP} is still listed on zen.spamhaus.org, 48 hours" in remind.message.summary
    again = next_step(_case(reminded=True), late + timedelta(hours=1), Listing.LISTED)
    assert again.message is None  # said once
    # An answer that cannot be trusted concludes nothing: no "cleared"; the reminder says so.
    unsure = next_step(case, late, Listing.UNKNOWN)
    assert unsure.kind == "reminder" and not unsure.closed and unsure.message is not None
    assert "could not ask zen.spamhaus.org" in unsure.message.summary
    early_unsure = next_step(case, OPENED + timedelta(hours=1), Listing.UNKNOWN)
    assert early_unsure.message is None and not early_unsure.closed
    ended = next_step(_case(reminded=True), OPENED + FOLLOW_AT_MOST, Listing.UNKNOWN)
    assert ended.kind == "ended" and ended.closed and ended.message is not None
    cleared = next_step(case, OPENED + timedelta(hours=3), Listing.CLEAR)
    assert cleared.kind == "cleared" and cleared.closed and cleared.next_check is None
    assert cleared.message is not None and cleared.message.title.startswith(f"Cleared: {IP}")


def test_a_request_no_list_can_confirm_gets_one_reminder_and_ends() -> None:
    case = _case(route="microsoft_banned_ip", zone="", title="Ask Microsoft 365 to delist")
    waiting = next_step(case, OPENED + timedelta(hours=2), None)
    assert waiting.message is None and waiting.next_check == OPENED + REMIND_AFTER
    remind = next_step(case, OPENED + REMIND_AFTER, None)
    assert remind.kind == "reminder" and remind.next_check is None and remind.closed
    assert remind.message is not None and "If mail still bounces" in remind.message.summary


def _router(alerts: Alerts, catalogue: Catalogue, clock: FakeClock) -> Router:
    return Router(
        catalogue=catalogue,
        dns=DnsClient([("127.0.0.1", 9)], timeout=0.2),
        seen=alerts.chat,
        cards=alerts.chat,
        clock=clock,
        limiter=RateLimiter(clock, capacity=5, per_minute=5),
        max_paste_bytes=256 * 1024,
        run_checks=False,
        cases=alerts.case_book,
    )


async def _follow(alerts: Alerts, server: LoopbackDns, clock: FakeClock, hours: float) -> int:
    clock.advance(hours * 3600)
    alerts.dns = client_for(server, timeout=0.3)
    return await alerts.follow_cases()


async def test_a_case_is_followed_in_the_cards_thread_exactly_once_across_a_restart(
    serve: Callable[..., LoopbackDns],
    alerts_factory: Callable[..., Alerts],
    catalogue: Catalogue,
    clock: FakeClock,
) -> None:
    server = serve(blocklist_zone(["zen.spamhaus.org"], {LISTING: ["127.0.0.4"]}))
    poster = RecordingPoster()
    alerts = alerts_factory(posters={"slack": poster})
    router = _router(alerts, catalogue, clock)
    text = (SAMPLES / "eop_spamhaus_postfix.txt").read_text(encoding="utf-8")
    reply = await router.on_message(Message("slack", "C0HELP", "1700.1", "U0PAT", text))
    assert reply is not None and reply.card_id
    await router.on_delist_sent(
        reply.card_id, "U0PAT", platform="slack", conversation="C0HELP", thread="1700.1"
    )
    # Marked twice (a second click): still one case.
    await router.on_delist_sent(
        reply.card_id, "U0BOB", platform="slack", conversation="C0HELP", thread="1700.1"
    )
    (case,) = alerts.store.open_cases("slack", "C0HELP")
    assert (case.ip, case.zone, case.opened_by) == (IP, "zen.spamhaus.org", "U0PAT")
    listed = await router.on_command(Command("slack", "C0HELP", "U0PAT", "ndr", "cases"))
    assert listed.card.title.startswith("Open here: 1 delisting request(s)")
    assert f"{IP}: Ask Spamhaus to remove the listing" in [s.title for s in listed.card.sections]

    assert await _follow(alerts, server, clock, 0) == 0  # still listed, too early to remind
    assert await _follow(alerts, server, clock, 49) == 1  # two days on: one reminder
    assert await alerts.deliver_once() == 1
    (reminder,) = poster.posts
    assert reminder.thread == "1700.1" and reminder.target == "C0HELP"
    assert reminder.card.title == f"Reminder: delisting of {IP}"
    alerts.store.db.close()

    poster = RecordingPoster()
    again = alerts_factory(posters={"slack": poster})  # a restart: nothing is said twice
    assert await _follow(again, server, clock, 1) == 0
    del server.zone[LISTING]
    assert await _follow(again, server, clock, 1) == 1
    assert await again.deliver_once() == 1
    (cleared,) = poster.posts
    assert cleared.thread == "1700.1" and cleared.card.title.startswith(f"Cleared: {IP}")
    assert again.store.open_cases("slack", "C0HELP") == []
    assert await _follow(again, server, clock, 5) == 0
    router = _router(again, catalogue, clock)
    empty = await router.on_command(Command("slack", "C0HELP", "U0PAT", "ndr", "cases"))
    assert empty.card.title == "Nothing open here"


async def test_a_resolver_that_cannot_be_trusted_never_clears_a_case(
    serve: Callable[..., LoopbackDns],
    alerts_factory: Callable[..., Alerts],
    catalogue: Catalogue,
    clock: FakeClock,
) -> None:
    server = serve({})  # answers NXDOMAIN for everything, the list's test entry included
    alerts = alerts_factory(posters={"slack": RecordingPoster()})
    assert alerts.store.open_case(_case(opened_at=clock()))
    assert await _follow(alerts, server, clock, 0.6) == 0  # no "cleared"
    assert await _follow(alerts, server, clock, 60) == 1  # the reminder says it could not ask
    assert len(alerts.store.open_cases("slack", "C0HELP")) == 1
