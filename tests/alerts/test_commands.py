"""``/ndrwatch`` and ``/ndrbot alerts here`` through the real router: administrators only for
changes (a clear refusal otherwise), every change recorded with who and when."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.alerts import Alerts
from handlers.checks import DnsClient
from handlers.events import Command
from handlers.limits import RateLimiter
from handlers.router import Router
from knowledge import Catalogue
from tests.alerts.conftest import FakeClock


@pytest.fixture
def alerts(alerts_factory: Callable[..., Alerts]) -> Alerts:
    return alerts_factory()


@pytest.fixture
def router(alerts: Alerts, catalogue: Catalogue, clock: FakeClock) -> Router:
    return Router(
        catalogue=catalogue,
        dns=DnsClient([("127.0.0.1", 9)], timeout=0.2),
        seen=alerts.chat,
        cards=alerts.chat,
        clock=clock,
        limiter=RateLimiter(clock, capacity=100, per_minute=100),
        max_paste_bytes=64 * 1024,
        run_checks=False,
        watches=alerts.watch_commands,
        alerts_here=alerts.alerts_here,
        observe=alerts.observe,
    )


async def say(router: Router, args: str, *, admin: bool, name: str = "ndrwatch") -> str:
    user = "UADMIN" if admin else "UHELPDESK"
    reply = await router.on_command(Command("slack", "CIT", user, name, args, is_admin=admin))
    return f"{reply.card.title}: {reply.card.summary}"


async def test_an_admin_adds_lists_and_removes_and_each_change_is_recorded(
    router: Router, alerts: Alerts, clock: FakeClock
) -> None:
    assert (await say(router, "add domain Contoso.COM", admin=True)).startswith(
        "Watching domain contoso.com:"
    )
    clock.advance(30)
    assert (await say(router, "add 203.0.113.5", admin=True)).startswith("Watching ip 203.0.113.5")
    listing = await router.on_command(Command("slack", "CIT", "UHELPDESK", "ndrwatch", "list"))
    assert [f.label for f in listing.card.facts] == ["#1 domain contoso.com", "#2 ip 203.0.113.5"]
    assert "added by slack:UADMIN on 2026-03-02" in listing.card.facts[0].value
    clock.advance(30)
    assert (await say(router, "remove domain contoso.com", admin=True)).startswith(
        "Stopped watching domain contoso.com"
    )
    assert [w.label for w in alerts.store.watches()] == ["ip 203.0.113.5"]
    removed = alerts.store.watch(1)
    assert removed is not None and removed.removed_by == "slack:UADMIN"
    assert removed.removed_at == clock()
    assert [
        (at.strftime("%H:%M:%S"), who, action, subject)
        for at, who, action, subject in reversed(alerts.store.audit_log())
    ] == [
        ("09:00:00", "slack:UADMIN", "watch.add", "domain contoso.com"),
        ("09:00:30", "slack:UADMIN", "watch.add", "ip 203.0.113.5"),
        ("09:01:00", "slack:UADMIN", "watch.remove", "domain contoso.com"),
    ]


@pytest.mark.parametrize(
    "args", ["add domain contoso.com", "remove ip 203.0.113.5", "add 192.0.2.1"]
)
async def test_everyone_else_is_refused_clearly_and_nothing_changes(
    router: Router, alerts: Alerts, args: str
) -> None:
    answer = await say(router, args, admin=False)
    assert answer.startswith("Administrators only: Only ndrbot administrators can add or remove")
    assert "NDRBOT_ADMINS" in answer and "/ndrwatch list" in answer
    assert alerts.store.watches() == []
    ((_at, who, action, _subject),) = alerts.store.audit_log()
    assert who == "slack:UHELPDESK" and action.endswith(".refused")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("", "Usage: /ndrwatch add domain DOMAIN"),
        ("frobnicate", "I do not know 'frobnicate'"),
        ("add domain not_a domain", "is not a valid domain name"),
        ("add domain lee@contoso.com", "looks like an e-mail address"),
        ("add ip 10.1.2.3", "internal address"),
        ("add ip 999.1.1.1", "is not an IPv4 or IPv6 address"),
        ("remove domain nothing.example", "is not on the watch list"),
    ],
)
async def test_mistakes_get_a_sentence_that_says_what_to_type(
    router: Router, args: str, says: str
) -> None:
    assert says in await say(router, args, admin=True)


async def test_adding_twice_names_who_added_it_first(router: Router) -> None:
    await say(router, "add domain contoso.com", admin=True)
    again = await say(router, "add domain contoso.com", admin=True)
    assert again.startswith("Already watched") and "slack:UADMIN" in again


async def test_alerts_here_is_for_admins_and_moves_the_alerts(
    router: Router, alerts: Alerts
) -> None:
    assert alerts.destinations() == (("slack", "CALERTS"),)  # NDRBOT_ALERT_SLACK_CHANNEL
    refused = await say(router, "alerts here", admin=False, name="ndrbot")
    assert refused.startswith("Administrators only") and "move the alerts" in refused
    assert alerts.destinations() == (("slack", "CALERTS"),)
    assert (await say(router, "alerts here", admin=True, name="ndrbot")).startswith(
        "Alerts will be posted here"
    )
    assert alerts.destinations() == (("slack", "CIT"),)
    actions = [(who, action, subject) for _at, who, action, subject in alerts.store.audit_log()]
    assert actions[:2] == [
        ("slack:UADMIN", "alerts.here", "slack:CIT"),
        ("slack:UHELPDESK", "alerts.here.refused", "slack:CIT"),
    ]
