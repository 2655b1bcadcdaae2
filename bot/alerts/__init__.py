"""Proactive alerts: the watch scheduler, bounce trends, NDR intake and the outbox.

The decisions (facts, transitions, bursts, cards) are pure and live in ``handlers.watch``; this
package does the I/O around them: DNS through the checks, SQLite through ``bot.store.alerts``,
HTTP for intake, and posting through each platform's :class:`~bot.platform.Poster`.
"""

from bot.alerts.service import INTAKE_PATH, Alerts

__all__ = ["INTAKE_PATH", "Alerts"]
