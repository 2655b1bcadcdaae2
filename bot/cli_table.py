"""The ``ndrbot`` subcommands: their names, the module that registers and runs each, and the line
``ndrbot --help`` shows. Light on purpose: ``ndrbot --help`` reads only this, and a subcommand
imports only its own module (``diagnose`` and ``check`` never load a chat SDK)."""

from __future__ import annotations

__all__ = ["SUBCOMMANDS", "help_for"]

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "diagnose": (
        "bot.cli_diagnose",
        "read bounces (files or stdin) and say what failed and what to do",
    ),
    "check": ("bot.cli_check", "run DNS and blocklist checks"),
    "chat": ("bot.cli_chat", "a local console: paste bounces, type commands"),
    "preview": (
        "bot.cli_preview",
        "write (or serve) an HTML page showing a bounce's card as Teams and Slack show it",
    ),
    "serve": (
        "bot.cli_serve",
        "run the server for Slack (/slack/events), Teams (/api/messages) and the intake (/api/ndr)",
    ),
    "watch": ("bot.cli_watch", "watch domains and IPs, alert the IT channel when they change"),
    "ingest": (
        "bot.cli_watch",
        "diagnose and count bounces from a file, an mbox or a Maildir folder",
    ),
    "dmarc": (
        "bot.cli_dmarc",
        "DMARC aggregate reports: ingest files or mailboxes, report a domain's senders",
    ),
    "db": (
        "bot.cli_db",
        "copy the state into another store (SQLite file to PostgreSQL for replicas)",
    ),
    "doctor": (
        "bot.cli_doctor",
        "check this setup (resolvers, database, Slack, alerts) and say how to fix it",
    ),
    "teams-package": (
        "bot.cli_teams",
        "build the Teams app package (zip) for upload, with the bot id from MICROSOFT_APP_ID",
    ),
}


def help_for(name: str) -> str:
    """The one-line help of subcommand ``name``."""
    return SUBCOMMANDS[name][1]
