"""``ndrbot check ...`` end to end: the real CLI entry point against the loopback server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from bot.cli import main
from tests.dns.conftest import REPO_ROOT, blocklist_zone
from tests.dns.server import ZONES, LoopbackDns, load_zone_file

Serve = Callable[..., LoopbackDns]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_spf_with_ip_json_has_result_lookups_and_tree(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve("checks.yaml")
    status, out, _ = run(
        capsys,
        "check",
        "spf",
        "chain.test",
        "--ip",
        "203.0.113.11",
        "--json",
        "--nameserver",
        server.address,
    )
    assert status == 0
    data = json.loads(out)
    assert set(data) == {"check", "target", "status", "summary", "findings", "details"}
    assert data["details"]["result"] == "pass"
    assert data["details"]["lookups"] == 2 and data["details"]["void_lookups"] == 0
    assert data["details"]["tree"]["total_lookups"] == 11
    assert {"severity", "code", "message"} == set(data["findings"][0])


def test_text_output_is_readable(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve("checks.yaml")
    status, out, _ = run(capsys, "check", "dmarc", "nonedmarc.test", "--nameserver", server.address)
    assert status == 0
    assert out.startswith("[WARN] dmarc nonedmarc.test:")
    assert "p=none" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "mx", "not a domain"], "not a valid domain"),
        (["check", "rdns", "999.1.1.1"], "not an IPv4 or IPv6 address"),
        (["check", "spf", "good.test", "--ip", "nope"], "not an IPv4 or IPv6 address"),
        (["check", "mx", "good.test", "--nameserver", "dns.example"], "not an IP address"),
        (["check", "mx", "good.test", "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_usage_exits_non_zero_with_message(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, *argv)
    assert status != 0 and out == ""
    assert fragment in err


def test_every_subcommand_runs(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    zone = load_zone_file(ZONES / "checks.yaml") | blocklist_zone(
        ["dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com", "zen.spamhaus.org"]
    )
    server = serve(zone)
    ns = ["--json", "--nameserver", server.address, "--timeout", "1"]
    for argv in (
        ["dkim", "good.test", "--selector", "selector1"],
        ["mx", "good.test"],
        ["rdns", "192.0.2.10"],
        ["blocklist", "192.0.2.99", "--list", "zen.spamhaus.org"],
        ["blocklist", "good.test"],
    ):
        status, out, _ = run(capsys, "check", *argv, *ns)
        assert status == 0
        assert json.loads(out)["status"] in ("pass", "warn")
    status, out, _ = run(capsys, "check", "domain", "good.test", *ns)
    assert status == 0
    assert [r["check"] for r in json.loads(out)] == ["spf", "dmarc", "dkim", "mx", "blocklist"]


def test_installed_script_as_a_subprocess(serve: Serve) -> None:
    server = serve("checks.yaml")
    script = REPO_ROOT / ".venv" / "bin" / "ndrbot"
    if not script.exists():
        pytest.skip("the ndrbot console script is not installed in .venv")
    done = subprocess.run(
        [str(script), "check", "spf", "good.test", "--json", "--nameserver", server.address],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "pass"
