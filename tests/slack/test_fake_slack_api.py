"""The fake Slack Web API answers slack_sdk as Slack does, and fails on request."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import FakeSlackApi, fake_slack_api

__all__ = ["fake_slack_api"]

TOKEN = "xoxb-test-token"


def client(slack: FakeSlackApi, token: str = TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url, retry_handlers=[])


async def test_post_message_is_recorded_with_its_params_and_token(
    fake_slack_api: FakeSlackApi,
) -> None:
    response = await client(fake_slack_api).chat_postMessage(
        channel="C1", text="hi", thread_ts="1.2", blocks=[{"type": "divider"}]
    )
    assert response["ok"] and response["channel"] == "C1" and response["ts"]
    (call,) = fake_slack_api.calls_to("chat.postMessage")
    assert call.params["thread_ts"] == "1.2"
    assert call.params["blocks"] == [{"type": "divider"}]
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_wrong_token_is_invalid_auth(fake_slack_api: FakeSlackApi) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client(fake_slack_api, "xoxb-wrong").auth_test()
    assert raised.value.response["error"] == "invalid_auth"


async def test_programmed_failures_apply_to_the_next_calls_only(
    fake_slack_api: FakeSlackApi,
) -> None:
    fake_slack_api.fail("chat.postMessage", error="channel_not_found")
    fake_slack_api.fail("chat.postMessage", status=429, retry_after=7)
    fake_slack_api.fail("chat.postMessage", status=500, times=2)
    async with aiohttp.ClientSession() as http:
        url = fake_slack_api.api_url + "chat.postMessage"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        seen = []
        for _ in range(5):
            async with http.post(url, json={"channel": "C1"}, headers=headers) as r:
                seen.append((r.status, r.headers.get("Retry-After"), await r.text()))
    assert "channel_not_found" in seen[0][2]
    assert seen[1][:2] == (429, "7")
    assert [s[0] for s in seen[2:]] == [500, 500, 200]


async def test_usergroups_and_files(fake_slack_api: FakeSlackApi) -> None:
    fake_slack_api.usergroups["S1"] = ["U1", "U2"]
    api = client(fake_slack_api)
    assert (await api.usergroups_users_list(usergroup="S1"))["users"] == ["U1", "U2"]
    obj = fake_slack_api.add_file("bounce.eml", b"From: x\r\n")
    assert (await api.files_info(file=obj["id"]))["file"]["size"] == 9
    async with aiohttp.ClientSession() as http:
        async with http.get(obj["url_private"]) as r:
            assert r.content_type == "text/html"  # no token: Slack's sign-in page
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(obj["url_private_download"], headers=headers) as r:
            assert await r.read() == b"From: x\r\n"


async def test_response_url_posts_are_recorded_and_awaitable(
    fake_slack_api: FakeSlackApi,
) -> None:
    url = fake_slack_api.response_url()
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"text": "done", "replace_original": True}) as r,
    ):
        assert r.status == 200
    (call,) = await fake_slack_api.wait_for("response_url")
    assert call.params["replace_original"] is True
    with pytest.raises(AssertionError):
        await fake_slack_api.wait_for("views.open", timeout=0.05)
