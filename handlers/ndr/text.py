"""Turning whatever was pasted into plain, predictable text.

Pure functions only. Every pattern here is linear: no nested quantifiers, and the unbounded ones
are anchored to a single line, so no input can make them backtrack for long.
"""

from __future__ import annotations

import email.errors
import email.header
import html
import re

from handlers.ndr.lazyre import lazy

__all__ = [
    "decode_bytes",
    "decode_header",
    "html_to_text",
    "normalise",
    "strip_quote_markers",
    "unfold_wrapped",
]

# Characters people's clients insert that change nothing for a mail administrator.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_LOOKALIKE = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2007": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\uff1a": ":",
        "\r": "",
    }
)
# Control characters other than tab, newline and carriage return, each made a space (a
# translation table: several times faster than a character-class regex over a long paste).
_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F], " ")
# The same for ASCII text as a byte table: bytes.translate runs in C without a per-character
# dictionary lookup (several times faster on a report, ten times on a header value).
_CONTROL_BYTES = bytes(32 if byte in _CONTROL else byte for byte in range(256))
# The three tables as one (no character is a key of two, and none maps to another's key), and
# a character class of every key in them.
_REPLACEMENT = {
    chr(key): value or "" for key, value in {**_INVISIBLE, **_LOOKALIKE, **_CONTROL}.items()
}
_MAPPED = re.compile("[" + "".join(f"\\U{ord(char):08x}" for char in sorted(_REPLACEMENT)) + "]")


def _mapped(match: re.Match[str]) -> str:
    return _REPLACEMENT[match.group()]


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode bytes in the declared charset, else UTF-8, else Windows-1252; never raises.

    Windows-1252 is the fallback because it maps every byte but five, and Exchange writes it;
    the five gaps become U+FFFD rather than an exception.
    """
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(_charset_alias(candidate))
        except (LookupError, ValueError):  # (UnicodeError too: "idna", "undefined", a NUL)
            continue
    return data.decode("cp1252", errors="replace")


def _charset_alias(name: str) -> str:
    name = name.strip().strip('"').lower()
    # Mail clients label text with charsets Python knows under other names, or with their subsets.
    return {
        "us-ascii": "utf-8",
        "ascii": "utf-8",
        "iso-8859-1": "cp1252",
        "latin-1": "cp1252",
        "ks_c_5601-1987": "cp949",
        "x-sjis": "shift_jis",
        "gb2312": "gb18030",
        "x-unknown": "utf-8",
        "unknown-8bit": "utf-8",
    }.get(name, name)


def normalise(text: str) -> str:
    """Unify line endings, look-alike punctuation and invisible characters; drop controls."""
    if text.isascii():  # the common case: no look-alikes or invisibles can be in it
        return text.encode("ascii").translate(_CONTROL_BYTES, b"\r").decode("ascii")
    # Other text (Japanese, say) is mostly characters no table maps, and str.translate looks
    # each character up in a dictionary: find the few that change in one regex pass instead.
    text = text.replace("\r\n", "\n")
    if _MAPPED.search(text) is None:
        return text
    return _MAPPED.sub(_mapped, text)


_QUOTE = lazy(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)
_QUOTE_AFTER_BREAK = re.compile(r"\n[ \t]{0,3}>")


def _quoted_line(text: str) -> bool:
    """Whether a line starts with a quote marker (``_QUOTE`` finds one): the first line, or one
    after a line break, which re finds by jumping from break to break (``^`` it tries everywhere)."""
    first = text[:4].lstrip(" \t")
    return first.startswith(">") or _QUOTE_AFTER_BREAK.search(text) is not None


def strip_quote_markers(text: str) -> str:
    """Remove e-mail/chat quote markers (``> ``), one level at a time, while most lines carry them.

    One level per pass keeps a quoted SMTP transcript's own ``>>>`` markers readable.
    """
    for _ in range(4):
        if ">" not in text or not _quoted_line(text):
            return text  # no line is quoted: no need to count the lines
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return text
        # A marker sits within a line's first four characters: look there before the pattern.
        quoted = sum(1 for line in lines if ">" in line[:4] and _QUOTE.match(line))
        if quoted * 2 < len(lines):
            return text
        text = _QUOTE.sub("", text)
    return text


def unfold_wrapped(lines: list[str]) -> str:
    """Join a wrapped paragraph into one line, collapsing the wrap's whitespace."""
    return " ".join(part.strip() for part in lines if part.strip())


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "tr",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "blockquote",
        "pre",
        "hr",
        "dt",
        "dd",
        "ul",
        "ol",
        "section",
    ]
)
_SKIP_TAGS = frozenset(("style", "script", "head", "title"))


# HTML's markup as a browser's tokenizer tells it apart (HTML5, 13.2.5): a comment, a declaration
# or processing instruction, a start or end tag (quoted attribute values may hold ">"), or "</"
# and no name (a bogus comment). One unfinished at the end of the text runs to it, and is left
# out as a browser leaves it out. A "<" that starts none of them is text.
_MARKUP = re.compile(
    r"<(?:!--.*?(?:-->|\Z)"
    r"|[!?][^>]*(?:>|\Z)"
    r"|(/?)([a-zA-Z][^\t\n\r\f />\x00]*)(?:=\s*(?:\"[^\"]*\"|'[^']*')|[^>])*+(?:>|\Z)"
    r"|/[^>]*(?:>|\Z))",
    re.DOTALL,
)
# Elements whose content is raw text up to their end tag (markup inside is not markup), and
# where that ends (its name in ASCII letters of either case: not str.lower(), which can change a
# text's length and so its positions).
_RAW_TEXT = {tag: re.compile("</" + tag, re.IGNORECASE | re.ASCII) for tag in ("style", "script")}
_SPACES = lazy(r"[ \t]+")
_MANY_BLANKS = lazy(r"\n[ \t]*\n(?:[ \t]*\n)+")


def html_to_text(markup: str) -> str:
    """Reduce HTML to text, keeping block structure as line breaks (for HTML-only NDRs).

    A tokenizer of our own rather than ``html.parser``, which parses every attribute of every
    tag (an HTML bounce is mostly styled tables: about 2 ms for 60 KB, against a few tenths).
    Text between tags has its character references resolved once; styles, scripts and the
    head are left out; a block element is a line break, a table cell a tab."""
    parts: list[str] = []
    skip = 0  # how many style, script, head or title elements are open
    at, end = 0, len(markup)
    while at < end:
        found = _MARKUP.search(markup, at)
        stop = found.start() if found else end
        if stop > at and not skip:
            data = markup[at:stop]
            parts.append(html.unescape(data) if "&" in data else data)
        if found is None:
            break
        at = found.end()
        tag = found.group(2)
        if tag is None:
            continue  # a comment or declaration
        tag = tag.lower()
        if found.group(1):  # an end tag
            if tag in _SKIP_TAGS:
                skip = max(0, skip - 1)
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        elif markup.endswith("/>", found.start(), at):  # a self-closing tag
            if tag in _BLOCK_TAGS:
                parts.append("\n")
        elif tag in _SKIP_TAGS:
            skip += 1
            if tag in _RAW_TEXT:  # its content is not markup: on to its end tag
                close = _RAW_TEXT[tag].search(markup, at)
                at = end if close is None else close.start()
        elif tag in _BLOCK_TAGS:
            parts.append("\n")
        elif tag in ("td", "th"):
            parts.append("\t")
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n")]
    return _MANY_BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


def decode_header(value: object) -> str:
    """An RFC 2047-decoded, single-line header value; undecodable words are kept as they are."""
    if not isinstance(value, str):
        value = str(value)
    if value.isascii() and value.isprintable() and "=?" not in value:
        return value.strip()  # the common case: nothing to decode, map or unfold
    text = value
    if "=?" in value:
        try:
            text = str(email.header.make_header(email.header.decode_header(value)))
        except (ValueError, LookupError, UnicodeError, email.errors.MessageError):
            text = value
    return normalise(text).replace("\n", " ").strip()
