"""``ndrbot teams-package``: the zip Teams accepts, the manifest's limits, and the icons."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from bot import cli_teams
from bot.settings import Settings
from bot.teams.activities import parse_command
from bot.teams.package import DEFAULT_SOURCE
from handlers.commands import command_names

APP_ID = "0F3C9A52-6D1E-4B7A-9C83-2E5F4A1B7D60"


def run(tmp_path: Path, settings: Settings, *argv: str) -> tuple[int, Path]:
    parser = argparse.ArgumentParser(prog="ndrbot")
    cli_teams.register(parser.add_subparsers())
    output = tmp_path / "out" / "ndrbot-teams.zip"
    args = parser.parse_args(["teams-package", "--output", str(output), *argv])
    return args.func(args, settings), output


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA, unfiltered PNG (what make_icons writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 6)
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 4 + 1
    pixels = []
    for y in range(height):
        row = raw[y * stride + 1 : (y + 1) * stride]
        pixels += [tuple(row[i : i + 4]) for i in range(0, len(row), 4)]
    return width, height, pixels  # type: ignore[return-value]


@pytest.fixture
def package(tmp_path: Path) -> dict[str, bytes]:
    settings = Settings(microsoft_app_id=APP_ID, microsoft_app_password="x")
    status, output = run(
        tmp_path, settings, "--app-version", "1.4.2", "--developer", 'Contoso "IT"'
    )
    assert status == 0
    with zipfile.ZipFile(output) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_without_an_app_id_it_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run(tmp_path, Settings())
    assert status == 2 and not output.exists()
    assert "MICROSOFT_APP_ID is not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("settings", "argv", "says"),
    [
        (Settings(microsoft_app_id="ndrbot-bot", microsoft_app_password="x"), (), "not a GUID"),
        (
            Settings(microsoft_app_id=APP_ID, microsoft_app_password="x"),
            ("--app-version", "1.0"),
            "MAJOR",
        ),
        (
            Settings(microsoft_app_id=APP_ID, microsoft_app_password="x"),
            ("--website", "http://intranet/"),
            "https://",
        ),
        (
            Settings(microsoft_app_id=APP_ID, microsoft_app_password="x"),
            ("--source", "/nonexistent"),
            "lacks",
        ),
    ],
)
def test_bad_values_exit_2_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: Settings, argv: tuple, says: str
) -> None:
    status, output = run(tmp_path, settings, *argv)
    assert status == 2 and not output.exists()
    assert says in capsys.readouterr().err


def test_the_zip_holds_the_manifest_and_icons_at_its_root(package: dict[str, bytes]) -> None:
    assert sorted(package) == ["color.png", "manifest.json", "outline.png"]


def test_the_manifest_carries_the_bot_id_and_version(package: dict[str, bytes]) -> None:
    text = package["manifest.json"].decode()
    manifest = json.loads(text)
    app_id = APP_ID.lower()
    assert "{{" not in text
    assert manifest["id"] == app_id and manifest["version"] == "1.4.2"
    assert manifest["bots"][0]["botId"] == app_id
    assert manifest["webApplicationInfo"]["id"] == app_id
    assert manifest["developer"]["name"] == 'Contoso "IT"'  # escaped, not breaking the JSON
    version = manifest["manifestVersion"]
    assert manifest["$schema"].endswith(f"/teams/v{version}/MicrosoftTeams.schema.json")


def test_the_manifest_stays_within_teams_limits(package: dict[str, bytes]) -> None:
    manifest = json.loads(package["manifest.json"])
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert re.fullmatch(r"#[0-9A-F]{6}", manifest["accentColor"])
    (bot,) = manifest["bots"]
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    (commands,) = bot["commandLists"]
    assert set(commands["scopes"]) == {"personal", "team", "groupChat"}
    assert len(commands["commands"]) <= 10  # the limit before manifest v1.24, to be safe
    for command in commands["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    names = {r["name"] for r in manifest["authorization"]["permissions"]["resourceSpecific"]}
    assert names == {"ChannelMessage.Read.Group", "ChatMessage.Read.Chat"}


def test_every_router_command_is_listed_and_every_listed_command_works(
    package: dict[str, bytes],
) -> None:
    titles = [
        c["title"]
        for c in json.loads(package["manifest.json"])["bots"][0]["commandLists"][0]["commands"]
    ]
    parsed = [parse_command(title) for title in titles]
    assert None not in parsed
    listed = {command[0] for command in parsed if command}
    assert set(command_names()) <= listed


def test_icons_have_the_sizes_teams_wants_and_the_outline_is_white_on_transparent(
    package: dict[str, bytes],
) -> None:
    width, height, pixels = read_png(package["color.png"])
    assert (width, height) == (192, 192) and {p[3] for p in pixels} == {255}
    width, height, pixels = read_png(package["outline.png"])
    assert (width, height) == (32, 32)
    assert all(p[:3] == (255, 255, 255) or p[3] == 0 for p in pixels)
    assert {p[3] for p in pixels} >= {0, 255}


def test_the_committed_icons_are_what_the_script_draws() -> None:
    spec = importlib.util.spec_from_file_location("make_icons", DEFAULT_SOURCE / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DEFAULT_SOURCE / "outline.png").read_bytes() == module.outline_icon()
    assert (DEFAULT_SOURCE / "color.png").read_bytes() == module.color_icon()


def test_the_same_inputs_make_the_same_zip(tmp_path: Path) -> None:
    settings = Settings(microsoft_app_id=APP_ID, microsoft_app_password="x")
    first = run(tmp_path / "a", settings)[1].read_bytes()
    assert first == run(tmp_path / "b", settings)[1].read_bytes()
