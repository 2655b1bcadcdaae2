"""``ndrbot watch ...`` and ``ndrbot ingest PATH`` in-process, against the loopback DNS server and
a database file: what the operator reads, and what the server would then deliver."""

from __future__ import annotations

import argparse
import mailbox
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import cli_watch
from bot.settings import Settings
from bot.store import open_database
from bot.store.alerts import AlertStore
from tests.alerts import zones
from tests.dns.server import LoopbackDns

SAMPLES = Path(__file__).parents[1] / "ndr" / "samples"
NOT_A_BOUNCE = (
    b"From: lee@contoso.test\nSubject: lunch\nDate: Mon, 2 Mar 2026 09:00:00 +0000\n\nNoon?\n"
)


def ndrbot(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ndrbot")
    cli_watch.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args, settings))


@pytest.fixture
def settings(database_target: str) -> Settings:
    """The CLI on SQLite, then on PostgreSQL (``NDRBOT_DB`` a URL)."""
    return Settings(
        db_path=database_target,
        alert_slack_channel="CALERTS",
        nameservers=(("127.0.0.1", 9),),
        dns_timeout=0.3,
    )


def store(settings: Settings) -> AlertStore:
    return AlertStore(open_database(settings.db_path))


def test_add_list_remove_are_recorded_as_the_os_user(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ndrbot(settings, "watch", "add", "domain", "Contoso.com", "s1") == 0
    assert "Watching domain contoso.com" in capsys.readouterr().out
    assert ndrbot(settings, "watch", "add", "ip", "203.0.113.5") == 0
    assert ndrbot(settings, "watch", "add", "domain", "contoso.com") == 1
    assert "Already watched" in capsys.readouterr().out
    assert ndrbot(settings, "watch", "list") == 0
    listing = capsys.readouterr().out
    assert "#1 domain contoso.com" in listing and "#2 ip 203.0.113.5" in listing
    assert ndrbot(settings, "watch", "remove", "ip", "203.0.113.5") == 0
    assert ndrbot(settings, "watch", "add", "ip", "not-an-ip") == 2
    assert "not an IPv4 or IPv6 address" in capsys.readouterr().err
    log = store(settings).audit_log()
    assert {who for _at, who, _a, _s in log} == {cli_watch.cli_user()}
    assert [action for _at, _who, action, _s in reversed(log)] == [
        "watch.add",
        "watch.add",
        "watch.remove",
    ]
    assert store(settings).watches()[0].selectors == ("s1",)


def test_run_once_checks_every_watch_now_and_queues_what_changed(
    settings: Settings,
    serve: Callable[..., LoopbackDns],
    capsys: pytest.CaptureFixture[str],
) -> None:
    zone = zones.clean_ip()
    zone[zones.LISTING] = [("A", "127.0.0.2")]
    server = serve(zone)
    settings = settings.with_overrides(nameservers=(server.nameserver,))
    ndrbot(settings, "watch", "add", "ip", zones.IP)
    capsys.readouterr()
    assert ndrbot(settings, "watch", "run-once") == 0
    out = capsys.readouterr().out
    assert "Checked 1 watch(es); 1 new alert(s)." in out
    assert "203.0.113.5: listed on Spamhaus ZEN" in out
    assert "1 waiting for `ndrbot serve` to deliver" in out
    assert ndrbot(settings, "watch", "run-once") == 0  # nothing changed: nothing new
    assert "Checked 1 watch(es); 0 new alert(s)." in capsys.readouterr().out


def test_ingest_reads_a_file_an_mbox_and_a_maildir(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bounce = (SAMPLES / "banned_ip_postfix.eml").read_bytes()
    single = tmp_path / "one.eml"
    single.write_bytes(bounce)
    assert ndrbot(settings, "ingest", str(single)) == 0
    assert "one.eml: diagnosed exo_banned_sending_ip (intake #1)" in capsys.readouterr().out

    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for n in range(3):
        box.add(bounce.replace(b"09:10:05", f"09:2{n}:05".encode()))
    box.add(NOT_A_BOUNCE)
    box.flush()
    assert ndrbot(settings, "ingest", str(tmp_path / "bounces.mbox")) == 1
    out = capsys.readouterr().out
    assert "bounces.mbox#4: unreadable" in out
    assert "3 diagnosed, 1 unreadable" in out

    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(bounce.replace(b"09:10:05", b"09:30:05"))
    assert ndrbot(settings, "ingest", str(tmp_path / "Maildir")) == 0
    assert "1 diagnosed" in capsys.readouterr().out

    kept = store(settings)
    assert kept.intake(5)["raw"] == NOT_A_BOUNCE  # type: ignore[index]
    # The mbox's unreadable message gave one alert for the run, not one per message; the
    # bounces are from March 2025, so counting them made no trend alert in 2026.
    assert [kind for kind, _s, _c in kept.alerts()] == ["unreadable"]


def test_ingest_of_a_missing_path_says_so(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ndrbot(settings, "ingest", str(tmp_path / "nope.mbox")) == 2
    assert "does not exist" in capsys.readouterr().err
