"""SPF macro strings (RFC 7208 section 7): parsing and expansion, pure functions only.

A ``%{p}`` macro needs DNS (a validated reverse name); the evaluator looks it up and passes the
value in :class:`MacroEnv`, so expansion itself never does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

__all__ = [
    "Literal",
    "Macro",
    "MacroEnv",
    "MacroString",
    "SpfSyntaxError",
    "parse_macro_string",
    "truncate_domain",
]


class SpfSyntaxError(ValueError):
    """A record (or macro string) does not follow the RFC 7208 section 12 grammar: permerror."""


@dataclass(frozen=True, slots=True)
class Literal:
    """Literal text inside a macro string (``%%``, ``%_`` and ``%-`` already decoded)."""

    text: str


@dataclass(frozen=True, slots=True)
class Macro:
    """One ``%{...}`` expansion: letter, how many right-hand parts, reversal and delimiters."""

    letter: str  # lower-case; ``url_escape`` records whether it was written upper-case
    digits: int | None
    reverse: bool
    delimiters: str
    url_escape: bool


@dataclass(frozen=True, slots=True)
class MacroString:
    """A parsed macro string; ``text`` is what the record said."""

    text: str
    parts: tuple[Literal | Macro, ...]

    def uses(self, letter: str) -> bool:
        """True when the string contains a ``%{letter...}`` macro."""
        return any(isinstance(p, Macro) and p.letter == letter for p in self.parts)

    @property
    def is_literal(self) -> bool:
        """True when there is nothing to expand, so the text is the final domain."""
        return all(isinstance(p, Literal) for p in self.parts)

    def expand(self, env: MacroEnv) -> str:
        """Expand every macro with the values in ``env`` (RFC 7208 section 7.3)."""
        return "".join(p.text if isinstance(p, Literal) else _expand(p, env) for p in self.parts)


@dataclass(frozen=True, slots=True)
class MacroEnv:
    """The values macros expand to (RFC 7208 section 7.2)."""

    s: str  # sender
    l: str  # local-part of sender  # noqa: E741 (the RFC's name)
    o: str  # domain of sender
    d: str  # current domain
    i: str  # IP, dotted (IPv4) or dot-separated nibbles (IPv6)
    v: str  # "in-addr" or "ip6"
    h: str  # HELO/EHLO domain
    c: str = ""  # SMTP client IP, readable form (exp only)
    r: str = "unknown"  # receiving host (exp only)
    t: str = "0"  # current timestamp (exp only)
    p: str = "unknown"  # validated reverse name; filled in by the evaluator when used


_MACRO = re.compile(r"%\{([a-zA-Z])([0-9]*)(r?)([.\-+,/_=]*)\}", re.IGNORECASE)
_LETTERS = set("slodiphv")
_EXP_LETTERS = _LETTERS | set("crt")


def parse_macro_string(text: str, *, explanation: bool = False) -> MacroString:
    """Parse ``text``; ``explanation`` allows the c, r and t macros and spaces (section 7.1)."""
    parts: list[Literal | Macro] = []
    literal: list[str] = []
    allowed = _EXP_LETTERS if explanation else _LETTERS
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char != "%":
            code = ord(char)
            # macro-literal = %x21-24 / %x26-7E; explanation text may also hold spaces
            if not (0x21 <= code <= 0x7E or (explanation and char == " ")):
                raise SpfSyntaxError(f"character {char!r} is not allowed in {text!r}")
            literal.append(char)
            pos += 1
            continue
        nxt = text[pos + 1 : pos + 2]
        if nxt in ("%", "_", "-"):
            literal.append({"%": "%", "_": " ", "-": "%20"}[nxt])
            pos += 2
            continue
        match = _MACRO.match(text, pos)
        if not match:
            raise SpfSyntaxError(f"bad macro at {text[pos:]!r} (RFC 7208 section 7.1)")
        letter, digits, reverse, delimiters = match.groups()
        if letter.lower() not in allowed:
            raise SpfSyntaxError(f"macro %{{{letter}}} is not allowed here (RFC 7208 section 7.2)")
        if digits and int(digits) == 0:
            raise SpfSyntaxError(f"macro {match.group()} keeps zero parts (RFC 7208 section 7.3)")
        if literal:
            parts.append(Literal("".join(literal)))
            literal = []
        parts.append(
            Macro(
                letter=letter.lower(),
                digits=int(digits) if digits else None,
                reverse=bool(reverse),
                delimiters=delimiters or ".",
                url_escape=letter.isupper(),
            )
        )
        pos = match.end()
    if literal:
        parts.append(Literal("".join(literal)))
    return MacroString(text, tuple(parts))


def _expand(macro: Macro, env: MacroEnv) -> str:
    value: str = getattr(env, macro.letter)
    pieces = re.split("[" + re.escape(macro.delimiters) + "]", value)
    if macro.reverse:
        pieces.reverse()
    if macro.digits is not None:
        pieces = pieces[-macro.digits :]
    out = ".".join(pieces)
    # Upper-case macro letters are URL-escaped (section 7.3), RFC 3986 unreserved kept.
    return quote(out, safe="-._~") if macro.url_escape else out


def truncate_domain(name: str) -> str:
    """Drop left-hand labels until ``name`` fits in 253 characters (RFC 7208 section 7.3)."""
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name
