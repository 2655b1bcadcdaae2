"""``POST /api/ndr`` over real HTTP on loopback: bad token 401, oversized 413, garbage 400, a bounce
diagnosed and counted, and nothing lost when the diagnosis fails."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.alerts import Alerts
from bot.alerts.http import intake_handler
from bot.alerts.intake import Reading
from knowledge import Catalogue
from tests.alerts.conftest import make_settings

SAMPLES = Path(__file__).parents[1] / "ndr" / "samples"
BOUNCE = (SAMPLES / "banned_ip_postfix.eml").read_bytes()
NOT_A_BOUNCE = (
    b"From: lee@contoso.test\nTo: kim@fabrikam.test\nSubject: lunch\n\nSee you at noon.\n"
)
AUTH = {"Authorization": "Bearer intake-secret-token"}


async def client_for(alerts: Alerts) -> TestClient:
    app = web.Application()
    alerts.attach(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def post_bounce(client: TestClient) -> tuple[int, dict[str, object]]:
    """POST the sample bounce once with the right token; the status and JSON answer (closes)."""
    try:
        response = await client.post("/api/ndr", data=BOUNCE, headers=AUTH)
        return response.status, await response.json()
    finally:
        await client.close()


@pytest.fixture
async def intake(alerts_factory: Callable[..., Alerts]) -> AsyncIterator[tuple[TestClient, Alerts]]:
    alerts = alerts_factory()
    client = await client_for(alerts)
    yield client, alerts
    await client.close()


async def test_a_bounce_is_diagnosed_kept_and_counted(intake: tuple[TestClient, Alerts]) -> None:
    client, alerts = intake
    response = await client.post(
        "/api/ndr?source=helpdesk-mailbox",
        data=BOUNCE,
        headers={**AUTH, "Content-Type": "message/rfc822"},
    )
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "diagnosed" and body["family"] == "exo_banned_sending_ip"
    row = alerts.store.intake(body["intake_id"])
    assert row is not None and row["raw"] == BOUNCE and row["source"] == "intake:helpdesk-mailbox"
    for _ in range(5):  # a forwarder retrying: the same bytes are not counted again
        again = await client.post("/api/ndr", data=BOUNCE, headers=AUTH)
        assert (await again.json())["status"] == "duplicate"
    assert alerts.store.alerts() == []


def test_a_submission_and_its_retry_on_two_replicas_at_once_are_kept_once(
    alerts_factory: Callable[..., Alerts],
) -> None:
    replicas = [alerts_factory(), alerts_factory()]  # two processes, one store
    start = threading.Barrier(2)
    results: list[str] = []

    def submit(alerts: Alerts) -> None:
        start.wait()
        results.append(alerts.intake.take(BOUNCE, source="intake:test").status)

    threads = [threading.Thread(target=submit, args=(alerts,)) for alerts in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["diagnosed", "duplicate"]
    rows = replicas[0].store.db.conn.execute("SELECT COUNT(*) FROM intake").fetchone()
    assert int(rows[0]) == 1


async def test_a_burst_through_intake_posts_one_trend_alert(
    intake: tuple[TestClient, Alerts],
) -> None:
    client, alerts = intake
    for n in range(8):  # eight different bounces of one kind, from one sender domain
        response = await client.post(
            "/api/ndr", data=BOUNCE.replace(b"09:10:05", f"09:1{n}:05".encode()), headers=AUTH
        )
        assert (await response.json())["status"] == "diagnosed"
    ((kind, subject, card),) = alerts.store.alerts()
    assert (kind, subject) == ("trend", "exo_banned_sending_ip contoso.com")
    assert card.title.startswith("Trend: 5 bounces in 15 min")
    assert card.steps  # the diagnosis card's remediation rides along


async def test_json_bodies_are_accepted(intake: tuple[TestClient, Alerts]) -> None:
    client, _alerts = intake
    response = await client.post(
        "/api/ndr", json={"message": BOUNCE.decode(), "source": "power automate"}, headers=AUTH
    )
    assert response.status == 200
    assert (await response.json())["family"] == "exo_banned_sending_ip"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer intake-secret-toke"},
        {"Authorization": "Basic intake-secret-token"},
        {"Authorization": "intake-secret-token"},
    ],
)
async def test_a_bad_token_is_401_and_nothing_is_kept(
    intake: tuple[TestClient, Alerts], headers: dict[str, str]
) -> None:
    client, alerts = intake
    response = await client.post("/api/ndr", data=BOUNCE, headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in (await response.json())["error"]
    assert alerts.store.intake(1) is None


async def test_an_oversized_body_is_413_whether_announced_or_streamed(
    intake: tuple[TestClient, Alerts],
) -> None:
    client, alerts = intake
    big = b"x" * (64 * 1024 + 1)
    response = await client.post("/api/ndr", data=big, headers=AUTH)
    assert response.status == 413
    assert "NDRBOT_MAX_PASTE_BYTES" in (await response.json())["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies as it reads
        for _ in range(65):
            yield b"y" * 1024

    response = await client.post("/api/ndr", data=chunks(), headers=AUTH)
    assert response.status == 413
    assert alerts.store.intake(1) is None


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"", "text/plain", "empty"),
        (b"   \n ", "text/plain", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "application/octet-stream", "binary"),
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"text": "a bounce"}', "application/json", '"message"'),
        (b"message=hello", "application/x-www-form-urlencoded", "not as a form"),
        (b"hello, is this thing on?", "text/plain", "does not look like a bounce"),
    ],
)
async def test_garbage_is_a_clear_400(
    intake: tuple[TestClient, Alerts], body: bytes, content_type: str, says: str
) -> None:
    client, alerts = intake
    response = await client.post(
        "/api/ndr", data=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status == 400
    assert says in (await response.json())["error"]
    assert alerts.store.alerts() == []


async def test_mail_that_cannot_be_read_is_kept_and_an_alert_says_so(
    intake: tuple[TestClient, Alerts],
) -> None:
    client, alerts = intake
    response = await client.post("/api/ndr", data=NOT_A_BOUNCE, headers=AUTH)
    assert response.status == 202
    body = await response.json()
    assert body["status"] == "unreadable"
    assert alerts.store.intake(body["intake_id"])["raw"] == NOT_A_BOUNCE  # type: ignore[index]
    ((kind, _subject, card),) = alerts.store.alerts()
    assert kind == "unreadable" and card.title == "A bounce could not be read"
    assert f"intake #{body['intake_id']}" in card.summary
    assert any(f.label == "Subject" and f.value == "lunch" for f in card.facts)
    assert "See you at noon" not in str(card)  # the alert never carries the message itself
    assert [r["target"] for r in alerts.store.outbox()] == ["CALERTS"]


async def test_unreadable_alerts_are_one_per_window_and_the_next_counts_the_rest(
    intake: tuple[TestClient, Alerts],
) -> None:
    client, alerts = intake
    for n in range(4):
        await client.post("/api/ndr", data=NOT_A_BOUNCE + str(n).encode(), headers=AUTH)
    assert len(alerts.store.alerts()) == 1
    alerts.outbox.clock.advance(16 * 60)  # type: ignore[attr-defined]
    await client.post("/api/ndr", data=NOT_A_BOUNCE + b"later", headers=AUTH)
    last = alerts.store.alerts()[-1][2]
    assert len(alerts.store.alerts()) == 2
    assert last.notes == ("3 more could not be read since the last alert like this one.",)


async def test_a_diagnosis_that_crashes_loses_nothing(
    alerts_factory: Callable[..., Alerts], catalogue: Catalogue
) -> None:
    class BrokenCatalogue:
        """A catalogue whose variants cannot be read: diagnose() raises."""

        @property
        def variants(self) -> tuple[object, ...]:
            raise RuntimeError("catalogue exploded")

    alerts = alerts_factory(catalogue=BrokenCatalogue())
    status, body = await post_bounce(await client_for(alerts))
    assert status == 202
    assert "reader failed" in body["message"]
    assert alerts.store.intake(body["intake_id"])["raw"] == BOUNCE  # type: ignore[index]
    assert alerts.store.alerts()[0][2].title == "A bounce could not be read"


async def test_a_bug_in_intake_is_a_500_that_shows_nothing_of_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BuggyIntake:
        """Fails the way a bug would: a ValueError that is no refusal, quoting the input."""

        def read(self, raw: bytes) -> None:
            return None

        def take(self, raw: bytes, *, source: str, reading: object = None) -> object:
            raise ValueError(f"bad value in {raw[:40]!r}")

    app = web.Application()
    handler = intake_handler(BuggyIntake(), token="intake-secret-token", max_bytes=1 << 20)  # type: ignore[arg-type]
    app.router.add_post("/api/ndr", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    status, body = await post_bounce(client)
    assert status == 500
    assert "internal error" in body["error"] and "bad value" not in body["error"]
    assert "intake failed: ValueError" in caplog.text and BOUNCE[:20].decode() not in caplog.text


async def test_intake_is_off_without_a_token(alerts_factory: Callable[..., Alerts]) -> None:
    alerts = alerts_factory(settings=make_settings(intake_token=None))
    status, body = await post_bounce(await client_for(alerts))
    assert status == 503
    assert "NDRBOT_INTAKE_TOKEN" in body["error"]


async def test_reading_a_submission_does_not_hold_up_other_requests(
    intake: tuple[TestClient, Alerts], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, alerts = intake
    gate = threading.Event()
    read = alerts.intake.read

    def held(raw: bytes) -> Reading:
        gate.wait(10)  # a slow bounce: reading takes as long as the test wants
        return read(raw)

    monkeypatch.setattr(alerts.intake, "read", held)
    slow = asyncio.create_task(client.post("/api/ndr", data=BOUNCE, headers=AUTH))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    refused = await client.post("/api/ndr", data=BOUNCE)  # no token: answered at once
    assert refused.status == 401 and time.monotonic() - started < 2.0
    assert not slow.done()
    gate.set()
    response = await slow
    assert response.status == 200 and (await response.json())["status"] == "diagnosed"
