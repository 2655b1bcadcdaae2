"""From raw input to a :class:`Document`: the report's own headers, its human-readable text, its
delivery-status fields and the headers of the returned original message.

Accepts a whole message (``.eml``: RFC 3464 ``multipart/report``, ``message/rfc822``,
``text/rfc822-headers``, quoted-printable and base64 parts, HTML-only bodies, any charset) or a
plain paste. It reads as far as it can and never raises on bad input.
"""

from __future__ import annotations

import email
import email.message
import re
from dataclasses import dataclass, field

from handlers.ndr.headers import parse_header_block
from handlers.ndr.lazyre import lazy
from handlers.ndr.mimetree import message_tree
from handlers.ndr.paste import repair
from handlers.ndr.text import (
    decode_bytes,
    decode_header,
    html_to_text,
    normalise,
    strip_quote_markers,
)

__all__ = ["Document", "parse_document", "split_original"]

_MAX_DEPTH = 12
_MAX_PARTS = 200


@dataclass
class Document:
    """The parts of an input that the reader looks at."""

    headers: tuple[tuple[str, str], ...] = ()  # the report's own headers
    texts: list[str] = field(default_factory=list)  # human-readable parts, in order
    dsn_texts: list[str] = field(default_factory=list)  # message/delivery-status bodies
    original_headers: list[tuple[str, str]] = field(default_factory=list)
    content_types: list[str] = field(
        default_factory=list
    )  # every part's type, for recognising reports
    report_type: str = ""  # multipart/report's report-type parameter
    is_message: bool = False  # True when the input had message headers
    notes: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        """The first value of a top-level header (RFC 2047 decoded), or ``""``."""
        first, decoded = self._first_values()
        key = name.lower()
        found = decoded.get(key)
        if found is None:
            value = first.get(key)
            found = decoded[key] = "" if value is None else decode_header(value)
        return found

    def _first_values(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each header's first value by lower-case name, and those decoded so far, kept while
        ``headers`` is the same (immutable) tuple: the reader asks for a dozen headers of every
        report, several more than once."""
        kept = self.__dict__.get("_first")
        if kept is None or kept[0] is not self.headers:
            first: dict[str, str] = {}
            for key, value in self.headers:
                first.setdefault(key.lower(), value)
            kept = self.__dict__["_first"] = (self.headers, first, {})
        return kept[1], kept[2]


_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,60}):")
_MAIL_HEADERS = frozenset(
    [
        "from",
        "to",
        "subject",
        "date",
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "content-type",
        "delivered-to",
        "x-failed-recipients",
        "auto-submitted",
        "reply-to",
        "cc",
        "sender",
    ]
)
_DSN_ONLY = frozenset(
    [
        "final-recipient",
        "original-recipient",
        "diagnostic-code",
        "reporting-mta",
        "action",
        "status",
        "remote-mta",
    ]
)


def _looks_like_message(text: str) -> bool:
    """True when ``text`` starts with an RFC 5322 header block (not with pasted DSN fields)."""
    known = dsn = 0
    named = False
    for line in text.lstrip("\n").split("\n")[:60]:
        field = _HEADER_LINE.match(line)
        if field is not None:
            named = True
            name = field.group(1).lower()
            if name in _MAIL_HEADERS or name.startswith("x-"):
                known += 1
            elif name in _DSN_ONLY:
                dsn += 1
            continue
        if not line.strip():
            break
        if line[0] in " \t" or (line.startswith("From ") and not named):
            continue  # a folded line; an mbox separator
        return False
    return known >= 2 and dsn < 2


def parse_document(data: bytes | str) -> Document:
    """Split ``data`` into a :class:`Document`. Never raises for any input."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", errors="surrogateescape")
    if b"\x00" in raw[:4096]:
        raw = raw.replace(b"\x00", b"")
    # Only the first 60 lines (after leading blank ones) say whether it is a message: decode no more.
    head = b"\n".join(raw[:8192].lstrip(b"\r\n").split(b"\n", 61)[:61])
    if _looks_like_message(normalise(decode_bytes(head))):
        try:  # the standard parser's tree, built faster where it can be
            message = message_tree(raw)
        except Exception:  # a header the standard library itself cannot read (its own bug): the
            message = None  # standard parser then fails the same way, and is guarded below
        if message is None:
            try:
                message = email.message_from_bytes(raw)
            except Exception:
                message = None
        if message is not None:
            doc = Document(is_message=True)
            doc.headers = tuple([(k, _text(v)) for k, v in message.items()[:500]])
            _walk(message, doc, depth=0)
            if not doc.texts and not doc.dsn_texts:
                # A multipart whose boundary never appears: the whole body is its preamble.
                preamble = message.preamble or ""
                body = _payload(message)
                if not preamble and isinstance(body, str):
                    preamble = body
                if preamble.strip():
                    doc.texts.append(normalise(preamble))
            if not doc.texts and not doc.dsn_texts:
                doc.notes.append("the message had no readable text part")
            return doc
    text = strip_quote_markers(normalise(data if isinstance(data, str) else decode_bytes(raw)))
    doc = Document(texts=[strip_quote_markers(repair(text))])
    return doc


def _text(value: object) -> str:
    """A header value as text: as it is when it is already ``str`` (nearly all), else ``str()``
    of it (compat32 gives a ``Header`` for a value with 8-bit bytes)."""
    return value if value.__class__ is str else str(value)


def _part_text(part: email.message.Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        charset = _charset(part)
        return normalise(decode_bytes(payload, charset if isinstance(charset, str) else None))
    raw = _payload(part)
    return normalise(raw) if isinstance(raw, str) else ""


def _payload(part: email.message.Message) -> object:
    """``part.get_payload()``; where that raises, the payload as the standard library gives it
    with no usable charset. It decodes an 8-bit text payload with the part's charset parameter
    and catches only LookupError: a malformed RFC 2231 parameter raises TypeError, a charset
    like "idna" UnicodeError."""
    try:
        return part.get_payload()
    except Exception:
        raw = part._payload  # type: ignore[attr-defined]
        if isinstance(raw, str):
            return raw.encode("utf-8", "surrogateescape").decode("ascii", "replace")
        return raw


def _charset(part: email.message.Message) -> object:
    """The part's declared charset, or None. A malformed RFC 2231 parameter (``charset*=`` beside
    ``charset*1=``) makes the standard library's own decoding raise: no charset, then."""
    try:
        return part.get_content_charset() or part.get_param("charset") or None
    except Exception:
        return None


def _message_block_text(part: email.message.Message) -> str:
    """The text of a ``message/delivery-status`` part, whichever way the parser stored it."""
    payload = _payload(part)
    if isinstance(payload, list):
        blocks = []
        for sub in payload[:_MAX_PARTS]:
            if isinstance(sub, email.message.Message):
                blocks.append("\n".join(f"{k}: {decode_header(v)}" for k, v in sub.items()))
                body = _payload(sub)
                if isinstance(body, str) and body.strip():
                    blocks[-1] += "\n" + body.strip()
        return normalise("\n\n".join(blocks))
    return _part_text(part)


def _walk(part: email.message.Message, doc: Document, depth: int, ctype: str | None = None) -> None:
    if depth > _MAX_DEPTH or len(doc.content_types) > _MAX_PARTS:
        return
    ctype = ctype or part.get_content_type()
    doc.content_types.append(ctype)
    if ctype == "multipart/report" and not doc.report_type:
        try:
            doc.report_type = str(part.get_param("report-type") or "").lower()
        except Exception:  # a malformed RFC 2231 parameter: the standard library raises
            doc.report_type = ""
    payload = _payload(part) if ctype.startswith("multipart/") else None
    if isinstance(payload, str):
        # A multipart whose boundary parameter was lost (a badly folded header): its body is
        # still the text, sub-part headers and all.
        text = _part_text(part)
        if text.strip():
            doc.texts.append(strip_quote_markers(text))
        return
    if part.is_multipart() and ctype.startswith("multipart/"):
        html_parts: list[email.message.Message] = []
        before = len(doc.texts)
        for sub in payload if isinstance(payload, list) else []:
            if not isinstance(sub, email.message.Message):
                continue
            sub_type = sub.get_content_type()
            if sub_type == "text/html":
                html_parts.append(sub)  # read only if no other part gave text (the HTML is slow)
                doc.content_types.append("text/html")
                continue
            _walk(sub, doc, depth + 1, sub_type)
        if html_parts and len(doc.texts) == before:
            texts = (html_to_text(_part_text(sub)) for sub in html_parts)
            doc.texts.extend(t for t in texts if t.strip())
        return
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        doc.dsn_texts.append(_message_block_text(part))
    elif ctype in ("message/rfc822", "message/global", "message/partial"):
        payload = _payload(part)
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, email.message.Message) and not doc.original_headers:
            doc.original_headers = [(k, _text(v)) for k, v in inner.items()[:500]]
            if inner.get_content_type() == "message/rfc822" or not inner.items():
                _walk(inner, doc, depth + 1)
        elif isinstance(payload, str) and not doc.original_headers:
            doc.original_headers = parse_header_block(normalise(payload))
    elif ctype in ("text/rfc822-headers", "text/global-headers"):
        if not doc.original_headers:
            doc.original_headers = parse_header_block(_part_text(part))
    elif ctype == "text/html":
        text = html_to_text(_part_text(part))
        if text.strip():
            doc.texts.append(text)
    elif ctype.startswith("text/") or ctype == "message/feedback-report":
        text = _part_text(part)
        if ctype == "message/feedback-report":
            doc.dsn_texts.append(text)
        elif text.strip():
            doc.texts.append(strip_quote_markers(text))
    elif ctype == "application/octet-stream" or ctype.startswith(("image/", "audio/", "video/")):
        return


# Where a copy of the original message starts inside a text part (Exim, qmail, Sendmail, Exchange,
# Gmail and generic "original message" separators). One line each, anchored: linear to search.
_ORIGINAL_MARKERS = lazy(
    r"^[ \t]*(?:"
    r"-{2,}\s*This is a copy of the message, including all the headers\.?\s*-*"
    r"|-{2,}\s*The header of the original message is following\.?\s*-*"
    r"|-{2,}\s*Below this line is a copy of the message\.?"
    r"|-{2,}\s*(?:Original|Returned|Undelivered|Unsent) message(?: follows\.?)?\s*-*"
    r"|Original message follows\.?"
    r"|-{3,}\s*original message\s*-*"
    r"|Original message headers:"
    r"|-{2,}\s*Original message headers\s*-*"
    r"|-{2,}\s*Headers of the original message\s*-*"
    r"|-{2,}\s*The following is a copy of the original message headers\.?\s*-*"
    r"|-{2,}\s*Message header follows\s*-*"
    r"|-{2,}\s*Original mail header\s*-*"
    r"|\*{2,}\s*Original message\s*\*{0,}"
    r"|The original message was:"
    r"|Message headers follow:?"
    r"|Content-Type: message/rfc822"
    r"|Content-Type: text/rfc822-headers"
    r")[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def split_original(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a text part into (report text, headers of the copy of the original that follows)."""
    match = _ORIGINAL_MARKERS.search(text)
    if not match:
        return text, []
    after = text[match.end() :].lstrip("\n")
    return text[: match.start()], parse_header_block(after[:65536])
