"""Who is an ndrbot administrator in Slack: a user id in ``NDRBOT_ADMINS``, or a member of a
user group listed there (ids starting with ``S``), looked up with ``usergroups.users.list`` and
cached for a few minutes so a burst of commands costs one call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["AdminCheck"]

log = logging.getLogger(__name__)


class AdminCheck:
    """``await check(user_id)`` is True for an administrator."""

    def __init__(
        self,
        client: AsyncWebClient,
        admins: Iterable[str],
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        ids = [a.strip() for a in admins if a.strip()]
        self.users = frozenset(a for a in ids if not a.startswith("S"))
        self.groups = tuple(a for a in ids if a.startswith("S"))
        self.ttl = ttl
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    async def __call__(self, user_id: str) -> bool:
        """True when ``user_id`` is listed, or is in a listed user group."""
        if user_id in self.users:
            return True
        for group in self.groups:
            if user_id in await self._group(group):
                return True
        return False

    async def _group(self, group: str) -> frozenset[str]:
        now = self.clock()
        cached = self._members.get(group)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in response.get("users") or ())
        except SlackApiError as error:
            # Fail closed, and keep a stale list rather than none while Slack is unwell.
            log.warning("usergroups.users.list %s failed: %s", group, error.response.get("error"))
            members = cached[1] if cached is not None else frozenset()
        self._members[group] = (now, members)
        return members
