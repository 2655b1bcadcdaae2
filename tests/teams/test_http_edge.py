"""The HTTP edge of /api/messages: malformed bodies get a clear 4xx, never a 500 or a traceback;
an unauthenticated endpoint is only allowed on loopback."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bot.settings import Settings
from bot.teams import TeamsConfigError, TeamsIntegration
from tests.teams.conftest import TeamsBed


async def _send(bed: TeamsBed, data: bytes, content_type: str = "application/json") -> tuple:
    response = await bed.client.post(
        "/api/messages", data=data, headers={"Content-Type": content_type}
    )
    return response.status, await response.text()


@pytest.mark.parametrize(
    ("data", "content_type", "status", "says"),
    [
        (b"{}", "text/plain", 415, "Content-Type: application/json"),
        (b"", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe{}", "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "not a JSON object"),
        (b'"message"', "application/json", 400, "not a JSON object"),
        (b"{}", "application/json", 400, "'type' is missing"),
    ],
)
async def test_bodies_that_are_not_activities_get_a_clear_error(
    bed: TeamsBed, data: bytes, content_type: str, status: int, says: str
) -> None:
    got, text = await _send(bed, data, content_type)
    assert (got, says in text) == (status, True), text
    assert "Traceback" not in text
    assert bed.connector.calls == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"serviceUrl": None}, "'serviceUrl' is missing"),
        ({"serviceUrl": "file:///etc/passwd"}, "'serviceUrl' is missing or not an http(s) URL"),
        ({"conversation": {}}, "'conversation.id' is missing"),
        ({"from": "Pat"}, "'from.id' is missing"),
        ({"id": None}, "'id' is missing"),
        ({"channelId": 7}, "'channelId' is missing or not a string"),
        ({"entities": "mention"}, "'entities' must be a list"),
        ({"text": ["a"]}, "'text' must be a str"),
        ({"timestamp": "yesterday"}, "a field has the wrong type"),
        ({"attachments": [1]}, "a field has the wrong type"),
    ],
)
async def test_activities_missing_or_mistyping_fields_get_400_naming_them(
    bed: TeamsBed, change: dict, says: str
) -> None:
    activity = bed.activity("channel_bounce_paste", **change)
    status, text = await _send(bed, json.dumps(activity).encode())
    assert status == 400 and says in text, text
    assert json.loads(text)["error"]["code"] == "400"
    assert bed.connector.calls == []


async def test_only_post_is_served(bed: TeamsBed) -> None:
    response = await bed.client.get("/api/messages")
    assert response.status == 405


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.53"])
def test_unauthenticated_teams_is_allowed_on_loopback(host: str) -> None:
    TeamsIntegration.check_binding(Settings(host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "bot.contoso.com"])
def test_unauthenticated_teams_refuses_other_addresses_with_a_clear_message(host: str) -> None:
    with pytest.raises(TeamsConfigError) as caught:
        TeamsIntegration.check_binding(Settings(host=host))
    message = str(caught.value)
    assert "MICROSOFT_APP_ID" in message and "NDRBOT_HOST" in message and repr(host) in message


def test_with_an_app_id_any_address_is_allowed() -> None:
    settings = Settings(host="0.0.0.0", microsoft_app_id="a", microsoft_app_password="p")
    TeamsIntegration.check_binding(settings)


def test_a_managed_identity_without_a_tenant_is_refused_at_start_up(catalogue) -> None:
    settings = Settings(microsoft_app_id="a", microsoft_app_type="UserAssignedMSI")
    with pytest.raises(TeamsConfigError, match="MICROSOFT_APP_TENANT_ID"):
        TeamsIntegration(settings, None, None)  # type: ignore[arg-type]


async def test_activities_are_acknowledged_before_they_are_read_and_none_is_dropped(
    bed: TeamsBed, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    read_message = bed.router.read_message

    def held(message):  # type: ignore[no-untyped-def]
        gate.wait(10)  # reading takes as long as the test wants
        return read_message(message)

    monkeypatch.setattr(bed.router, "read_message", held)
    started = time.monotonic()
    for n in range(3):
        activity = bed.activity("channel_bounce_paste", id=f"17636299600{n:02d}")
        response = await bed.client.post("/api/messages", json=activity)
        assert response.status == 200  # acknowledged while reading is still held
    assert time.monotonic() - started < 5.0
    assert bed.connector.calls == []
    gate.set()
    await bed.teams.idle()
    # every paste answered once, after the ack (a card, or a placeholder later updated)
    assert len(bed.cards("reply", "send")) == 3
