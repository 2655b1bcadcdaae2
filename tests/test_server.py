"""ndrbot serve, as wired by the composition root: one aiohttp app with Teams, the intake and the
alert workers. A scenario from a Teams channel to a proactive alert, with the real adapter, the
real alerts and the real router, a loopback DNS server and a fake Bot Framework connector."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.alerts import Alerts
from bot.server import Server, build_server
from bot.settings import Settings, SettingsError
from bot.teams import TeamsIntegration
from handlers.checks import DnsClient
from handlers.events import Command
from tests.alerts import zones
from tests.dmarc.build import Row, report_xml
from tests.dns.conftest import serve
from tests.dns.server import LoopbackDns
from tests.fakes.teams_connector import FakeTeamsConnector, fake_teams_connector
from tests.teams.conftest import ADMIN_AAD, load_activity

__all__ = ["fake_teams_connector", "serve"]  # fixtures, used by name

CHANNEL = "19:c6e4b3a0f1d24b0e9a7f2c3d4e5f6a7b@thread.tacv2"


def _settings(tmp_path: Path, dns: LoopbackDns, **changes: object) -> Settings:
    base = Settings(
        db_path=str(tmp_path / "ndrbot.sqlite3"),
        nameservers=(dns.nameserver,),
        dns_timeout=0.5,
        check_deadline=5.0,
        admins=(ADMIN_AAD,),
        intake_token="intake-secret",
    )
    return base.with_overrides(**changes)


async def _say_in_channel(
    client: TestClient, server: Server, url: str, text: str, message_id: str
) -> None:
    """``text`` said to ndrbot in the Teams channel; returns once it has been answered."""
    activity = load_activity(
        "channel_mention_command",
        url,
        id=message_id,
        text=f"<at>ndrbot</at> {text}",
        attachments=[],
    )
    activity["conversation"]["id"] = f"{CHANNEL};messageid={message_id}"
    response = await client.post("/api/messages", json=activity)
    assert response.status == 200, await response.text()
    teams = server.parts["teams"]
    assert isinstance(teams, TeamsIntegration)
    await teams.idle()  # acknowledged at once; the answer follows


def test_teams_refuses_to_run_unauthenticated_off_loopback(
    tmp_path: Path, serve: Callable[..., LoopbackDns]
) -> None:
    settings = _settings(tmp_path, serve({}), host="0.0.0.0")
    with pytest.raises(SettingsError, match="MICROSOFT_APP_ID"):
        build_server(settings)
    assert not (tmp_path / "ndrbot.sqlite3").exists()  # refused before anything was opened


async def test_from_a_teams_channel_to_a_proactive_alert(
    tmp_path: Path,
    serve: Callable[..., LoopbackDns],
    fake_teams_connector: FakeTeamsConnector,
) -> None:
    dns = serve(copy.deepcopy(zones.healthy_domain()))
    server = build_server(_settings(tmp_path, dns))
    alerts = server.parts["alerts"]
    url = fake_teams_connector.service_url

    async def say(text: str, message_id: str) -> None:
        await _say_in_channel(client, server, url, text, message_id)

    async with TestClient(TestServer(server.app, host="127.0.0.1")) as client:
        health = await (await client.get("/healthz")).json()
        assert health == {"status": "ok", "parts": ["alerts", "dmarc", "startup-check", "teams"]}

        await say("ndrbot alerts here", "1763630020001")
        await say(f"ndrwatch add domain {zones.DOMAIN}", "1763630020002")
        replies = [call.card for call in fake_teams_connector.calls if call.card is not None]
        assert len(replies) == 2  # each command answered in its thread

        await alerts.run_once()  # the baseline: a healthy domain raises nothing
        zones.spf_over_the_limit(dns.zone)
        alerts.dns = DnsClient([dns.nameserver], timeout=0.5)  # a fresh cache: the edit shows
        report = await alerts.run_once()
        assert report.alerts == 1

        sent = []
        for _ in range(100):  # the outbox worker runs in the background; give it a moment
            sent = [c for c in fake_teams_connector.calls if c.kind == "send"]
            if sent:
                break
            await asyncio.sleep(0.05)
        await alerts.deliver_once()  # and if it has not yet, deliver now (at most once either way)
        sent = [c for c in fake_teams_connector.calls if c.kind == "send"]
        assert len(sent) == 1
        assert sent[0].conversation_id == CHANNEL
        text = str(sent[0].card)
        assert zones.DOMAIN in text and "SPF" in text

        intake = await client.post(
            "/api/ndr",
            data=b"550 5.7.1 Unable to relay",
            headers={"Authorization": "Bearer intake-secret", "Content-Type": "text/plain"},
        )
        assert intake.status == 200
        assert (await intake.json())["family"] == "exo_unable_to_relay"


async def test_metrics_are_off_by_default_and_behind_the_token_when_on(
    tmp_path: Path, serve: Callable[..., LoopbackDns]
) -> None:
    dns = serve(copy.deepcopy(zones.healthy_domain()))
    off = build_server(_settings(tmp_path, dns))
    async with TestClient(TestServer(off.app, host="127.0.0.1")) as client:
        assert (await client.get("/metrics")).status == 404

    token = "metrics-token-0123456789"
    on = build_server(
        _settings(tmp_path, dns, metrics=True, metrics_token=token, db_path=str(tmp_path / "m.db"))
    )
    bounce = (Path(__file__).parent / "ndr" / "samples" / "eop_spamhaus_postfix.txt").read_bytes()
    async with TestClient(TestServer(on.app, host="127.0.0.1")) as client:
        assert (await client.get("/metrics")).status == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        sent = await client.post(
            "/api/ndr",
            data=bounce,
            headers={"Authorization": "Bearer intake-secret", "Content-Type": "message/rfc822"},
        )
        assert sent.status == 200
        assert on.router is not None
        await on.router.on_command(Command("slack", "C1", "U1", "spfcheck", "contoso.test"))
        await on.services.dns.query("contoso.test", "TXT")
        await on.services.dns.query("5.113.0.203.zen.spamhaus.org", "A")
        scrape = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scrape.status == 200
        text = await scrape.text()
    assert 'ndrbot_requests_total{platform="intake",status="200"} 1.0' in text
    assert 'ndrbot_ack_seconds_count{platform="intake"} 1.0' in text
    resolver = f"{dns.nameserver[0]}:{dns.nameserver[1]}"
    assert f'ndrbot_dns_queries_total{{list="-",outcome="answered",resolver="{resolver}"}}' in text
    assert (
        f'ndrbot_dns_queries_total{{list="zen.spamhaus.org",outcome="nxdomain",resolver="{resolver}"}}'
        in text
    )
    assert "ndrbot_outbox_pending 0.0" in text
    assert 'ndrbot_cards_total{platform="slack"} 1.0' in text
    # Nothing pasted or secret is in what a scraper sees.
    assert "fabrikam" not in text and "intake-secret" not in text and token not in text


async def test_a_new_dmarc_sender_posted_to_api_dmarc_becomes_one_alert(
    tmp_path: Path, serve: Callable[..., LoopbackDns]
) -> None:
    now = int(time.time())
    server = build_server(
        _settings(tmp_path, serve({}), alert_slack_channel="C0ALERTS", dmarc_new_source_messages=50)
    )
    auth = {"Authorization": "Bearer intake-secret"}
    async with TestClient(TestServer(server.app, host="127.0.0.1")) as client:
        for ago in range(20, 1, -1):
            report = report_xml(
                [Row("40.107.22.51", 500)], report_id=f"d{ago}", begin=now - ago * 86400
            )
            response = await client.post("/api/dmarc", data=report, headers=auth)
            assert response.status == 200
        new = [Row("203.0.113.66", 80, dkim="fail", spf="fail")]
        for n in range(2):  # the same news twice
            report = report_xml(new, report_id=f"new{n}", begin=now - 86400 * (1 - n))
            assert (await client.post("/api/dmarc", data=report, headers=auth)).status == 200
        alerts = server.parts["alerts"]
        assert isinstance(alerts, Alerts)
        news = alerts.store.alerts("dmarc_new_source")
    assert [subject for _kind, subject, _card in news] == ["contoso.com 203.0.113.66"]


async def test_an_answer_s_card_is_made_and_saved_off_the_loop_that_acks(
    tmp_path: Path,
    serve: Callable[..., LoopbackDns],
    fake_teams_connector: FakeTeamsConnector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building a card and writing it to the database (PostgreSQL: a round trip) happen on the
    reader thread: the event loop that acknowledges every request never waits for them."""
    dns = serve(copy.deepcopy(zones.healthy_domain()))
    server = build_server(_settings(tmp_path, dns))
    chat = server.services.chat
    saved_on: list[str] = []
    save = chat.save_card

    def recording(card_id: str, card: object) -> None:
        saved_on.append(threading.current_thread().name)
        save(card_id, card)  # type: ignore[arg-type]

    monkeypatch.setattr(chat, "save_card", recording)
    url = fake_teams_connector.service_url
    async with TestClient(TestServer(server.app, host="127.0.0.1")) as client:
        await _say_in_channel(client, server, url, f"spfcheck {zones.DOMAIN}", "176363003000")
        bounce = "550 5.7.1 Unable to relay (in reply to RCPT TO)"
        await _say_in_channel(client, server, url, bounce, "176363003001")
    cards = [call.card for call in fake_teams_connector.calls if call.card is not None]
    assert len(cards) >= 2 and "SPF" in str(cards[0]) and "relay" in str(cards[-1]).lower()
    assert len(saved_on) == 2 and all(name.startswith("ndrbot-reader") for name in saved_on)
