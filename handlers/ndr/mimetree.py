"""The standard library's MIME tree for an ordinary message, built several times faster.

``email.message_from_bytes`` feeds a message through a line-by-line state machine (a generator
per part, an end-of-file test per line per nesting level): about a fifth of the time the reader
takes over a typical bounce. Most bounces have well-formed headers, and for those
:func:`message_tree` cuts the text at boundary and blank lines and builds the tree the standard
parser builds: the same headers, payloads, preambles and trailing-newline rules, so everything
downstream (content types, parameters, decoding) is still the standard library's. Its parts are
``email.message.Message`` objects (compat32) that remember their headers by name and their
parameters once asked (``_Part``), as the reader asks each several times. The tree is
``parse_document``'s alone, read and never changed or copied: a part's own methods that change
its headers make it forget what it remembered, but a copy sharing its header list would not.

Anything out of the ordinary (line breaks other than CR and LF, an envelope line inside the
headers, a nested multipart reusing a boundary, parts nested more than 40 deep) returns None, and
the caller uses ``email.message_from_bytes``. 8-bit bytes are read as that parser reads them
(surrogates), and parts keep compat32's own handling of such headers. Header and boundary
mistakes the standard parser tolerates are tolerated the same way (the same tree), but the
``defects`` it lists are not: the reader never reads them. A test builds both trees for every
sample message, and for generated ones, and compares them.
"""

from __future__ import annotations

import quopri
from bisect import bisect_left
from email._policybase import Compat32
from email.message import Message
from itertools import accumulate
from typing import Any

__all__ = ["message_tree"]

# The standard parser's own rules (email.feedparser), character for character.
# Characters str.splitlines breaks at and the standard parser does not.
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_MAX_DEPTH = 40


class _AsciiCompat32(Compat32):
    """compat32, but an ASCII header value (most of them) is returned as stored: it holds no
    surrogates (undecodable bytes), so compat32's check for them on every read is skipped. Any
    other value gets compat32's own handling."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and value.isascii():
            return value
        return super().header_fetch_parse(name, value)


_ASCII = _AsciiCompat32()
_MISSING = object()
# Transfer encodings Message.get_payload decodes itself, noting defects on the part.
_DECODED_ELSEWHERE = frozenset(("base64", "x-uuencode", "uuencode", "uue", "x-uue"))


class _Part(Message):
    """A ``Message`` that remembers its headers by name and its parameters once asked.

    The standard ``Message`` looks a header up by walking every header, and parses a header's
    parameters again on every ``get_param``; the reader asks each part for its content type, its
    charset, its boundary and its report type, several walks and parses each. A changed header
    forgets what was remembered."""

    def _remembered(self) -> dict[str, tuple[str, Any]]:
        """Each header's first field, (name, value), by lower-case name."""
        found = self.__dict__.get("_by_name")
        if found is None:
            found = {}
            for field in self._headers:  # type: ignore[attr-defined]
                found.setdefault(field[0].lower(), field)
            self.__dict__["_by_name"] = found
        return found

    def _forget(self) -> None:
        self.__dict__.pop("_by_name", None)
        self.__dict__.pop("_params", None)
        self.__dict__.pop("_type", None)

    def get_content_type(self) -> str:
        """As ``Message.get_content_type``, worked out once: the tree tells each part its type
        as it reads its headers (``_type_from``), and the reader asks it again as it walks it."""
        found = self.__dict__.get("_type")
        if found is None:
            found = self.__dict__["_type"] = super().get_content_type()
        return found

    def get_payload(self, i: Any = None, decode: bool = False) -> Any:
        """As ``Message.get_payload``; directly for the parts, and for a text that is ASCII (no
        surrogates for compat32 to turn back into bytes): as stored, or decoded, its bytes
        (quoted-printable through the same ``quopri`` call; base64 and uuencode, which note
        defects, are left to compat32)."""
        payload = self._payload  # type: ignore[attr-defined]
        if i is None and payload.__class__ is list and not decode:
            return payload
        if i is None and payload.__class__ is str and payload.isascii():
            if not decode:
                return payload
            cte = self.get("content-transfer-encoding", "")
            if cte.__class__ is str:
                cte = cte.lower()
                if cte == "quoted-printable":
                    return quopri.decodestring(payload.encode("ascii"))
                if cte not in _DECODED_ELSEWHERE:
                    return payload.encode("ascii")
        return super().get_payload(i, decode)  # type: ignore[call-overload]

    def get(self, name: str, failobj: Any = None) -> Any:
        field = self._remembered().get(name.lower())
        if field is None:
            return failobj
        return self.policy.header_fetch_parse(*field)

    def items(self) -> list[tuple[str, Any]]:
        """As ``Message.items``, without a policy call for each ASCII value (returned as is)."""
        fetch = self.policy.header_fetch_parse
        return [
            (name, value)
            if value.__class__ is str and value.isascii()
            else (name, fetch(name, value))
            for name, value in self._headers  # type: ignore[attr-defined]
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._remembered()

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        params = self.__dict__.setdefault("_params", {})
        found = params.get(header, _MISSING)
        if found is _MISSING:
            value = self.get(header, _MISSING)
            found = _plain_params(value) if value.__class__ is str else None
            if found is None:  # not plain (or no such header): the standard library's parse
                found = super()._get_params_preserve(_MISSING, header)  # type: ignore[misc]
            params[header] = found
        return failobj if found is _MISSING else list(found)  # a copy, as each call gives one


def _plain_params(value: str) -> list[tuple[str, str]] | None:
    """What ``Message._get_params_preserve`` gives for a value without backslashes or RFC 2231
    asterisks whose quotes hold no ";" (None for any other): each ";"-separated piece split at
    its first "=" and stripped, the name lower-cased when there is an "="; every value after
    the first unquoted (or a "<...>" unwrapped), then quoted again with its quotes escaped."""
    if "\\" in value or "*" in value:
        return None
    pieces = value.split(";")
    if '"' in value and any(piece.count('"') % 2 for piece in pieces):
        return None  # a quoted ";": the standard parse does not split there
    params: list[tuple[str, str]] = []
    for piece in pieces:
        name, equals, rest = piece.partition("=")
        if equals:
            name, rest = name.strip().lower(), rest.strip()
        else:
            name = piece.strip()
        if params:
            if len(rest) > 1 and rest[0] + rest[-1] in ('""', "<>"):
                rest = rest[1:-1]
            rest = '"' + rest.replace('"', '\\"') + '"'
        params.append((name, rest))
    return params


def _forgetting(method: Any) -> Any:
    def changed(self: _Part, *args: Any, **kwargs: Any) -> Any:
        self._forget()
        try:
            return method(self, *args, **kwargs)
        finally:
            self._forget()

    return changed


for _name in (
    "__setitem__",
    "__delitem__",
    "set_raw",
    "add_header",
    "replace_header",
    "set_boundary",
    "set_default_type",
):
    setattr(_Part, _name, _forgetting(getattr(Message, _name)))


class _Unusual(Exception):
    """The input needs the standard parser's handling."""


def message_tree(raw: bytes) -> Message | None:
    """What ``email.message_from_bytes(raw)`` returns, or None where only it can say."""
    # As the standard parser reads bytes: 8-bit ones become surrogates, which no header or
    # boundary test matches and which compat32 turns back into bytes where they are read.
    text = raw.decode("ascii", "surrogateescape")
    if any(char in text for char in _OTHER_BREAKS):
        return None
    lines = text.splitlines(True)
    try:
        message, _, _ = _message(_Source(text, lines), 0, len(lines), None, False, ())
    except (_Unusual, RecursionError):
        return None
    return message


class _Source:
    """The message's text and its lines (line ends kept), and where each line starts in the
    text: a part is a range of lines, its body a slice of the text (not its lines joined)."""

    __slots__ = ("lines", "starts", "text")

    def __init__(self, text: str, lines: list[str]) -> None:
        self.text = text
        self.lines = lines
        self.starts = list(accumulate(map(len, lines), initial=0))

    def joined(self, first: int, stop: int) -> str:
        """``"".join(lines[first:stop])``."""
        return self.text[self.starts[first] : self.starts[stop]]


def _new(parent: Message | None, digest: bool) -> Message:
    """A new part of ``parent`` (in a multipart/digest when ``digest``: message/rfc822 by default)."""
    message = _Part(policy=_ASCII)
    if parent is not None:
        if digest:
            message.set_default_type("message/rfc822")
        parent.attach(message)
    return message


def _read_headers(message: Message, lines: list[str], index: int, stop: int) -> int:
    """email.feedparser's _parse_headers, for header blocks it would not flag: reads the header
    lines from ``lines[index]`` on (to ``stop`` at most) into ``message`` and returns the index
    of the first line that is not one (the parser's ``^(From |[\041-\071\073-\176]*:|[\t ])``
    test, without a regex call per line). Each field as compat32's header_source_parse has it:
    the name, and the value from after the colon (leading blanks dropped) through its
    continuation lines, less the final line break."""
    fields = message._headers  # type: ignore[attr-defined]
    start = index
    name: str | None = None  # the field being read
    value = ""  # its first line's value
    more: list[str] | None = None  # with its continuation lines
    typed = -1  # which field is the first Content-Type
    while index < stop:
        line = lines[index]
        if line[0] in " \t":
            # (a first line that is a continuation is dropped, as the parser does)
            if name is not None:
                if more is None:
                    more = [value]
                more.append(line)
            index += 1
            continue
        colon = line.find(":")
        field = line[:colon]
        if colon < 0 or (
            field and not (field.isascii() and field.isprintable() and " " not in field)
        ):
            # Not a field: no colon, or a character before it the name class does not take.
            # (An envelope line is not one either: it has a blank before any colon.)
            if not line.startswith("From "):
                break  # the body starts here
            if index != start:
                raise _Unusual  # an envelope line inside the headers
            message.set_unixfrom(_without_eol(line))
            index += 1
            continue
        if name is not None:
            fields.append((name, ("".join(more) if more else value).rstrip("\r\n")))
            more = None
        # no field name (a line starting with ":"): dropped, as the parser does
        name = field or None
        if typed < 0 and len(field) == 12 and field.lower() == "content-type":
            typed = len(fields)  # where the first Content-Type field goes
        value = line[colon + 1 :].lstrip(" \t")
        index += 1
    if name is not None:
        fields.append((name, ("".join(more) if more else value).rstrip("\r\n")))
    _type_from(message, fields[typed][1] if typed >= 0 else None)
    return index


def _type_from(message: Message, value: str | None) -> None:
    """Tell the part its content type from its first Content-Type value (None: it has none),
    as ``Message.get_content_type`` works it out: the value up to any ";", stripped and
    lower-cased, "text/plain" unless it has one "/"; without one, the default type. A value
    with 8-bit bytes is left to compat32 (which reads it as a ``Header``)."""
    if value is None:
        message.__dict__["_type"] = message.get_default_type()
    elif value.isascii():
        found = value.partition(";")[0].strip().lower()
        message.__dict__["_type"] = found if found.count("/") == 1 else "text/plain"


def _message(
    src: _Source,
    first: int,
    stop: int,
    parent: Message | None,
    digest: bool,
    boundaries: tuple[str, ...],
    depth: int = 0,
) -> tuple[Message, Message, str]:
    """Parse lines ``first`` to ``stop`` as one message (or part); returns it, the last message
    created (the one whose final newline the enclosing boundary takes) and that one's main type.
    ``boundaries``: the enclosing ones; ``depth``: how many parts enclose it."""
    if depth > _MAX_DEPTH:
        raise _Unusual  # (the standard parser recurses too, and gives up near 1,000)
    message = _new(parent, digest)
    lines = src.lines
    end = _read_headers(message, lines, first, stop)
    if end < stop and lines[end][0] in "\r\n":
        end += 1  # the blank line between headers and body (else the body starts at once)
    ctype = message.get_content_type()
    if ctype == "message/delivery-status":
        return message, _status_blocks(message, src, end, stop), "text"
    maintype = ctype.partition("/")[0]
    if maintype == "message":
        _, last, last_type = _message(src, end, stop, message, False, boundaries, depth + 1)
        return message, last, last_type
    if maintype == "multipart":
        _multipart(message, src, end, stop, ctype == "multipart/digest", boundaries, depth)
        return message, message, maintype
    message._payload = src.joined(end, stop)  # type: ignore[attr-defined]
    return message, message, maintype


def _status_blocks(status: Message, src: _Source, index: int, stop: int) -> Message:
    """message/delivery-status: blocks of fields separated by blank lines, one message each."""
    lines = src.lines
    block = status
    while True:
        block = _new(status, False)
        index = _read_headers(block, lines, index, stop)
        if block.get_content_maintype() != "text":
            # A block that declares a type the parser would parse into (one that declares none
            # has the default, text/plain, which the reader has just told it).
            raise _Unusual
        start = index
        while index < stop and lines[index][0] not in "\r\n":
            index += 1
        block._payload = src.joined(start, index)  # type: ignore[attr-defined]
        if index < stop:
            index += 1  # the blank line after the block
        if index >= stop:
            return block


def _multipart(
    message: Message,
    src: _Source,
    first: int,
    stop: int,
    digest: bool,
    boundaries: tuple[str, ...],
    depth: int,
) -> None:
    boundary = message.get_boundary()
    if boundary is None:
        message._payload = src.joined(first, stop)  # type: ignore[attr-defined]
        return
    if boundary in boundaries:
        raise _Unusual  # an enclosing part's boundary reused: the parser's end tests interleave
    inside = (*boundaries, boundary)
    marks = _boundary_lines(src, first, stop, "--" + boundary)
    capturing = True
    closed = linesep = False
    preamble_end = index = stop
    k = 0
    while k < len(marks):
        at, closing, ends_line = marks[k]
        if capturing:
            preamble_end = at
        if closing:
            closed, linesep, index = True, ends_line, at + 1
            break
        if capturing:
            if at > first:
                message.preamble = _without_eol(src.joined(first, at))
            capturing = False
        k += 1
        index = at + 1
        while k < len(marks) and marks[k][0] == index:
            index, k = index + 1, k + 1  # repeated boundary lines (a closing one too): no part
        end = marks[k][0] if k < len(marks) else stop
        _, last_made, last_type = _message(src, index, end, message, digest, inside, depth + 1)
        _trim(last_made, last_type)
        index = end
    if capturing:
        message._payload = src.joined(first, preamble_end)  # type: ignore[attr-defined]
        message.epilogue = ""
        return
    if not closed:
        return
    epilogue = src.joined(index, stop)
    if not linesep:  # (the parser drops one line break the epilogue starts with, if any)
        if epilogue.startswith("\r\n"):
            epilogue = epilogue[2:]
        elif epilogue.startswith(("\r", "\n")):
            epilogue = epilogue[1:]
    message.epilogue = epilogue


def _boundary_lines(
    src: _Source, first: int, stop: int, separator: str
) -> list[tuple[int, bool, bool]]:
    """The boundary lines among lines ``first`` to ``stop``: (line, closing?, ends with a line
    break?) each. The parser's test, ``--boundary(--)?[ \\t]*(line end)?$``, asked only of the
    lines the separator starts: the text is searched for it, not every line tested."""
    text, starts, lines = src.text, src.starts, src.lines
    found: list[tuple[int, bool, bool]] = []
    at, limit = starts[first], starts[stop]
    while (at := text.find(separator, at, limit)) >= 0:
        if at == 0 or text[at - 1] in "\r\n":  # at the start of a line
            line = bisect_left(starts, at, first, stop)
            if not lines[line].startswith(separator):
                break  # a separator holding a line break (a folded parameter): no line has it
            rest = lines[line][len(separator) :]
            closing = rest.startswith("--")
            if closing:
                rest = rest[2:]
            spaces = rest.rstrip("\r\n")
            if not spaces.strip(" \t"):
                found.append((line, closing, len(spaces) != len(rest)))
        at += len(separator)
    return found


def _trim(last: Message, maintype: str) -> None:
    """The newline before a boundary belongs to the boundary (RFC 2046), as the parser has it."""
    if maintype == "multipart":
        if last.epilogue == "":
            last.epilogue = None
        elif last.epilogue is not None:
            last.epilogue = _without_eol(last.epilogue)
        return
    payload = last._payload  # type: ignore[attr-defined]
    if isinstance(payload, str):
        last._payload = _without_eol(payload)  # type: ignore[attr-defined]


def _without_eol(text: str) -> str:
    """``text`` less one final line break (the parser's ``(\\r\\n|\\r|\\n)\\Z``, without
    a regex that would try every position of a long payload)."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\r", "\n")) else text
