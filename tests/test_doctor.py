"""``ndrbot doctor``: each problem an operator can have is found, named, and given its fix, against
the loopback DNS server, the fake Slack Web API and a real SQLite file."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli_chat import _first_run
from bot.doctor import Finding, Verdict, exit_status
from bot.doctor.dns import check_dns
from bot.doctor.quick import StartupCheck
from bot.doctor.slack import check_slack
from bot.doctor.storage import check_storage, filesystem_of
from bot.settings import Settings
from bot.slack.scopes import BOT_SCOPES
from handlers.checks import DnsClient
from handlers.checks.dnsbl_lists import DEFAULT_IP_LISTS
from tests.dns.conftest import blocklist_zone, serve
from tests.dns.server import TRUTH_PROBE, Faults, LoopbackDns
from tests.fakes.slack_api import FakeSlackApi

__all__ = ["serve"]  # the loopback DNS fixture, used by name below

Serve = Callable[..., LoopbackDns]
TOKEN = "xoxb-doctor-token"


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def _dns(server: LoopbackDns) -> list[Finding]:
    return await check_dns(DnsClient([server.nameserver], timeout=0.5), TRUTH_PROBE)


async def test_an_honest_resolver_and_the_blocklists_pass(serve: Serve) -> None:
    found = await _dns(serve(blocklist_zone(list(DEFAULT_IP_LISTS))))
    assert {f.verdict for f in found} == {Verdict.PASS}
    assert sum(f.check.startswith("blocklist ") for f in found) == len(DEFAULT_IP_LISTS)


async def test_a_resolver_that_says_everything_is_missing_is_named_a_liar(serve: Serve) -> None:
    found = _by_check(await _dns(serve({}, Faults(nxdomain_everything=True))))
    lie = found["a name that exists resolves"]
    assert lie.verdict is Verdict.FAIL and "it lies" in lie.found
    assert "NDRBOT_NAMESERVERS" in lie.fix
    assert found["blocklists"].verdict is Verdict.SKIPPED


async def test_a_resolver_that_invents_addresses_is_named(serve: Serve) -> None:
    zone = blocklist_zone(list(DEFAULT_IP_LISTS))
    zone["*.invalid"] = [("A", "192.0.2.99")]  # NXDOMAIN hijacking: an ad page's address
    found = _by_check(await _dns(serve(zone)))
    invented = found["a name that cannot exist is NXDOMAIN"]
    assert invented.verdict is Verdict.FAIL and "rewrites answers" in invented.found


async def test_spamhaus_refusing_a_public_resolver_is_explained(serve: Serve) -> None:
    zone = blocklist_zone(list(DEFAULT_IP_LISTS))
    zone["2.0.0.127.zen.spamhaus.org"] = [("A", "127.255.255.254")]
    zone["*.zen.spamhaus.org"] = [("A", "127.255.255.254")]
    found = await _dns(serve(zone))
    (spamhaus,) = [f for f in found if f.check == "blocklist Spamhaus ZEN"]
    assert spamhaus.verdict is Verdict.FAIL
    assert "public or open resolver" in spamhaus.found
    assert "NDRBOT_SPAMHAUS_DQS_KEY" in spamhaus.fix
    assert [f for f in found if f.verdict is Verdict.FAIL] == [spamhaus]


def test_an_sqlite_file_on_a_network_filesystem_is_refused(tmp_path: Path) -> None:
    mounts = f"server:/export {tmp_path} nfs4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"
    assert filesystem_of(str(tmp_path / "x"), mounts) == "nfs4"
    (finding,) = check_storage(str(tmp_path / "ndrbot.sqlite3"), mounts=mounts)
    assert finding.verdict is Verdict.FAIL and "network filesystem (nfs4)" in finding.found
    assert "PostgreSQL" in finding.fix


def test_a_local_database_opens_takes_a_write_and_is_migrated(tmp_path: Path) -> None:
    path = str(tmp_path / "state" / "ndrbot.sqlite3")
    first = _by_check(check_storage(path, mounts="/dev/sda1 / ext4 rw 0 0\n"))
    assert {f.verdict for f in first.values()} == {Verdict.PASS}
    assert "to apply at the next start: chat-0001" in first["migrations current"].found
    again = _by_check(check_storage(path, mounts=""))  # the doctor changed nothing
    assert "to apply at the next start: chat-0001" in again["migrations current"].found
    from bot.store import open_database
    from bot.store.chat import ChatStore

    ChatStore(open_database(path)).db.close()  # as ndrbot serve starts
    after = _by_check(check_storage(path, mounts=""))
    assert "chat-0001" not in after["migrations current"].found


def test_a_database_that_cannot_be_written_is_a_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    found = check_storage(str(blocker / "ndrbot.sqlite3"), mounts="")
    assert found[-1].verdict is Verdict.FAIL and "NDRBOT_DB" in found[-1].fix


async def _slack(api: FakeSlackApi, **changes: object) -> dict[str, Finding]:
    settings = Settings(
        slack_bot_token=TOKEN, slack_signing_secret="s3cret", slack_api_url=api.api_url
    ).with_overrides(**changes)
    return _by_check(await check_slack(settings, datetime.now(UTC)))


async def test_slack_token_scopes_and_clock_are_checked() -> None:
    async with FakeSlackApi(token=TOKEN, scopes=tuple(BOT_SCOPES)) as api:
        found = await _slack(api)
    assert found["bot token"].verdict is Verdict.PASS
    assert found["scopes"].verdict is Verdict.PASS
    assert found["mode"].found.startswith("HTTP")
    assert found["clock"].verdict is Verdict.PASS


async def test_a_missing_scope_is_named_with_what_breaks_without_it() -> None:
    granted = tuple(s for s in BOT_SCOPES if s != "channels:history")
    async with FakeSlackApi(token=TOKEN, scopes=granted) as api:
        found = await _slack(api)
    scopes = found["scopes"]
    assert scopes.verdict is Verdict.FAIL
    assert "channels:history (bounces pasted in public channels are never seen)" in scopes.found
    assert "reinstall" in scopes.fix


async def test_a_clock_off_by_minutes_is_a_warning() -> None:
    async with FakeSlackApi(token=TOKEN, scopes=tuple(BOT_SCOPES), clock_offset=600) as api:
        found = await _slack(api)
    clock = found["clock"]
    assert clock.verdict is Verdict.WARN
    seconds = int(re.search(r"clock is (\d+) s away", clock.found).group(1))  # type: ignore[union-attr]
    assert 590 <= seconds <= 610  # Slack's Date header has whole seconds


async def test_a_wrong_token_is_a_failure_and_never_shown() -> None:
    async with FakeSlackApi(token="xoxb-the-right-one") as api:
        found = await _slack(api)
    token = found["bot token"]
    assert token.verdict is Verdict.FAIL and "invalid_auth" in token.found
    assert TOKEN not in json.dumps([f.__dict__ for f in found.values()], default=str)


@pytest.mark.parametrize("lying", [False, True], ids=["honest", "lying"])
def test_ndrbot_doctor_exits_by_what_it_found_and_never_prints_the_dqs_key(
    serve: Serve, tmp_path: Path, lying: bool
) -> None:
    faults = Faults(nxdomain_everything=True) if lying else None
    key = "dqs-key-that-must-not-show"
    # With a DQS key, Spamhaus is asked through its DQS zone, as the checks ask it.
    zones = [*DEFAULT_IP_LISTS, f"{key}.zen.dq.spamhaus.net"]
    server = serve(blocklist_zone(zones), faults)
    ip, port = server.nameserver
    env = {
        **os.environ,
        "NDRBOT_NAMESERVERS": f"{ip}:{port}",
        "NDRBOT_DNS_TIMEOUT": "0.5",
        "NDRBOT_DB": str(tmp_path / "ndrbot.sqlite3"),
        "NDRBOT_SPAMHAUS_DQS_KEY": key,
        "NDRBOT_ALERT_SLACK_CHANNEL": "C0ALERTS",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert "dqs-key-that-must-not-show" not in done.stdout + done.stderr
    if not lying:  # asked the way the checks ask: through the DQS zone
        assert any(name.endswith(f"{key}.zen.dq.spamhaus.net") for name, _t, _p in server.log)
    report = json.loads(done.stdout)
    assert done.returncode == (1 if lying else 0), done.stdout
    assert report["ok"] is not lying
    failed = [f["check"] for f in report["findings"] if f["verdict"] == "fail"]
    assert failed == (["a name that exists resolves"] if lying else [])
    verdicts = [Verdict(f["verdict"]) for f in report["findings"]]
    assert exit_status([Finding("x", "y", v, "") for v in verdicts]) == done.returncode


@pytest.mark.parametrize("lying", [False, True], ids=["honest", "lying"])
async def test_serve_logs_each_start_up_problem_once_with_its_fix(
    serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture, lying: bool
) -> None:
    server = serve({}, Faults(nxdomain_everything=True) if lying else None)
    settings = Settings(nameservers=(server.nameserver,), db_path=str(tmp_path / "ndrbot.sqlite3"))
    check = StartupCheck(settings)
    with caplog.at_level(logging.WARNING, logger="ndrbot.doctor"):
        await check.start()
        assert check._task is not None
        await check._task
        await check.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "ndrbot.doctor"]
    if not lying:
        assert messages == []
        return
    (message,) = messages
    assert "a name that exists resolves" in message and "fix: set NDRBOT_NAMESERVERS" in message


def test_the_console_opens_with_what_is_configured_and_what_to_fix(serve: Serve) -> None:
    liar = serve({}, Faults(nxdomain_everything=True))
    block = _first_run(Settings(nameservers=(liar.nameserver,), db_path=":memory:"), checks=True)
    lines = block.strip().splitlines()
    assert lines[0] == "Configured: no chat platform yet (this console needs none)."
    assert lines[1].startswith("FAIL: a name that exists resolves")
    assert lines[-1] == "Next: `ndrbot doctor` says what to fix."
    honest = serve({})
    fine = _first_run(Settings(nameservers=(honest.nameserver,), db_path=":memory:"), checks=True)
    assert fine.strip().endswith("DNS and storage look fine.")


@pytest.mark.parametrize("good", [True, False], ids=["right", "wrong"])
async def test_socket_mode_needs_an_app_token_that_opens_a_connection(good: bool) -> None:
    async with FakeSlackApi(token=TOKEN, app_token="xapp-1-right", scopes=tuple(BOT_SCOPES)) as api:
        found = await _slack(
            api, slack_signing_secret=None, slack_app_token="xapp-1-right" if good else "xapp-1-no"
        )
    mode = found["mode"]
    assert mode.verdict is (Verdict.PASS if good else Verdict.FAIL)
    assert ("opens a connection" in mode.found) if good else ("invalid_auth" in mode.found)
