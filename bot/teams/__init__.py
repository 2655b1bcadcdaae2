"""Microsoft Teams: the Bot Framework adapter (``POST /api/messages``) and its proactive poster.

Only :mod:`bot.teams` imports botbuilder. The rest of ndrbot sees :class:`TeamsIntegration`
(attach it to the aiohttp app) and its ``poster`` (a :class:`bot.platform.Poster`), so the
Microsoft 365 Agents SDK can replace botbuilder here without touching ``handlers/``.
"""

from bot.teams.integration import TeamsConfigError, TeamsIntegration
from bot.teams.poster import TeamsPoster

__all__ = ["TeamsConfigError", "TeamsIntegration", "TeamsPoster"]
