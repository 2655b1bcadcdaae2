"""Requests as Slack sends them to ``/slack/events``: signed (v0 HMAC-SHA256 over
``v0:{timestamp}:{body}``), and a channel message event carrying a pasted bounce. Shared by the
replica test and the load benchmark."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

__all__ = ["message_event", "signed_headers"]


def signed_headers(secret: str, body: str) -> dict[str, str]:
    """The headers Slack signs ``body`` with, now."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def message_event(n: int, text: str, *, event_prefix: str = "Ev0LOAD") -> str:
    """Message event ``n`` (its own ``ts`` and ``event_id``) posting ``text`` in C0HELPDESK."""
    ts = f"1741140600.{n:06d}"
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0NDRBOT1",
            "api_app_id": "A0NDRBOT1",
            "event_id": f"{event_prefix}{n:06d}",
            "event_time": 1741140600,
            "authorizations": [{"team_id": "T0NDRBOT1", "user_id": "U0NDRBOT1", "is_bot": True}],
            "event": {
                "type": "message",
                "user": "U0HELPDESK",
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "channel": "C0HELPDESK",
                "channel_type": "channel",
            },
        }
    )
