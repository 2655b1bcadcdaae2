"""An in-memory CaseBook (the router's port for delisting cases), for adapter tests."""

from __future__ import annotations

from handlers.cases import Case

__all__ = ["RecordingCases"]


class RecordingCases:
    """The router's CaseBook, in memory."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    def open_case(self, case: Case) -> bool:
        if any(c.card_id == case.card_id for c in self.cases):
            return False
        self.cases.append(case)
        return True

    def open_cases(self, platform: str, conversation: str) -> list[Case]:
        return [c for c in self.cases if (c.platform, c.conversation) == (platform, conversation)]
