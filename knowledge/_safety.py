"""A small lexer that tells which parts of a rendered command a shell would act on.

Used at load time and in tests: a fact rendered into a command must sit entirely inside a
single-quoted literal. ``live_text`` returns the command with every single-quoted literal taken
out; whatever remains (including the inside of double-quoted strings, where both PowerShell and
POSIX shells expand ``$(...)``) is "live", and no fact text may appear there.
"""

from __future__ import annotations

__all__ = ["live_text"]

# PowerShell accepts the typographic single quotes wherever it accepts ' (about_Quoting_Rules).
_PS_SINGLE = "'\u2018\u2019\u201a\u201b"
_PS_DOUBLE = '"\u201c\u201d\u201e'


def live_text(code: str, shell: str) -> str:
    """``code`` without its single-quoted literals, as PowerShell or a POSIX shell reads it."""
    singles = _PS_SINGLE if shell == "powershell" else "'"
    doubles = _PS_DOUBLE if shell == "powershell" else '"'
    out: list[str] = []
    i, n = 0, len(code)
    in_double = False
    while i < n:
        ch = code[i]
        if in_double:
            out.append(ch)
            if ch in doubles:
                in_double = False
            i += 1
        elif ch in singles:
            # Skip to the closing quote. PowerShell reads a doubled quote as one literal quote;
            # a POSIX shell has no escapes inside single quotes at all.
            i += 1
            while i < n:
                if code[i] in singles:
                    if shell == "powershell" and i + 1 < n and code[i + 1] in singles:
                        i += 2
                        continue
                    break
                i += 1
            i += 1
            out.append(" ")
        else:
            if ch in doubles:
                in_double = True
            out.append(ch)
            i += 1
    return "".join(out)
