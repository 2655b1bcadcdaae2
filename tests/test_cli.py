"""The ``ndrbot`` command as a user runs it: a real process, real files, stdin and exit codes."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).parent / "ndr" / "samples"
ROOT = Path(__file__).parents[1]
ENV = {
    **os.environ,
    "NDRBOT_DB": ":memory:",
    "NDRBOT_NAMESERVERS": "127.0.0.1:9",
    "NDRBOT_DNS_TIMEOUT": "0.2",
}


def ndrbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=False,
    )


def test_diagnose_json_one_object_per_input() -> None:
    files = [SAMPLES / "banned_ip_postfix.eml", SAMPLES / "chat_message.txt"]
    done = ndrbot("diagnose", "--json", "--no-checks", *map(str, files))
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["file"].endswith("banned_ip_postfix.eml")
    assert first["is_ndr"] is True and first["family"] == "exo_banned_sending_ip"
    assert (
        first["status"] == "5.7.606" and first["reply_code"] == "550" and first["permanent"] is True
    )
    assert first["sending_ip"] == "192.0.2.15"
    assert first["recipients"][0]["address"] == "kim@fabrikam.com"
    assert first["remote_mta"] == {
        "host": "fabrikam-com.mail.protection.outlook.com",
        "ip": "198.51.100.60",
    }
    assert "checks" not in first
    assert second["is_ndr"] is False and second["kind"] == "chat" and second["family"] is None
    assert second["status"] is None and second["recipients"] == []


def test_diagnose_reads_stdin_and_prints_a_readable_card() -> None:
    done = ndrbot("diagnose", "--no-checks", stdin="550 5.7.1 Client was not authenticated\n")
    assert done.returncode == 0
    assert re.search(r"Status +550 5\.7\.1", done.stdout)
    assert "Next steps:" in done.stdout


def test_diagnose_runs_the_variant_checks_and_says_unknown_when_dns_is_unreachable() -> None:
    done = ndrbot("diagnose", "--json", str(SAMPLES / "banned_ip_postfix.eml"))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    checks = {c["check"]: c for c in record["checks"]}
    assert checks, "the banned-IP variant calls for checks"
    assert all(c["status"] == "unknown" for c in checks.values())


def test_unreadable_input_exits_non_zero_and_says_why() -> None:
    done = ndrbot(
        "diagnose",
        "--json",
        "--no-checks",
        "/nonexistent/bounce.eml",
        str(SAMPLES / "chat_message.txt"),
    )
    assert done.returncode == 1
    assert "cannot read /nonexistent/bounce.eml" in done.stderr
    assert json.loads(done.stdout)["kind"] == "chat"  # the other input was still read


def test_bad_usage_exits_2() -> None:
    done = ndrbot("diagnose", "--nameserver", "not-an-ip", stdin="x")
    assert done.returncode == 2 and "--nameserver" in done.stderr


def test_chat_console_answers_pastes_and_commands() -> None:
    script = "550 5.1.8 Access denied, bad outbound sender\n.\n/tick 1\n/ndrbot help\n/quit\n"
    done = ndrbot("chat", "--no-checks", stdin=script)
    assert done.returncode == 0, done.stderr
    shown = " ".join(done.stdout.split())  # the console wraps long lines
    assert "Microsoft 365 has blocked this account from sending" in shown
    assert "[x] Reset the password" in shown
    assert "(not yet: finish the security steps first)" in shown
    assert "/spfcheck DOMAIN [IP]" in shown


def test_a_masked_ip_is_reported_hidden_and_its_checks_ask_for_the_real_one() -> None:
    done = ndrbot("diagnose", "--json", str(SAMPLES / "shapes" / "masked_ip_and_address.txt"))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["sending_ip"] is None and record["sending_ip_hidden"] == "xx.xx.xx.xx"
    assert record["recipients"][0]["address"] is None
    assert record["recipients"][0]["hidden_address"] == "***@***.***"
    blocklist = next(c for c in record["checks"] if c["check"] == "blocklist")
    assert blocklist["status"] == "unknown"
    assert "hides the sending IP" in blocklist["summary"]


def test_the_card_names_the_refusing_system_and_how_it_knows() -> None:
    paste = "host gmail-smtp-in.l.google.com[192.0.2.27] said: 550-5.7.26 SPF [contoso.com] with ip: [198.51.100.4] = did not pass 550 5.7.26 x1 - gsmtp"
    done = ndrbot("diagnose", "--no-checks", stdin=paste + "\n")
    assert done.returncode == 0, done.stderr
    assert re.search(r"Refusing system +Gmail / Google Workspace: its server name is", done.stdout)
    assert "contoso.com (the domain the receiver checked)" in done.stdout
    assert "198.51.100.4" in done.stdout


def test_chat_keeps_a_pasted_sessions_end_of_data_inside_the_paste() -> None:
    session = (
        "220 mx.example.org ESMTP\nHELO me.example.net\n250 mx.example.org\n"
        "MAIL FROM:<me@example.net>\n250 2.1.0 Ok\nRCPT TO:<you@example.org>\n250 2.1.5 Ok\n"
        "DATA\n354 End data with <CR><LF>.<CR><LF>\nSubject: test\n\nhello\n.\n"
        "550 5.7.1 Message rejected as spam by content filtering\n.\n/quit\n"
    )
    done = ndrbot("chat", "--no-checks", stdin=session)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Recipient +you@example\.org", done.stdout)
    assert re.search(r"Status +550 5\.7\.1", done.stdout)


_HEAVY = ("slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "dns", "asyncio")


def _loaded_after(
    code: str, heavy: tuple[str, ...] = _HEAVY, env: dict[str, str] | None = None
) -> list[str]:
    """The heavy top-level packages a fresh interpreter has loaded after running ``code``."""
    probe = (
        f"{code}\nimport sys\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    ).stdout
    return ast.literal_eval(out.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_chat_sdk_server_or_resolver() -> None:
    assert _loaded_after("import bot.cli") == []


def test_diagnose_without_checks_loads_no_chat_sdk_server_or_resolver() -> None:
    sample = SAMPLES / "eop_spamhaus_postfix.txt"
    code = f"from bot.cli import main; main(['diagnose', '--json', '--no-checks', {str(sample)!r}])"
    assert _loaded_after(code) == []


def test_a_second_start_reads_the_catalogue_without_parsing_yaml(tmp_path: Path) -> None:
    sample = SAMPLES / "eop_spamhaus_postfix.txt"
    code = f"from bot.cli import main; main(['diagnose', '--json', '--no-checks', {str(sample)!r}])"
    cache = {"XDG_CACHE_HOME": str(tmp_path)}
    assert _loaded_after(code, ("yaml",), cache) == ["yaml"]  # the first start parses it
    assert list((tmp_path / "ndrbot").glob("catalogue-*.json"))
    assert _loaded_after(code, ("yaml",), cache) == []  # later ones read the parse kept
    assert _loaded_after(code, ("yaml",), {"XDG_CACHE_HOME": "/proc/no-cache"}) == ["yaml"]


def test_chat_recheck_runs_the_last_cards_checks_again() -> None:
    script = "/recheck\n/spfcheck contoso.com 203.0.113.5\n/recheck\n/quit\n"
    done = ndrbot("chat", stdin=script)
    assert done.returncode == 0, done.stderr
    shown = " ".join(done.stdout.split())
    assert "There is nothing to re-check yet" in shown
    # The resolver here answers nothing, so the check stays unknown: said, not called a change.
    assert "Re-checked by" in shown and "SPF for contoso.com still could not be checked" in shown


def test_chat_delist_prints_the_prefilled_request_and_marks_it_sent() -> None:
    bounce = (
        "550 5.7.606 Access denied, banned sending IP [192.0.2.10]. To request removal from "
        "this list please visit https://sender.office.com/ and follow the directions.\n.\n"
    )
    script = "/delist\n" + bounce + "/delist\n/delist sent\n/quit\n"
    done = ndrbot("chat", stdin=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "No block to ask delisting for yet" in out
    assert "Ask Microsoft 365 to delist the IP address (sender.office.com)" in out
    assert "Sending IP address: 192.0.2.10" in out
    assert "Where: Microsoft 365 delist portal" in out and "https://sender.office.com/" in out
    assert "Delisting requested by" in out


def test_a_second_console_session_on_the_same_database_answers_its_pastes(tmp_path: Path) -> None:
    db = str(tmp_path / "ndrbot.sqlite3")
    paste = (SAMPLES / "eop_spamhaus_postfix.txt").read_text() + "\n.\n/quit\n"
    for session in ("first", "second"):  # the second's first paste must not look answered
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "chat"],
            input=paste,
            capture_output=True,
            text=True,
            env={**ENV, "NDRBOT_DB": db},
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "on a blocklist (Spamhaus)" in done.stdout, session
