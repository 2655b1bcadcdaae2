"""Searches written for speed answer as their plain spelling does: the code patterns with a
lookbehind after the character it guards, and the quick tests in front of two line patterns."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.ndr import codes, extract, text

# Each pattern as it reads plainly: the lookbehind before the character it guards.
_PLAIN = {
    "STATUS_RE": r"(?<![\d.])([245])\.([0-7]|0[0-7])\.(\d{1,3})(?!\.?\d)",
    "_PAIR_RE": r"(?<![\d.])[245][0-5]\d[ -]['\"]?([245]\.(?:[0-7]|0[0-7])\.\d{1,3})(?!\.?\d)",
    "_IPV4": r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]?\d)",
    "_ANY_REPLY": r"(?<![\w.#-])([245][0-5]\d)(?:[ -][245]\.\d{1,3}\.\d{1,3}|[ -](?=[A-Za-z<'\"])|:\s)",
}
# Searched only for whether they match: the same texts must match (anywhere) either way.
_PLAIN_ANYWHERE = [
    (codes, "_REPLY_IN_TEXT", r"(?:^|\s)[245]\d\d[ -]"),
    (extract, "_REPLY_CODE_WORD", r"(?:^|\s)[45]\d\d[ -]"),
    (
        extract,
        "_REPLY_START",
        r"(?:^|[\s:'\"(;])([245]\d\d)[ -](?:[245]\.\d{1,3}\.\d{1,3}|[A-Za-z<#\[])",
    ),
]
_PIECES = st.sampled_from(
    ["5", "4", "2", "0", "1", "7", "9", "55", "550", "5.7.1", "4.4.7", "192.0.2.1", ".", "-",
     " ", ":", "#", "'", "a", "<", "x", "\u0665", "_", "\n", "(", ";", "[", "\t"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_fast_spelling_finds_what_the_plain_one_finds(text: str) -> None:
    for name, plain in _PLAIN.items():
        fast = re.compile(getattr(codes, name).pattern)
        slow = re.compile(plain)
        assert [m.span(0) for m in fast.finditer(text)] == [m.span(0) for m in slow.finditer(text)]
        assert [m.groups() for m in fast.finditer(text)] == [
            m.groups() for m in slow.finditer(text)
        ]
    for module, name, plain in _PLAIN_ANYWHERE:
        fast = re.compile(getattr(module, name).pattern)
        assert bool(fast.search(text)) == bool(re.search(plain, text)), name


_LINE_PIECES = st.sampled_from(
    [" ", "\t", ">", "> ", "-", "--", "---", "=", "*", "_", "#", "~", "x", "\n", "\r", "\u3000"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_LINE_PIECES, max_size=30).map("".join))
@example("   > quoted")  # three blanks: still a marker
@example("    > code")  # four: not one
@example(" \t >")
@example("text\n   >")
@example("x-=*y")  # a run of three mixed separators
def test_the_quick_tests_say_no_only_where_the_pattern_finds_nothing(sample: str) -> None:
    assert text._quoted_line(sample) == bool(text._QUOTE.search(sample))
    line = sample.replace("\n", "")  # (extract_candidates asks it of one line at a time)
    separator = re.compile(extract._SEPARATOR.pattern, extract._SEPARATOR.flags)
    if separator.match(line):
        assert extract._SEPARATOR_RUN.search(line)
