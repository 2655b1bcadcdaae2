"""Turning untrusted bounce text into inert literals for PowerShell, POSIX shells, URLs and prose.

Facts come from a paste anyone can write. Each function here returns text that, dropped into a
command, is exactly one argument and can never end the quoting early or start a new statement.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["MAX_FACT_LENGTH", "clean", "ps_literal", "sh_literal", "url_component"]

# Longer than any real address (RFC 5321 caps a path at 256 octets) or host name, short enough
# that a hostile paste cannot bloat a card.
MAX_FACT_LENGTH = 320

# PowerShell treats the typographic single quotes as quote characters too (its tokenizer accepts
# U+2018, U+2019, U+201A and U+201B wherever it accepts '), so each one must be doubled like '.
# See about_Quoting_Rules.
_PS_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")


def clean(value: object) -> str | None:
    """Untrusted text without control or format characters, whitespace collapsed, length capped.

    Returns None for None or for text that is empty once cleaned. Categories Cc (controls,
    including CR, LF, NEL), Cf (format: zero-width and bidi overrides), Zl and Zp (line and
    paragraph separators) are dropped, so a value is always one visible line.
    """
    if value is None:
        return None
    text = str(value)
    if text.isprintable():
        # Fast path: printable text has no controls, format or separator characters; only
        # ordinary spaces remain to collapse.
        result = " ".join(text.split())
    else:
        kept = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
                # Tabs and line breaks become spaces so words stay apart; the rest just go.
                if ch in "\t\n\r\v\f\x85\u2028\u2029":
                    kept.append(" ")
                continue
            kept.append(" " if cat == "Zs" else ch)
        result = " ".join("".join(kept).split())
    if len(result) > MAX_FACT_LENGTH:
        result = result[:MAX_FACT_LENGTH]
    return result or None


def ps_literal(value: object, placeholder: str) -> str:
    """A single-quoted PowerShell string literal of ``value``, or of ``<placeholder>`` if absent.

    Inside single quotes PowerShell expands nothing ($, backtick and double quotes are plain
    characters); the only way out is a quote character, and each one is doubled here.
    """
    text = clean(value)
    if text is None:
        text = f"<{placeholder}>"
    return "'" + _PS_QUOTES.sub(lambda m: m.group(0) * 2, text) + "'"


# A letter or digit, then letters, digits and . _ @ + : - mean the same bare in sh and PowerShell.
_SHELL_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+:-]*")


def sh_literal(value: object, placeholder: str) -> str:
    """A POSIX shell word of ``value`` (or of ``<placeholder>`` if absent): bare when it holds
    only characters no shell treats specially (an IP, a domain, an address), so the command also
    reads right in PowerShell; single-quoted otherwise."""
    text = clean(value)
    if text is None:
        text = f"<{placeholder}>"
    if _SHELL_SAFE.fullmatch(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def url_component(value: object, placeholder: str) -> str:
    """``value`` percent-encoded for one path or query component (nothing left unescaped)."""
    text = clean(value)
    return quote(text if text is not None else placeholder, safe="")
