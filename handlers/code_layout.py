"""Laying out a PowerShell command so it wraps on a narrow card and still runs when copied.

Chat clients break a code line only at spaces (and, in Teams, after hyphens), so a
``Format-List Name,Enabled,ConnectorType,...`` list or a long pipeline runs off the card. Two
rewrites that PowerShell reads the same way fix that:

- a space after every comma outside quotes and braces-free strings: ``Name, Enabled`` is the same
  array argument as ``Name,Enabled`` (about_Arrays; command-mode parsing allows whitespace
  after the comma);
- a line break after a ``|`` when the line is long: a pipeline continues on the next line after
  a trailing pipe (about_Parsing, "Line continuation");
- a line break after a comma when a list still does not fit: an array argument continues on
  the next line after a trailing comma;
- a line break at a space when a command alone is still too long, with PowerShell's
  line-continuation backtick at the end of the line it leaves (about_Parsing).

Leading spaces are not relied on: chat clients collapse them, so each line must fit by itself.

Text inside single or double quotes is never touched, a quoted string is never split, and
nothing is added at the very end. A line with anything this reader does not follow (a comment,
a here-string, ``$(...)``, ``--%``, a generic type, a backtick of its own) is left as written.
Pure; the card builder applies it to PowerShell blocks only.
"""

from __future__ import annotations

import re

__all__ = ["layout_powershell"]

_INDENT = "  "
_BREAK = "\x00"  # where a comma may end a line (replaced by a space or a line break)
_SPACE = "\x01"  # a space: a line may end there with a continuation backtick
# What this small reader does not follow, so a line holding it is left exactly as written: a
# comment, a here-string, a subexpression (quotes nest inside it), the stop-parsing token, a
# generic type's comma ([Dictionary[string,int]]), and a backtick escape of its own.
# Inside single quotes everything is literal (and the catalogue quotes pasted values so).
_SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")
_LEAVE_ALONE = re.compile(r"#|@['\"]|\$\(|--%|\[[^\]]*,|`")


def layout_powershell(code: str, width: int = 50) -> str:
    """``code`` with spaces after commas and long pipelines broken after their pipes."""
    return "\n".join(_layout_line(line, width) for line in code.split("\n"))


def _layout_line(line: str, width: int) -> str:
    if _LEAVE_ALONE.search(_SINGLE_QUOTED.sub("''", line)):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    pieces = [piece.strip() for piece in _split(line.strip())]
    joined = " | ".join(pieces)
    flat = joined.replace(_BREAK, " ").replace(_SPACE, " ")
    if len(indent) + len(flat) <= width:
        return indent + flat
    lines: list[str] = []
    for n, piece in enumerate(pieces):
        last = n == len(pieces) - 1
        room = width if last else width - 2  # the " |" that continues the pipeline
        first_indent = indent if n == 0 else indent + _INDENT
        filled = _fill(piece, first_indent, first_indent + _INDENT, room)
        lines += filled if last else [*filled[:-1], filled[-1] + " |"]
    return "\n".join(lines)


def _fill(piece: str, first_indent: str, indent: str, width: int) -> list[str]:
    """``piece`` on as few lines as fit ``width``, broken after a list comma or, failing
    that, at a space (with a continuation backtick)."""
    parts = re.split(f"([{_BREAK}{_SPACE}])", piece)
    # Each line as its words (whole tokens between break marks: a quoted string is one word,
    # spaces and all), so a break never lands inside one.
    lines: list[list[str]] = [[first_indent + parts[0]]]
    for mark, part in zip(parts[1::2], parts[2::2], strict=True):
        if len(" ".join(lines[-1])) + 1 + len(part) <= width:
            lines[-1].append(part)
        elif mark == _SPACE:
            words = lines[-1]
            if len(words) > 1 and words[-1].startswith("-"):  # keep a -Parameter with its value
                moved = words.pop()
                lines.append([indent + moved, part])
            else:
                lines.append([indent + part])
            lines[-2].append("`")
        else:
            lines.append([indent + part])
    return [" ".join(words) for words in lines]


def _split(line: str) -> list[str]:
    """``line`` cut at each pipe outside quotes, with a space after each comma outside quotes."""
    pieces: list[str] = []
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        nxt = line[i + 1 : i + 2]
        if quote:
            out.append(char)
            if char == quote and nxt == quote:  # a doubled quote ('it''s') stays inside
                out.append(nxt)
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char in " \t":
            while line[i + 1 : i + 2] in (" ", "\t"):
                i += 1
            if line[i + 1 : i + 2] == "|":
                out.append(" ")  # before a pipe: dropped when the line is cut there
            elif out and line[i + 1 : i + 2]:
                out.append(_SPACE)
        elif char == "|" and nxt != "|" and line[i - 1 : i] != "|":  # not PowerShell 7's ||
            pieces.append("".join(out))
            out = []
        else:
            if char == "," and nxt:
                out.append("," + _BREAK)
                while i + 1 < len(line) and line[i + 1] in " \t":
                    i += 1
            else:
                out.append(char)
        i += 1
    pieces.append("".join(out))
    return pieces
