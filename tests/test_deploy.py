"""The service files in deploy/ (container, systemd, reverse proxy) and the JSON log format: what
an operator relies on when running ndrbot for real."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.alerts import INTAKE_PATH
from bot.logs import JsonFormatter, request_ids
from bot.slack.integration import EVENTS_PATH
from bot.teams.integration import MESSAGES_PATH

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTING_NAMES = set(
    re.findall(
        r'"((?:NDRBOT|SLACK|MICROSOFT)_[A-Z_]+)"', (ROOT / "bot" / "settings.py").read_text()
    )
)


def _names(text: str) -> set[str]:
    return set(re.findall(r"\b((?:NDRBOT|SLACK|MICROSOFT)_[A-Z_]+)\b", text))


def test_the_image_runs_as_a_user_keeps_state_on_a_volume_and_checks_its_health() -> None:
    dockerfile = (DEPLOY / "container" / "Dockerfile").read_text()
    final = dockerfile.rsplit("\nFROM ", 1)[1]  # the runtime stage
    user = re.search(r"^USER (\S+)$", final, re.MULTILINE)
    assert user is not None and user.group(1) not in ("root", "0")
    assert 'VOLUME ["/var/lib/ndrbot"]' in final and "NDRBOT_DB=/var/lib/ndrbot/" in final
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert final.rstrip().endswith('CMD ["ndrbot", "serve"]')


def test_every_setting_the_deploy_files_name_is_a_real_one() -> None:
    used: set[str] = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix in ("", ".yaml", ".service", ".example", ".conf"):
            used |= _names(path.read_text(encoding="utf-8"))
    assert used and used <= SETTING_NAMES, used - SETTING_NAMES


def test_the_systemd_unit_is_hardened_and_keeps_state_in_its_state_directory() -> None:
    unit = (DEPLOY / "systemd" / "ndrbot.service").read_text()
    for line in (
        "DynamicUser=yes",
        "StateDirectory=ndrbot",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ExecStart=/opt/ndrbot/bin/ndrbot serve",
    ):
        assert re.search(rf"^{re.escape(line)}$", unit, re.MULTILINE), line
    assert "NDRBOT_DB=/var/lib/ndrbot/" in unit  # inside StateDirectory


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "ndrbot.service"
    unit.write_text((DEPLOY / "systemd" / "ndrbot.service").read_text())
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # Paths of this machine (the venv, the env file) may be missing; syntax errors may not.
    assert "Unknown key" not in done.stderr and "Invalid" not in done.stderr, done.stderr


@pytest.mark.parametrize("name", ["nginx.conf", "Caddyfile"])
def test_the_proxy_forwards_exactly_the_public_endpoints(name: str) -> None:
    text = (DEPLOY / "proxy" / name).read_text()
    config = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if name == "nginx.conf":  # exact-match locations; everything else is a 404
        paths = set(re.findall(r"location = (\S+)", config))
    else:  # the path matcher the reverse_proxy uses
        paths = set(re.search(r"@ndrbot path ([^\n]+)", config).group(1).split())  # type: ignore[union-attr]
    assert paths == {EVENTS_PATH, MESSAGES_PATH, INTAKE_PATH}
    assert "/healthz" not in config


def _engine() -> str | None:
    for engine in ("docker", "podman"):
        if shutil.which(engine):
            info = subprocess.run([engine, "info"], capture_output=True, check=False, timeout=20)
            if info.returncode == 0:
                return engine
    return None


@pytest.mark.skipif(
    _engine() is None,
    reason="no running container engine (docker or podman); start one to build the image",
)
def test_the_image_builds() -> None:
    engine = _engine()
    assert engine is not None
    done = subprocess.run(
        [engine, "build", "-f", "deploy/container/Dockerfile", "-t", "ndrbot-test", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


async def test_json_logs_are_one_object_per_line_with_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("ndrbot.test.deploy")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def hello(request: web.Request) -> web.Response:
        log.info("handled %s", request.path)
        return web.Response(text="ok")

    app = web.Application(middlewares=[request_ids])
    app.router.add_get("/hello", hello)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            given = await client.get("/hello", headers={"X-Request-Id": "abc-123"})
            made = await client.get("/hello", headers={"X-Request-Id": "<script>"})
    finally:
        log.removeHandler(handler)
    assert given.headers["X-Request-Id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["X-Request-Id"])  # an unsafe one replaced
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "handled /hello" and first["request_id"] == "abc-123"
    assert first["level"] == "info" and first["logger"] == "ndrbot.test.deploy"
    assert second["request_id"] == made.headers["X-Request-Id"]
