"""Checks for single fields of a catalogue entry; each failure raises :class:`CatalogueError`.

The loader calls these with the file name and entry key, so every message says where the problem
is ("exchange_online.yaml: exo_unable_to_relay: family 'exo_relay' is not one of ...").
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._model import CatalogueError, CodeRange, parse_code

# The regex parser is private but stable API in practice; it is the only way to see a pattern's
# structure without writing a parser of our own.
_sre: Any = importlib.import_module("re._parser")

_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)} - {None}
_MAX_REGEX_LENGTH = 200
_MIN_TEXT_LENGTH = 6  # shorter texts ('denied') match far too much
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9()\-]{1,30}")
KEY = re.compile(r"[a-z][a-z0-9_]{2,79}")


class Entry:
    """One raw mapping from a data file, with the context needed for error messages."""

    def __init__(self, file: str, key: str | None, raw: Mapping[str, Any]) -> None:
        self.file = file
        self.key = key
        self.raw = raw

    def fail(self, problem: str) -> CatalogueError:
        """A :class:`CatalogueError` for this entry."""
        return CatalogueError(self.file, self.key, problem)

    def check_keys(self, required: Iterable[str], optional: Iterable[str] = ()) -> None:
        """Refuse missing required fields and unknown ones (a misspelt field is a typo, not data)."""
        required = set(required)
        allowed = required | set(optional)
        problems = []
        missing = sorted(required - self.raw.keys())
        if missing:
            problems.append(f"missing field(s): {', '.join(missing)}")
        unknown = sorted(map(str, set(self.raw) - allowed))
        if unknown:
            problems.append(f"unknown field(s): {', '.join(unknown)}")
        if problems:
            raise self.fail("; ".join(problems))

    def text(self, name: str, *, max_len: int = 2000, default: str | None = None) -> str:
        """A non-empty single string field."""
        value = self.raw.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{name} must be a non-empty string")
        value = " ".join(value.split())
        if len(value) > max_len:
            raise self.fail(f"{name} is longer than {max_len} characters")
        return value

    def flag(self, name: str) -> bool:
        """A true/false field (absent means false)."""
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            raise self.fail(f"{name} must be true or false, not {value!r}")
        return value

    def strings(self, name: str, *, required: bool = False) -> tuple[str, ...]:
        """A list of non-empty strings (absent or null means empty)."""
        value = self.raw.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{name} must be a list of non-empty strings")
        if required and not value:
            raise self.fail(f"{name} must not be empty")
        return tuple(" ".join(v.split()) for v in value)

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        """A string that must be one of ``allowed``."""
        value = self.raw.get(name)
        if value not in allowed:
            raise self.fail(f"{name} {value!r} is not one of: {', '.join(allowed)}")
        return str(value)

    def choices(self, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        """A list whose items are each one of ``allowed``, without repeats."""
        values = self.strings(name)
        for v in values:
            if v not in allowed:
                raise self.fail(f"{name}: {v!r} is not one of: {', '.join(allowed)}")
        if len(set(values)) != len(values):
            raise self.fail(f"{name} lists an item twice")
        return values


def code_range(entry: Entry, text: str) -> CodeRange:
    """``"5.7.1"`` or ``"5.7.606-5.7.649"`` as a :class:`CodeRange` (same class, lo <= hi)."""
    lo_text, dash, hi_text = text.partition("-")
    lo, hi = parse_code(lo_text), parse_code(hi_text if dash else lo_text)
    if lo is None or hi is None:
        raise entry.fail(f"code {text!r} is not an enhanced status code or range (x.y.z[-x.y.z])")
    if lo[0] != hi[0]:
        raise entry.fail(f"code range {text!r} spans two classes")
    if lo > hi:
        raise entry.fail(f"code range {text!r} runs backwards")
    return CodeRange(lo, hi)


def tags(entry: Entry) -> tuple[str, ...]:
    """Provider tags (``S3150``, ``RP-001``, ``AS(2204)``): one token each, stored as written."""
    values = entry.strings("tags")
    for tag in values:
        if not _TAG.fullmatch(tag):
            raise entry.fail(f"tag {tag!r} is not a single token of letters, digits, '-', '()'")
    return values


def match_texts(entry: Entry) -> tuple[str, ...]:
    """Case-insensitive substrings, stored lowercased; each long enough to mean something."""
    values = entry.strings("match_text")
    for text in values:
        if len(text) < _MIN_TEXT_LENGTH:
            raise entry.fail(
                f"match_text {text!r} is shorter than {_MIN_TEXT_LENGTH} characters; "
                "use a tag or a longer, characteristic phrase"
            )
    return tuple(v.lower() for v in values)


def _unsafe(subpattern: Any, inside_repeat: bool) -> str | None:
    """Why ``subpattern`` could backtrack exponentially, or None when it cannot."""
    for op, av in subpattern:
        if op in _REPEATS:
            _lo, hi, sub = av
            unbounded = hi > 1
            if inside_repeat and unbounded:
                return "a quantifier inside a repeated group"
            problem = _unsafe(sub, inside_repeat or unbounded)
            if problem:
                return problem
        elif op is _sre.BRANCH:
            if inside_repeat:
                return "an alternation inside a repeated group"
            for branch in av[1]:
                problem = _unsafe(branch, inside_repeat)
                if problem:
                    return problem
        elif op is _sre.SUBPATTERN:
            problem = _unsafe(av[-1], inside_repeat)
            if problem:
                return problem
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            problem = _unsafe(av[1], inside_repeat)
            if problem:
                return problem
        elif op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS):
            return "a back-reference"
    return None


def regexes(entry: Entry) -> tuple[re.Pattern[str], ...]:
    """Compiled case-insensitive patterns that cannot backtrack catastrophically."""
    out = []
    for pattern in entry.strings("match_regex"):
        if len(pattern) > _MAX_REGEX_LENGTH:
            raise entry.fail(f"match_regex {pattern!r} is longer than {_MAX_REGEX_LENGTH}")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
            problem = _unsafe(_sre.parse(pattern), False)
        except re.error as exc:
            raise entry.fail(f"match_regex {pattern!r} does not compile: {exc}") from None
        if problem:
            raise entry.fail(f"match_regex {pattern!r} is not linear-time safe: {problem}")
        if compiled.search(""):
            raise entry.fail(f"match_regex {pattern!r} matches empty text")
        out.append(compiled)
    return tuple(out)


def smtp_replies(entry: Entry) -> tuple[str, ...]:
    """Basic SMTP reply codes ("550", "421")."""
    values = entry.strings("smtp_reply")
    for v in values:
        if not re.fullmatch(r"[245]\d\d", v):
            raise entry.fail(f"smtp_reply {v!r} is not a three-digit SMTP reply code")
    return values
