"""A pattern's word test never turns away a text the pattern matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import handlers.diagnosis  # noqa: F401  (imports every reader module, so every lazy pattern)
from handlers.ndr import lazyre, prefilter
from handlers.ndr.prefilter import filtered, required_words, word_test
from tests.ndr.test_automaton import _texts


@pytest.mark.parametrize(
    ("source", "flags", "words"),
    [
        (r"in reply to (?:the )?(rcpt to|data)", 0, ("in reply to ",)),
        (r"Feedback-Type:\s*(\w+)", re.MULTILINE, ("Feedback-Type:",)),
        (r"Remote Server returned|said:\s", re.IGNORECASE, ("remote server returned", "said:")),
        (r"(?<![\w.])abc(?!x)def", 0, ("abcdef",)),  # lookarounds consume nothing
        (r"(?:abc)?defg", 0, ("defg",)),  # an optional group is not always there
        (r"ab(?:cd|ef)gh", 0, ("abcdgh", "abefgh")),  # each alternative with what surrounds it
        (
            r"\bunable to relay\s*$|\bnot authenticated\b",
            0,
            ("unable to relay", "not authenticated"),
        ),
        (r"x(?:ab|c)", 0, None),  # no run of 3 fixed characters in "xc"
        (r"abcd|x+", 0, None),  # one alternative has no fixed text
        (r"caf\u00e9 au lait", re.IGNORECASE, (" au lait",)),  # case folding beyond ASCII: re's
        (r"(?i:abc)def", 0, ("def",)),  # a group with its own flags
    ],
)
def test_the_words_every_match_contains(source: str, flags: int, words: object) -> None:
    assert required_words(source, flags) == words


def _plain(pattern: lazyre._Lazy) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags)


def _spans(match: object) -> object:
    if match is None:
        return None
    return [match.span(i) for i in range(len(match.groups()) + 1)]  # type: ignore[attr-defined]


FILTERED = [
    (compiled, filtered(compiled.search, compiled.finditer, absent))
    for compiled in map(_plain, lazyre._ALL)
    if (absent := word_test(compiled))
]


def test_most_reader_patterns_have_a_word_test() -> None:
    assert len(FILTERED) >= 80


def test_the_word_test_agrees_with_the_pattern_on_every_sample_text() -> None:
    for compiled, methods in FILTERED:
        for text in _texts():
            assert _spans(methods["search"](text)) == _spans(compiled.search(text))
            mine = [_spans(m) for m in methods["finditer"](text)]
            assert mine == [_spans(m) for m in compiled.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet="AaBbRrEeMmOoTtSsIiKkLlVvNn :;.-\n\u0130\u0131\u017f\u212a\u00e9\u03a3",
        max_size=60,
    )
)
def test_a_text_in_any_script_is_word_tested_as_re_folds_its_case(text: str) -> None:
    compiled = re.compile(r"remote server|kelvin|mission", re.IGNORECASE)
    absent = word_test(compiled)
    assert absent is not None
    methods = filtered(compiled.search, compiled.finditer, absent)
    for candidate in (
        text,
        text + " Remote SERVER",
        text + " \u212aelvin",
        text + " M\u0130\u017f\u017f\u0131on",
        text + " r\u00e9mote server",
    ):
        assert _spans(methods["search"](candidate)) == _spans(compiled.search(candidate))
        mine = [_spans(m) for m in methods["finditer"](candidate)]
        assert mine == [_spans(m) for m in compiled.finditer(candidate)]


def test_the_word_test_knows_every_character_re_matches_to_an_ascii_letter() -> None:
    """The word test maps these to their letter before lower-casing; a Python whose ``re`` folds
    another character to an ASCII letter would make it skip a search that could match."""
    beyond = "".join(chr(code) for code in range(128, 0x110000) if not 0xD800 <= code <= 0xDFFF)
    folded = {
        char: letter
        for char in re.findall(r"[a-z]", beyond, re.IGNORECASE)
        for letter in "abcdefghijklmnopqrstuvwxyz"
        if re.fullmatch(letter, char, re.IGNORECASE)
    }
    assert folded == {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
    for char, letter in folded.items():
        assert letter in prefilter._lowered("x" + char + "\u00e9")
    # and only "İ" and the Kelvin sign lower-case to ASCII (nothing else could join a word)
    assert re.findall(r"[\x00-\x7f]", beyond.lower()) == ["i", "k"]
