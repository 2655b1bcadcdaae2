"""The Slack app manifest matches what the adapter answers: commands, events, scopes, URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack import EVENTS_PATH
from bot.slack.listeners import COMMAND_NAMES
from bot.slack.scopes import BOT_SCOPES
from handlers.commands import COMMANDS, command_names

MANIFEST = Path(__file__).parents[2] / "deploy" / "slack" / "manifest.yaml"
# Which scope each event subscription needs (docs.slack.dev, Events API reference).
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_command_ndrbot_answers_is_declared_once(manifest: dict[str, Any]) -> None:
    declared = [c["command"].lstrip("/") for c in manifest["features"]["slash_commands"]]
    assert sorted(declared) == sorted(command_names())
    assert command_names() == COMMAND_NAMES  # what the Slack listener registers


def test_the_manifest_hints_each_command_s_arguments_as_the_table_does(
    manifest: dict[str, Any],
) -> None:
    for entry in manifest["features"]["slash_commands"]:
        specs = [s for s in COMMANDS if s.name == entry["command"].lstrip("/")]
        if len(specs) == 1:
            assert entry["usage_hint"] == specs[0].usage, entry["command"]
        else:  # a shared word (/ndrbot help, /ndr cases): one hint per subcommand or usage
            assert set(entry["usage_hint"].split(" | ")) == {s.sub or s.usage for s in specs}


def test_commands_are_plain_text_with_hints(manifest: dict[str, Any]) -> None:
    for command in manifest["features"]["slash_commands"]:
        assert command["should_escape"] is False, command["command"]
        assert command["usage_hint"] and len(command["description"]) <= 100


def test_each_event_has_its_scope_and_nothing_more_is_asked(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {EVENT_SCOPES[e] for e in events} <= scopes
    used = {*EVENT_SCOPES.values(), "chat:write", "commands", "files:read", "files:write"}
    used.add("usergroups:read")
    assert scopes == used


def test_every_request_url_is_the_adapter_s_route(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    urls += [c["url"] for c in manifest["features"]["slash_commands"]]
    assert {u for u in urls} == {f"https://YOUR-HOST{EVENTS_PATH}"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False


def test_display_information_fits_slack_s_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000
    assert len(manifest["features"]["bot_user"]["display_name"]) <= 80


def test_the_scopes_doctor_checks_are_the_manifest_s(manifest: dict[str, Any]) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
