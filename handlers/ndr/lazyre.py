"""Patterns compiled on first use: the reader has a few hundred, and one bounce needs about half,
so ``ndrbot diagnose`` on one file does not pay for compiling the rest at start-up.

After the first call a pattern's methods are the compiled pattern's own (bound C methods put in
the instance), except ``search`` and ``finditer``: they count their calls, and once a pattern is
busy (``BUSY_AFTER`` calls) they become its faster path, a word test (``prefilter``) in front of
RE2 where RE2 means the same (``automaton``) or of ``re``. Working that out costs about a few
hundred searches: a batch or a server repays it at once, a one-off ``ndrbot diagnose`` would not.
Pass a lazy pattern only to its own methods, never to ``re.search(pattern, ...)`` and friends;
its matches may be RE2's (the parts of ``re.Match`` the reader uses). A long-running process
(``ndrbot serve``) calls :func:`compile_all` at start, so no request pays for a compile or for
working out a faster path (and holds the interpreter while acks wait).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from handlers.ndr.automaton import BUSY_AFTER, accelerate, prepare_sets
from handlers.ndr.prefilter import filtered, word_test

__all__ = ["compile_all", "lazy"]

_COMPILED = (  # what a lazy pattern hands to the compiled one
    "search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split",
    "groupindex", "groups",
)  # fmt: skip


class _Lazy:
    def __init__(self, source: str, flags: int) -> None:
        self.pattern = source
        self.flags = flags

    def _compiled(self) -> re.Pattern[str]:
        compiled = re.compile(self.pattern, self.flags)
        for name in _COMPILED:  # from now on, straight to the compiled pattern's own
            self.__dict__[name] = getattr(compiled, name)
        # The searches count their calls until the pattern is busy enough to be worth a faster
        # path (BUSY_AFTER): then RE2's, where it means the same, behind a word test.
        asked = [0]

        def counted(method: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                asked[0] += 1
                if asked[0] >= BUSY_AFTER:
                    self._faster(compiled)
                return method(*args, **kwargs)

            return call

        self.__dict__["search"] = counted(compiled.search)
        self.__dict__["finditer"] = counted(compiled.finditer)
        return compiled

    def _faster(self, compiled: re.Pattern[str]) -> None:
        """Searches through RE2 where it means the same, and not at all where the words every
        match contains are absent (each step only where it applies)."""
        absent = word_test(compiled)
        methods = accelerate(compiled, absent)
        if not methods and absent is not None:
            methods = filtered(compiled.search, compiled.finditer, absent)
        self.__dict__.update(methods or {"search": compiled.search, "finditer": compiled.finditer})

    def __getattr__(self, name: str) -> Any:
        """Only reached before the first use: compile, then answer from the compiled pattern."""
        if name in _COMPILED:
            self._compiled()
            return self.__dict__[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"lazy({self.pattern!r})"


_ALL: list[_Lazy] = []


def lazy(source: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """``re.compile(source, flags)``, done when the pattern is first used."""
    pattern = _Lazy(source, int(flags))
    _ALL.append(pattern)
    return cast("re.Pattern[str]", pattern)


def compile_all() -> int:
    """Compile every lazy pattern not compiled yet (of the modules imported so far), with its
    faster path, and build every pattern and literal set: a server's first requests then pay
    for none of it."""
    pending = [p for p in _ALL if "search" not in p.__dict__]
    for pattern in _ALL:
        compiled = (
            pattern._compiled()
            if pattern in pending
            else re.compile(pattern.pattern, pattern.flags)
        )
        pattern._faster(compiled)
    prepare_sets()
    return len(pending)
