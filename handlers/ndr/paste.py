"""Undoing what forums, chat tools and log viewers do to a pasted bounce.

People rarely paste a bounce as the mail system wrote it. It arrives inside markdown fences and
inline code or BBCode tags (``[code]``, ``[quote]``, ``[email]``), with ``**bold**`` around addresses, ``[a@b](mailto:a@b)`` link rewrites, HTML
entities and ``<br>`` tags from a web page, backslash escapes from a markdown editor or a JSON
log (``\\n``, ``\\"``), docker-compose's ``service | `` prefixes, nodemailer's ``└──`` transcript
arrows, or a markdown table with the NDR's fields as columns. :func:`repair` turns all of that
back into the plain text the rest of the reader understands.

Pure, and linear in the paste: every pattern is anchored to one line or bounded (the robustness
tests repeat each shape to 200 KB). Only shapes that no real bounce uses are rewritten (no mail
system writes ``**`` around an address or ``&lt;`` in a plain-text report).
"""

from __future__ import annotations

import html
import re

from handlers.ndr.lazyre import lazy

__all__ = ["repair"]

_MAX = 300_000

# --- HTML fragments (a bounce copied from a web page or an issue tracker's rendered view) -----
_HTML_HINT = lazy(
    r"<(?:br|p|div|span|a|pre|code|b|i|em|strong|hr|dl|dd|dt|td|tr|table|li|ul|ol|body|html|h\d)(?:\s[^<>]{0,800})?/?>"
    r"|</(?:p|div|span|a|pre|code|b|i|em|strong|dl|dd|dt|td|tr|table|li|ul|ol|body|html|h\d)>"
    r"|&(?:lt|gt|amp|quot|#\d{1,6}|#x[0-9a-f]{1,6});",
    re.IGNORECASE,
)
_BREAK_TAG = lazy(
    r"<(?:br|hr)\s*/?>|</?(?:p|div|pre|dl|dd|dt|tr|table|li|ul|ol|body|html|h\d)(?:\s[^<>]{0,800})?>",
    re.IGNORECASE,
)
_INLINE_TAG = lazy(
    r"</?(?:a|span|code|b|i|em|strong|td|th|font|u|s|small|big|sup|sub|blockquote|tbody|thead)(?:\s[^<>]{0,800})?>",
    re.IGNORECASE,
)

# --- Markdown ---------------------------------------------------------------------------------
_FENCE = lazy(r"^[ \t>]*(?:```|~~~|''')[\w+-]{0,20}[ \t]*$", re.MULTILINE)
# A fence glued to text on the same line ("```NOQUEUE: ...```", "`queue-1 | ...`").
_EDGE_TICKS = lazy(r"^([ \t>]*)`{1,3}|`{1,3}[ \t]*$", re.MULTILINE)
_INLINE_CODE = lazy(r"`([^`\n]{1,2000})`")
# [text](target): keep the text (the target is a mailto: or a web address).
_LINK = lazy(r"\[([^\[\]\n]{0,400})\]\((?:mailto:\s?|https?://|/|@)[^()\s]{0,400}\)")
# Not inside a run of stars: "***@***.***" is a masked address, not bold text.
_BOLD = lazy(r"(?<!\*)(\*\*|__)(?=[^\s*])([^\n]{1,400}?)(?<=[^\s*])\1(?!\*)")
_ESCAPED_PUNCT = lazy(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
# A whole line in _italics_ ("_\"Expected response code ...\"_").
_ITALIC_LINE = lazy(r"^([ \t]*)_(?=[\"'\w<(])(.*?)_([.,;:]?)[ \t]*$", re.MULTILINE)
# A table's rule line: "|---|:--:|", "-- | --" (tested on the stripped line; no run of spaces is
# split two ways, so no line makes it backtrack).
_TABLE_RULE = lazy(r"\|?:?-{2,}:?(?:[ \t]*\|[ \t]*:?-{2,}:?)+[ \t]*\|?")

# --- BBCode (forums): [code]...[/code], [quote="x"], [email]a@b[/email], [url=...]...[/url] ---
_BBCODE = lazy(
    r"\[/?(?:code|quote|email|url|b|i|u|s|color|size|font|pre|php|spoiler|noparse)(?:=[^\]\n]{0,200})?\]",
    re.IGNORECASE,
)

# --- Escaped strings (JSON logs, language string literals) -----------------------------------
_ESCAPED_NEWLINE = lazy(r"\\r\\n|\\n(?=[245]\d\d[ -]|[245]\.\d{1,3}\.\d{1,3}\b)")
_ESCAPED_QUOTE = lazy(r"\\+([\"'/])")

# --- Log and transcript decorations ----------------------------------------------------------
# docker-compose: "postfix-mailcow_1    | Apr 14 ..."; "queue-1        |   2025-...".
# A service name ends in its replica number ("_1", "-1") or is padded to a column before "|".
_COMPOSE_PREFIX = lazy(
    r"^[ \t>]*_?[A-Za-z0-9][\w.-]{0,60}(?:[-_]\d{1,3}[ \t]+|[ \t]{2,})\|[ \t]", re.MULTILINE
)
# nodemailer's transcript: "SERVER 1:" / "CLIENT 1:" then "└──text" (continuations indented).
_NODEMAILER_SIDE = lazy(r"^(SERVER|CLIENT)(?: (\d{1,3}))?:[ \t]*\n[ \t]*└──", re.MULTILINE)


def repair(text: str) -> str:
    """``text`` with forum, chat, HTML, markdown and log-viewer damage undone.

    Only the first part of a very long paste is repaired (the reader looks no further).
    """
    if len(text) > _MAX:
        return repair(text[:_MAX]) + text[_MAX:]
    if _HTML_HINT.search(text):
        text = _strip_html(text)
    if "`" in text or "'''" in text or "~~~" in text:
        text = _FENCE.sub("", text)
        text = _EDGE_TICKS.sub(r"\1", text)
        text = _INLINE_CODE.sub(r"\1", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "[/" in text or "[code" in text.lower() or "[quote" in text.lower():
        text = _BBCODE.sub("", text)
    if "**" in text or "__" in text:
        text = _BOLD.sub(r"\2", text)
    if "\\" in text:
        text = _unescape(text)
    if "_" in text:
        text = _ITALIC_LINE.sub(r"\1\2\3", text)
    if "|" in text:
        text = _COMPOSE_PREFIX.sub("", text) if _is_compose_log(text) else text
        text = _tables(text)
    if "└──" in text:
        # "SERVER 2:" becomes "S2: ": the number tells parallel connections apart.
        text = _NODEMAILER_SIDE.sub(lambda m: f"{m.group(1)[0]}{m.group(2) or ''}: ", text)
        text = text.replace("└──", "")
    return text


def _strip_html(text: str) -> str:
    text = _BREAK_TAG.sub("\n", text)
    text = _INLINE_TAG.sub("", text)
    # Entities last, so "&lt;a@b&gt;" becomes "<a@b>" and is not taken for a tag above.
    return html.unescape(text).replace("\u200b", "").replace("\xa0", " ")


def _unescape(text: str) -> str:
    if re.search(r"\\[-_*\[\].#!()]", text):
        text = _ESCAPED_PUNCT.sub(r"\1", text)
    for _ in range(3):  # JSON inside JSON escapes twice: undo each level
        before = text
        text = _ESCAPED_NEWLINE.sub("\n", text)
        text = _ESCAPED_QUOTE.sub(r"\1", text)
        if text == before:
            break
    return text


def _is_compose_log(text: str) -> bool:
    lines = [line for line in text.split("\n") if line.strip()]
    prefixed = sum(1 for line in lines if _COMPOSE_PREFIX.match(line))
    return prefixed >= 1 and prefixed * 2 >= len(lines)


def _cells(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return [cell.strip() for cell in inner.split("|")]


def _tables(text: str) -> str:
    """A markdown table becomes ``Header: value`` lines, one row after the other.

    Web views of reports (a forwarding service's failed-deliveries page, a ticket system) show
    the fields of a bounce as table columns; as labelled lines the reader finds them as usual.
    """
    if "|" not in text or "--" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if (
            index + 1 < len(lines)
            and line.count("|") >= 2
            and _TABLE_RULE.fullmatch(lines[index + 1].strip())
        ):
            headers = _cells(line)
            index += 2
            while index < len(lines) and lines[index].count("|") >= 1 and lines[index].strip():
                values = _cells(lines[index])
                for header, value in zip(headers, values, strict=False):
                    if value and header:
                        out.append(f"{header}: {value}")
                    elif value:
                        out.append(value)
                out.append("")
                index += 1
            continue
        out.append(line)
        index += 1
    return "\n".join(out)
