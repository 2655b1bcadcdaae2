"""From whatever arrived to the XML of each report in it, by the bytes, never by the name.

A report comes as XML, gzip (``.xml.gz``), zip (``.zip``), or a whole e-mail message with one of
those attached (what receivers send to the ``rua`` mailbox, and what a mail-flow rule forwards).
Compressed data is inflated in bounded steps: a small archive that inflates past ``max_bytes``
(a zip bomb) is refused, not inflated.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import io
import zipfile
import zlib
from dataclasses import dataclass

from handlers.refusals import Refusal

__all__ = ["DEFAULT_MAX_XML_BYTES", "UnpackError", "Unpacked", "sniff", "unpack"]

DEFAULT_MAX_XML_BYTES = 200 * 1024 * 1024  # one report's XML, inflated
_MAX_FILES = 50  # reports in one archive or message
_CHUNK = 1024 * 1024
_MAX_DEPTH = 4


class UnpackError(Refusal):
    """Nothing in the input is a report; the message says what was found instead."""


@dataclass(frozen=True)
class Unpacked:
    """One report's XML and where it was found (``report.xml.gz in the message``)."""

    xml: bytes
    where: str


def sniff(data: bytes) -> str:
    """``"gzip"``, ``"zip"``, ``"xml"``, ``"message"`` or ``"unknown"``, from the first bytes."""
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"PK\x03\x04":
        return "zip"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<feedback", b"<!--")) or head[:1] == b"<":
        return "xml"
    first = head.split(b"\n", 1)[0]
    if b":" in first and first.split(b":", 1)[0].replace(b"-", b"").isalnum():
        return "message"
    if first.startswith(b"From "):  # an mbox's first line
        return "message"
    return "unknown"


def looks_like_report(data: bytes) -> bool:
    """True for what a receiver sends as a DMARC report file: gzip, zip, or XML whose root is
    ``<feedback>`` (a bounce or a pasted text is none of these)."""
    kind = sniff(data)
    if kind in ("gzip", "zip"):
        return True
    return kind == "xml" and b"<feedback" in data[:4096]


class _Budget:
    """Bytes left to inflate for one input, across every archive and member in it."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.total = total

    def take(self, size: int, where: str) -> None:
        self.left -= size
        if self.left < 0:
            raise UnpackError(f"{where} inflates past {self.total // (1024 * 1024)} MB in all")


def _inflate_gzip(data: bytes, budget: _Budget, where: str) -> bytes:
    """Every member of a gzip stream (one after another, as gzip allows), within the budget."""
    out = io.BytesIO()
    rest = memoryview(data)
    while len(rest):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pos = 0
        while not inflater.eof:
            if inflater.unconsumed_tail:
                given: bytes | memoryview = inflater.unconsumed_tail
            elif pos < len(rest):
                given, pos = rest[pos : pos + _CHUNK], pos + _CHUNK
            else:
                raise UnpackError(f"{where}: the gzip data is cut short")
            chunk = inflater.decompress(given, budget.left + 1)
            budget.take(len(chunk), where)
            out.write(chunk)
        tail = bytes(inflater.unused_data) + bytes(rest[pos:] if pos < len(rest) else b"")
        tail = tail.lstrip(b"\x00")  # padding between members is allowed
        if tail[:2] != b"\x1f\x8b":
            break  # trailing bytes that are not another member: ignored, as gzip does
        rest = memoryview(tail)
    return out.getvalue()


def _members(data: bytes, budget: _Budget, where: str) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()][:_MAX_FILES]
        out = []
        for info in infos:
            with archive.open(info) as member:
                head = member.read(4096)
                if sniff(head) == "unknown":
                    continue  # a logo, a signature: not inflated, not kept
                content = head + member.read(budget.left + 1 - len(head))  # bounded as it reads
            budget.take(len(content), f"{info.filename[:80]} in {where}")
            out.append((info.filename[:200], content))
        return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise UnpackError(f"the zip archive cannot be read ({type(error).__name__})") from None
    except RuntimeError:  # an encrypted member
        raise UnpackError("the zip archive is encrypted") from None


def _attachments(data: bytes) -> list[tuple[str, bytes]]:
    if data.startswith(b"From "):  # one message of an mbox: drop the separator line
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        parts = list(message.walk())
    except Exception as error:  # the standard library's own bugs on malformed RFC 2231 parameters
        raise UnpackError(f"the message cannot be read ({type(error).__name__})") from None
    out: list[tuple[str, bytes]] = []
    for part in parts:
        if part.is_multipart() or len(out) >= _MAX_FILES:
            continue
        ctype = part.get_content_type()
        try:
            name = str(part.get_filename() or "")
        except Exception:  # a malformed RFC 2231 filename: the attachment has no name then
            name = ""
        if ctype.startswith("text/plain") and not name:
            continue  # the covering note
        if ctype.startswith(("image/", "audio/", "video/")):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            out.append((name[:200] or ctype, payload))
    return out


def unpack(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_XML_BYTES, where: str = "the input"
) -> list[Unpacked]:
    """Every report's XML in ``data``. Raises :class:`UnpackError` when there is none."""
    found = _unpack(data, _Budget(max_bytes), where, 0)
    if not found:
        raise UnpackError(
            f"no DMARC report in {where}: send the report's XML, .xml.gz or .zip, or the whole "
            "message with the report attached"
        )
    return found


def _unpack(data: bytes, budget: _Budget, where: str, depth: int) -> list[Unpacked]:
    if depth > _MAX_DEPTH:
        return []
    kind = sniff(data)
    if kind == "xml":
        if depth == 0:
            budget.take(len(data), where)  # inflated XML was counted as it inflated
        return [Unpacked(data, where)]
    if kind == "gzip":
        try:
            inflated = _inflate_gzip(data, budget, where)
        except zlib.error:
            raise UnpackError(f"{where}: the gzip data is corrupt") from None
        return _unpack(inflated, budget, f"{where} (gzip)", depth + 1)
    if kind == "zip":
        out: list[Unpacked] = []
        for name, content in _members(data, budget, where):
            out += _unpack(content, budget, f"{name} in {where}", depth + 1)
        return out
    if kind == "message" and depth == 0:
        out = []
        for name, content in _attachments(data):
            try:
                out += _unpack(content, budget, f"{name} in the message", depth + 1)
            except UnpackError as refusal:
                if "inflates past" in str(refusal):
                    raise  # a bomb in an attachment is refused, not skipped
                continue  # another attachment (a logo, a signature) is not the report
        return out
    return []
