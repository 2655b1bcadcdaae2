"""Patterns compiled on first use: the reader has a few hundred, and one bounce needs about half,
so ``ndrbot diagnose`` on one file does not pay for compiling the rest at start-up.

After the first call a pattern's methods are the compiled pattern's own (bound C methods put in
the instance), so reading many bounces costs nothing extra per call. Pass a lazy pattern only
to its own methods, never to ``re.search(pattern, ...)`` and friends. A long-running process
(``ndrbot serve``) calls :func:`compile_all` at start, so no request pays for a compile (and
holds the interpreter while acks wait).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from handlers.ndr.automaton import accelerate
from handlers.ndr.prefilter import filtered

__all__ = ["compile_all", "lazy", "on_compile_all"]

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
        self.__dict__.update(accelerate(compiled))  # or RE2's, where it means the same
        # and not at all where the words every match contains are absent
        self.__dict__.update(filtered(compiled, self.__dict__["search"], self.__dict__["finditer"]))
        return compiled

    def __getattr__(self, name: str) -> Any:
        """Only reached before the first use: compile, then answer from the compiled pattern."""
        if name in _COMPILED:
            return getattr(self._compiled(), name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"lazy({self.pattern!r})"


_ALL: list[_Lazy] = []
T = TypeVar("T")


def lazy(source: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """``re.compile(source, flags)``, done when the pattern is first used."""
    pattern = _Lazy(source, int(flags))
    _ALL.append(pattern)
    return cast("re.Pattern[str]", pattern)


_BUILDERS: list[Callable[[], object]] = []


def on_compile_all(build: Callable[[], T]) -> Callable[[], T]:
    """Register ``build`` (a cached builder of pattern sets) to run in :func:`compile_all` too."""
    _BUILDERS.append(build)
    return build


def compile_all() -> int:
    """Compile every lazy pattern not compiled yet (of the modules imported so far), and build
    the pattern sets registered with :func:`on_compile_all`."""
    pending = [p for p in _ALL if "search" not in p.__dict__]
    for pattern in pending:
        pattern._compiled()
    for build in _BUILDERS:
        build()
    return len(pending)
