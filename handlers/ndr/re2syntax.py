"""Python ``re`` syntax in RE2's, where the two engines mean the same on an ASCII text.

Pure functions over pattern text: :func:`translate` gives RE2's spelling of a pattern, or None
where the engines could differ (the rules are in ``automaton``'s docstring, which runs them), and
:func:`relaxed` a pattern that matches wherever a pattern with lookarounds does (and perhaps
elsewhere), for RE2 to rule texts out before ``re`` is asked.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

__all__ = ["relaxed", "syntax_tree", "translate"]

_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE  # UNICODE: every str pattern
# Python's \s over ASCII (str.isspace): RE2's own \s lacks \v and \x1c-\x1f. _BLANK: the same
# less the line break, what "[^\S\n]" means.
_BLANK = r"\t\x0b\x0c\r \x1c-\x1f"
_SPACE = r"\n" + _BLANK


def translate(source: str, flags: int) -> tuple[str, bool] | None:
    """``source`` in RE2's syntax with ``re``'s meaning, or None where they could differ; and
    whether it has a ``$`` that means "end" only for a text not ending in a newline (``re``'s
    ``$`` outside ``MULTILINE`` also matches before a final newline; RE2's ``\\z`` does not)."""
    if flags & ~_FLAGS or "{," in source:
        return None
    if not _reads_alike(source, flags):
        return None
    out: list[str] = []
    in_class = False
    dollar = False
    i = 0
    while i < len(source):
        char = source[i]
        if not char.isascii() or (char == "\\" and not source[i + 1 : i + 2].isascii()):
            # A character beyond ASCII (or its escape) never matches in an ASCII text, the only
            # kind RE2 is given; U+0080 neither, and as a range's end it keeps the range's ASCII.
            # Unless re's case folding could match it to ASCII ("K", the Kelvin sign, to "k";
            # asked whatever the flags, as a group may ignore case on its own), or it ends a
            # range in a pattern that ignores case anywhere (the range could hold such a one).
            width = 2 if char == "\\" else 1
            ranged = source[i + width : i + width + 1] == "-" or (out and out[-1] == "-")
            if _folds_to_ascii(source[i + width - 1]) or (
                in_class and ranged and (flags & re.IGNORECASE or _CASE_GROUP.search(source))
            ):
                return None
            out.append("\\x80" if in_class else "\\x{80}")
            i += width
            continue
        if char == "\\" and i + 1 < len(source):
            escaped = source[i + 1]
            if (escaped.isdigit() and escaped != "0") or escaped in "gNu":
                return None  # back-reference, \g<...>, named character, \uXXXX
            if escaped == "Z":
                out.append("\\z")  # the very end, in both (RE2 spells it \z)
            elif escaped == "s":
                out.append(_SPACE if in_class else f"[{_SPACE}]")
            elif escaped == "S":
                if in_class:
                    return None
                out.append(f"[^{_SPACE}]")
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "[" and source.startswith("[:", i):
                return None  # RE2 reads "[:alpha:]" inside a class as a POSIX class
            if char == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(char)
        elif char == "[":
            if source.startswith("[^\\S\\n]", i):  # a blank that is not a line break
                out.append(f"[{_BLANK}]")
                i += 7
                continue
            in_class = True
            if source.startswith("[^", i):
                out.append("[^")
                i += 2
                if source.startswith("]", i):  # "[^]...]": a literal ] first
                    out.append("\\]")
                    i += 1
                continue
            out.append("[")
            if source.startswith("]", i + 1):
                out.append("\\]")
                i += 1
        elif char == "$" and not flags & re.MULTILINE:
            out.append("\\z")
            dollar = True
        elif char == "(" and source.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?P="), i):
            return None
        else:
            out.append(char)
        i += 1
    prefix = "".join(
        flag for bit, flag in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
        if flags & bit
    )  # fmt: skip
    translated = "".join(out)
    return (f"(?{prefix}){translated}" if prefix else translated), dollar


_ASCII_CHARACTERS = "".join(map(chr, range(128)))


_CASE_GROUP = re.compile(r"\(\?[a-zA-Z-]*i")  # an inline flag group that may ignore case


def _folds_to_ascii(char: str) -> bool:
    """True when ``re``, ignoring case, matches the (non-ASCII) character to an ASCII one ("K",
    the Kelvin sign, to "k"). Asked of ``re`` itself, once per pattern."""
    return re.search(re.escape(char), _ASCII_CHARACTERS, re.IGNORECASE) is not None


@functools.lru_cache(maxsize=1024)
def syntax_tree(source: str, flags: int) -> Any:
    """``re``'s own parse of a pattern (read here and by the word test; parsed once), or None
    when it does not parse."""
    try:
        return _parser.parse(source, flags)
    except (re.error, RecursionError):
        return None


def _reads_alike(source: str, flags: int) -> bool:
    """False for the syntax whose meaning differs in a way the characters alone do not show: a
    repeat whose body can match nothing (``(a*)+``: re stops the loop where one pass matched
    nothing, RE2 goes on to the next alternative) and a group that switches MULTILINE itself
    (``(?m:...)``: the $ rule above reads only the pattern's own flags)."""
    tree = syntax_tree(source, flags)
    if tree is None:
        return False
    pending = [list(tree)]
    while pending:
        for op, av in pending.pop():
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                _low, high, body = av
                if high > 1 and body.getwidth()[0] == 0:
                    return False
                pending.append(list(body))
            elif op is sre.SUBPATTERN:
                if (av[1] | av[2]) & re.MULTILINE:
                    return False
                pending.append(list(av[3]))
            elif op is sre.BRANCH:
                pending.extend(list(branch) for branch in av[1])
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                pending.append(list(av[1]))
            elif op is sre.GROUPREF_EXISTS:
                return False
    return True


_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")
_COUNT = re.compile(r"\{(?:(\d+)(?:,\d*)?|,\d*)\}")  # {m} {m,} {m,n} {,n} {,}; "{}" is a literal


def relaxed(source: str) -> str | None:
    """``source`` without its lookarounds, without the upper bounds of its counted repeats and
    with every group non-capturing, or None where that cannot be said of it (a back-reference,
    a conditional, a comment). Each change only widens where a pattern matches, so the result
    matches wherever ``source`` does: where it does not match, neither does ``source``. (A bound
    like ``{1,255}`` would cost RE2 an automaton hundreds of states wide, and its time.) It may
    not parse (``(?!x)*``): the caller checks."""
    out: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            out.append(source[i : i + 2])
            i += 2
        elif char == "[":
            end = _class_end(source, i)
            out.append(source[i:end])
            i = end
        elif char == "{" and (count := _COUNT.match(source, i)):
            out.append("{" + (count.group(1) or "0") + ",}")  # no upper bound (see above)
            i = count.end()
        elif char != "(":
            out.append(char)
            i += 1
        elif source.startswith(_LOOKAROUNDS, i):
            i = _group_end(source, i)
            if source[i : i + 1] in ("*", "+", "?", "{"):
                return None  # a repeated lookaround: its repeat would fall on what precedes it
        elif source.startswith(("(?P=", "(?(", "(?#"), i):
            return None
        elif source.startswith("(?P<", i):
            out.append("(?:")
            i = source.index(">", i) + 1
        elif source.startswith("(?", i):
            out.append("(?")
            i += 2
        else:
            out.append("(?:")
            i += 1
    return "".join(out)


def _class_end(source: str, start: int) -> int:
    """Where the character class opening at ``start`` ends (after its "]")."""
    i = start + 1
    if source.startswith("^", i):
        i += 1
    if source.startswith("]", i):  # a "]" first is a literal one
        i += 1
    while i < len(source) and source[i] != "]":
        i += 2 if source[i] == "\\" else 1
    return i + 1


def _group_end(source: str, start: int) -> int:
    """Where the group opening at ``start`` ends (after its ")")."""
    depth = 0
    i = start
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(source, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i
