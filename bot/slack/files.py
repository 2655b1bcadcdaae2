"""Fetching uploaded bounces (``.eml``, ``.txt``, text snippets) from Slack with the bot token.

Files are private: ``url_private`` needs ``Authorization: Bearer <bot token>``, and without it
Slack answers 200 with its sign-in page (docs.slack.dev "Working with files", *Authentication*),
so an HTML answer for a file that is not HTML counts as a failure. The token is only ever sent
to Slack's own hosts (or to the configured ``SLACK_API_URL`` host, for tests and GovSlack).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.translate import is_slack_url, readable_file
from handlers.events import Attachment

__all__ = ["FileFetcher"]

log = logging.getLogger(__name__)
_MAX_FILES = 5  # per message; a bounce is one file, and each one may be megabytes


class FileFetcher:
    """Downloads the readable files of a message, each capped at ``max_bytes``."""

    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        *,
        token: str,
        api_url: str,
        max_bytes: int,
    ) -> None:
        self.client = client
        self.session = session
        self._token = token
        self._api_url = api_url
        self.max_bytes = max_bytes

    async def fetch_all(self, files: Iterable[Mapping[str, Any]]) -> tuple[Attachment, ...]:
        """One :class:`Attachment` per readable file (data, or the reason there is none)."""
        wanted = [f for f in files if readable_file(f)][:_MAX_FILES]
        return tuple([await self.fetch(f) for f in wanted])

    async def fetch(self, file: Mapping[str, Any]) -> Attachment:
        """Download one file; failures come back as an attachment with an ``error``."""
        file_id = str(file.get("id") or "")
        name = str(file.get("name") or file.get("title") or file_id or "file")
        if file.get("file_access") == "check_file_info" or not file.get("url_private"):
            # Slack Connect and some shares send only a stub: files.info has the rest.
            try:
                info = await self.client.files_info(file=file_id)
            except SlackApiError as error:
                log.warning("slack file %s: files.info failed: %s", file_id, _code(error))
                return Attachment(name, None, "Slack would not let me read it")
            file = info.get("file") or {}
        size = int(file.get("size") or 0)
        if size > self.max_bytes:
            return Attachment(name, None, _too_large(size, self.max_bytes))
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not is_slack_url(url, self._api_url):
            log.warning("slack file %s: refusing to send the token to its URL host", file_id)
            return Attachment(name, None, "it is not stored on Slack")
        try:
            data = await self._download(url, html_ok=str(file.get("mimetype")) == "text/html")
        except _Refused as refusal:
            log.warning("slack file %s: %s", file_id, refusal)
            return Attachment(name, None, str(refusal))
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("slack file %s: download failed: %s", file_id, type(error).__name__)
            return Attachment(name, None, "the download from Slack failed; try again")
        log.info("slack file %s fetched: %d bytes", file_id, len(data))
        return Attachment(name, data)

    async def _download(self, url: str, *, html_ok: bool) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=20)
        async with self.session.get(url, headers=headers, timeout=timeout) as response:
            if response.status != 200:
                raise _Refused(f"Slack answered HTTP {response.status}")
            if response.content_type == "text/html" and not html_ok:
                raise _Refused("Slack sent its sign-in page instead (is files:read granted?)")
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.content.iter_chunked(65536):
                total += len(chunk)
                if total > self.max_bytes:
                    raise _Refused(_too_large(self.max_bytes, self.max_bytes, at_least=True))
                chunks.append(chunk)
        return b"".join(chunks)


class _Refused(Exception):
    """A download that did not give the file; the message is shown to the person."""


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    more = "over " if at_least else ""
    return f"it is {more}{size:,} bytes; the limit is {limit:,}"


def _code(error: SlackApiError) -> str:
    response = getattr(error, "response", None)
    return str(response.get("error")) if response is not None else "error"
