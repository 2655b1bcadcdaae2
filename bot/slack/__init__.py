"""Slack: the adapter between Slack's payloads and the platform-neutral router.

``SlackIntegration`` is the one thing the composition root needs; the modules below it are
``translate`` (pure payload <-> value mapping), ``listeners`` (what each request does),
``http`` (the signed ``/slack/events`` route), ``files``, ``admins`` and ``poster``.
"""

from bot.slack.integration import EVENTS_PATH, SlackIntegration
from bot.slack.poster import SlackPoster

__all__ = ["EVENTS_PATH", "SlackIntegration", "SlackPoster"]
