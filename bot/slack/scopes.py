"""The bot-token scopes ndrbot's Slack app needs (deploy/slack/manifest.yaml declares the same;
a test keeps them equal), and what breaks without each, for ``ndrbot doctor``."""

from __future__ import annotations

__all__ = ["BOT_SCOPES"]

BOT_SCOPES: dict[str, str] = {
    "app_mentions:read": "mentions of @ndrbot in channels go unanswered",
    "channels:history": "bounces pasted in public channels are never seen",
    "groups:history": "bounces pasted in private channels are never seen",
    "im:history": "direct messages to ndrbot are never seen",
    "mpim:history": "group direct messages are never seen",
    "chat:write": "ndrbot cannot reply, share results or post alerts",
    "commands": "the slash commands do not reach ndrbot",
    "files:read": "uploaded .eml files cannot be read",
    "files:write": "the /dmarcreport chart cannot be shown (Slack shows only uploaded images)",
    "usergroups:read": "NDRBOT_ADMINS cannot name user groups (S...)",
}
