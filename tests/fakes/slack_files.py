"""The file side of the fake Slack Web API: private files to download, uploads, files.info.

A mixin of :class:`tests.fakes.slack_api.FakeSlackApi` (see its module docstring for what it
serves); apart because files change for their own reasons (Slack's upload flow, its processing
delay), not with messages or Socket Mode.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.slack_api import Call

__all__ = ["SlackFiles"]

_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"


class SlackFiles:
    """Files, uploads and downloads; the state lives in the dataclass that mixes this in."""

    token: str | None
    files: dict[str, dict[str, Any]]
    _contents: dict[str, bytes]
    uploads: dict[str, bytes]
    completed: list[dict[str, Any]]
    processing_polls: int | None
    _pending_uploads: dict[str, str]
    _ts: itertools.count[int]

    if TYPE_CHECKING:

        @property
        def base_url(self) -> str: ...

        async def _record(self, request: web.Request, method: str) -> Call: ...

        def _failure(
            self, method: str, params: dict[str, Any] | None = None
        ) -> web.Response | None: ...

    def add_file(
        self, name: str, content: bytes, *, mimetype: str = "message/rfc822", file_id: str = ""
    ) -> dict[str, Any]:
        """Register a private file; returns its Slack file object (as in a message event)."""
        file_id = file_id or f"F{next(self._ts):08d}"
        url = f"{self.base_url}/files/{file_id}/{name}"
        obj = {
            "id": file_id,
            "created": 1700000000,
            "timestamp": 1700000000,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1] if "." in name else "text",
            "pretty_type": "Email" if name.endswith(".eml") else "Plain Text",
            "user": "U0HELPDESK",
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "size": len(content),
            "url_private": url,
            "url_private_download": f"{url}?download=1",
            "permalink": f"https://example.slack.com/files/U0HELPDESK/{file_id}/{name}",
        }
        self.files[file_id] = obj
        self._contents[file_id] = content
        return obj

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F0UP{len(self.uploads) + len(self._pending_uploads):06d}"
        self._pending_uploads[file_id] = str(params.get("filename", ""))
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._pending_uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        listed = json.loads(files) if isinstance(files, str) else files or []
        done = []
        for entry in listed:
            file_id = str(entry.get("id"))
            if file_id not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            done.append({"id": file_id, "title": entry.get("title", ""), "is_public": False})
            self.files[file_id] = {"id": file_id, "mimetype": "", "polls": 0, **done[-1]}
        self.completed.extend(done)
        return {"files": [{**d, "mimetype": ""} for d in done]}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        obj = self.files.get(params.get("file", ""))
        if obj is not None and "polls" in obj:  # one the bot uploaded: processed after a while
            obj["polls"] += 1
            ready = self.processing_polls is not None and obj["polls"] > self.processing_polls
            obj["mimetype"] = "image/png" if ready else ""
        return {"file": obj, "comments": [], "response_metadata": {"next_cursor": ""}}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(request, "files")
        failed = self._failure("files")
        if failed is not None:
            return failed
        content = self._contents.get(request.match_info["file_id"])
        if content is None:
            return web.Response(status=404, text="not found")
        if self.token is not None and call.headers.get("Authorization") != f"Bearer {self.token}":
            # What Slack does too: a 200 with its sign-in page instead of the file.
            return web.Response(text=_LOGIN_PAGE, content_type="text/html")
        return web.Response(body=content, content_type="application/octet-stream")
