"""Fetching files attached to Teams messages (``.eml`` / ``.txt`` bounces).

In a personal chat Teams attaches a file as ``application/vnd.microsoft.teams.file.download.info``
whose ``downloadUrl`` is pre-authenticated: no token goes with the request. Downloads stop one byte
past the paste size cap, so the router refuses an oversized file with its usual message.
"""

from __future__ import annotations

import logging

import aiohttp

from bot.teams.activities import FileRef
from handlers.events import Attachment

__all__ = ["FileFetcher"]

log = logging.getLogger("ndrbot.teams")


class FileFetcher:
    """Downloads attachments over one aiohttp session (created on first use)."""

    def __init__(self, max_bytes: int, *, allow_http: bool = False, timeout: float = 15.0) -> None:
        self.max_bytes = max_bytes
        self.allow_http = allow_http  # only without authentication (the Emulator, tests)
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, ref: FileRef) -> Attachment:
        """The file's bytes, or an Attachment saying why it could not be fetched."""
        schemes = ("https://", "http://") if self.allow_http else ("https://",)
        if not ref.url.startswith(schemes):
            return Attachment(ref.name, None, "the download link is not https")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.get(ref.url, allow_redirects=True) as response:
                if response.status != 200:
                    return Attachment(ref.name, None, f"download failed (HTTP {response.status})")
                data = b""
                async for chunk in response.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > self.max_bytes:
                        break
        except TimeoutError:
            return Attachment(ref.name, None, "the download timed out")
        except aiohttp.ClientError as error:
            log.warning("teams file download failed: %s", type(error).__name__)
            return Attachment(ref.name, None, "the download failed")
        return Attachment(ref.name, data[: self.max_bytes + 1])

    async def close(self) -> None:
        """Close the session (at server shutdown)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
