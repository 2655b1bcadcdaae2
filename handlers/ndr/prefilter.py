"""Skipping a search that cannot succeed: the words every match of a pattern must contain.

``re`` can skip ahead only for a pattern that starts with fixed text; for one that starts with a
class, an anchor, a lookbehind or an alternation it tries every position of the text. Most
reader patterns look for something most texts do not contain ("in reply to RCPT TO",
"Feedback-Type:"), so a substring test for the fixed text inside the pattern (C's fast search)
answers "no match" for most texts without running the pattern at all.

:func:`required_words` reads a pattern's syntax tree: for each top-level alternative (with
what comes before and after the list), its longest run of fixed characters that every match of
that alternative contains. A pattern with an
alternative that has no such run (of 3 or more characters) gets no filter. The filter is exact:
when none of the words is in the text the pattern cannot match, so the search returns None
without asking ``re``; otherwise ``re`` answers as always. For a pattern that ignores case the
test runs on the lower-cased text. Its words are ASCII, and the only other characters ``re``
matches to an ASCII letter when ignoring case are four ("İ" and "ı" to i, "ſ" to s, the Kelvin
sign to k): those become their letter before lower-casing, so a text in any script is tested too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from re import _constants as sre  # type: ignore[attr-defined]
from typing import Any

from handlers.ndr.re2syntax import syntax_tree

__all__ = ["filtered", "required_words", "word_test"]

_MIN_WORD = 3
_MAX_WORDS = 8  # beyond this the substring tests cost about what the search does
_MAX_WORDS_BEYOND_ASCII = 64  # for a text only re can search (RE2 takes ASCII)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)


def required_words(source: str, flags: int, most: int = _MAX_WORDS) -> tuple[str, ...] | None:
    """Words one of which every match contains (lower-cased when the pattern ignores case), or
    None when the pattern cannot be filtered that way (or needs more than ``most`` words)."""
    parsed = syntax_tree(source, flags)
    if parsed is None:
        return None
    folded = bool(flags & re.IGNORECASE)
    items = list(parsed)
    # One list of alternatives at the top, between what comes before and after it (the parser
    # takes a prefix all alternatives share out of them, "\b" say): every match is the one
    # before, an alternative, the one after.
    at = [k for k, (op, _) in enumerate(items) if op is sre.BRANCH]
    if len(at) == 1:
        before, after = items[: at[0]], items[at[0] + 1 :]
        branches = [[*before, *branch, *after] for branch in items[at[0]][1][1]]
    else:
        branches = [items]
    words: list[str] = []
    for branch in branches:
        runs = [""]
        _runs(list(branch), runs, folded)
        word = max(runs, key=len)
        if len(word) < _MIN_WORD:
            return None
        words.append(word.lower() if folded else word)
    unique = tuple(dict.fromkeys(words))
    return unique if len(unique) <= most else None


def _runs(items: list[tuple[Any, Any]], runs: list[str], folded: bool) -> None:
    """Append to ``runs`` the runs of fixed characters of a sequence, in order; a run ends at
    anything that is not one fixed character (a class, a repeat, an alternation)."""
    for op, av in items:
        if op is sre.LITERAL and (not folded or av < 128):
            runs[-1] += chr(av)
        elif op in _ZERO_WIDTH:
            continue  # consumes nothing: the characters either side are adjacent in the text
        elif op is sre.SUBPATTERN and not av[1] and not av[2]:
            inner = list(av[3])
            if len(inner) == 1 and inner[0][0] is sre.BRANCH:
                runs.append("")  # alternatives inside: none of them is always there
            else:
                _runs(inner, runs, folded)  # a plain group: its characters are in sequence
        else:
            runs.append("")


_last: tuple[str | None, str] = (None, "")


# The characters other than A-Z that re.IGNORECASE matches to an ASCII letter (a test checks
# every code point). str.lower would give "İ" two characters and leave "ı" and "ſ" as they are.
_FOLDED_TO_ASCII = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_TO_ASCII_LETTER = str.maketrans(_FOLDED_TO_ASCII)


def _lowered(text: str) -> str:
    """The text as a pattern that ignores case sees its ASCII letters (lower-cased, the four
    letters above made ASCII), kept for the last text: the reader asks many patterns about one."""
    global _last
    last = _last
    if last[0] is text:
        return last[1]
    folded = not text.isascii() and any(char in text for char in _FOLDED_TO_ASCII)
    low = (text.translate(_TO_ASCII_LETTER) if folded else text).lower()
    _last = (text, low)
    return low


def word_test(
    compiled: re.Pattern[str],
    most: int = _MAX_WORDS,
    most_beyond_ascii: int = _MAX_WORDS_BEYOND_ASCII,
) -> Callable[[object], bool] | None:
    """A test that is True for a text the pattern cannot match (none of its words is there), or
    None when it has no words. A text is tested for at most ``most`` words, a text with
    non-ASCII characters for up to ``most_beyond_ascii``: ``re`` runs it (not RE2), trying each
    position, and the substring tests cost less than that."""
    many = required_words(compiled.pattern, compiled.flags, max(most, most_beyond_ascii))
    if not many:
        return None
    few = many if len(many) <= most else None
    if len(many) > most_beyond_ascii:
        many = few
    folded = bool(compiled.flags & re.IGNORECASE)

    def absent(text: object) -> bool:
        if not isinstance(text, str):
            return False
        words = few if text.isascii() else many
        if words is None:
            return False
        if folded:
            text = _lowered(text)
        for word in words:  # noqa: SIM110 (a loop: a generator costs more than the tests)
            if word in text:
                return False
        return True

    return absent


def filtered(
    search: Callable[..., Any], finditer: Callable[..., Any], absent: Callable[[object], bool]
) -> dict[str, Callable[..., Any]]:
    """``search`` and ``finditer`` (a pattern's own, re's) behind the word test ``absent``."""

    # The parameters are named as re's (string, pos, endpos): callers may pass them by name.
    def filtered_search(string: str, pos: int = 0, endpos: int | None = None) -> Any:
        if absent(string):
            return None
        return search(string, pos) if endpos is None else search(string, pos, endpos)

    def filtered_finditer(string: str, pos: int = 0, endpos: int | None = None) -> Iterator[Any]:
        if absent(string):
            return iter(())
        return finditer(string, pos) if endpos is None else finditer(string, pos, endpos)

    return {"search": filtered_search, "finditer": filtered_finditer}
