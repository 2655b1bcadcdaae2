"""Finding the reports in what arrives: by the bytes, whatever the name; bombs refused."""

from __future__ import annotations

import gzip
import io
import zipfile
from email.message import EmailMessage

import pytest

from handlers.dmarc.unpack import UnpackError, sniff, unpack
from tests.dmarc.build import SAMPLES, Row, report_xml

XML = (SAMPLES / "google_rfc7489.xml").read_bytes()


def _zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _message(attachment: bytes, filename: str, ctype: str) -> bytes:
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["To"] = "dmarc@contoso.com"
    message["Subject"] = "Report domain: contoso.com Submitter: google.com"
    message.set_content("This is an aggregate report from google.com.")
    maintype, subtype = ctype.split("/")
    message.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (XML, "xml"),
        (b"\xef\xbb\xbf" + XML, "xml"),
        (gzip.compress(XML), "gzip"),
        (_zip(**{"report.xml": XML}), "zip"),
        (_message(gzip.compress(XML), "r.xml.gz", "application/gzip"), "message"),
        (b"\x00\x01binary", "unknown"),
    ],
    ids=["xml", "bom", "gzip", "zip", "message", "binary"],
)
def test_the_format_is_told_by_the_bytes(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    "data",
    [
        XML,
        gzip.compress(XML),
        _zip(**{"google.com!contoso.com!1764892800!1764979199.xml": XML}),
        _message(gzip.compress(XML), "google.com!contoso.com.xml.gz", "application/gzip"),
        _message(_zip(**{"r.xml": XML}), "google.com!contoso.com.zip", "application/zip"),
        _message(XML, "report.xml", "text/xml"),
        # A misleading name and type: the bytes decide.
        _message(gzip.compress(XML), "report.zip", "application/octet-stream"),
    ],
    ids=["xml", "gz", "zip", "message-gz", "message-zip", "message-xml", "misnamed"],
)
def test_every_wrapping_gives_the_same_xml(data: bytes) -> None:
    (found,) = unpack(data)
    assert found.xml == XML


def test_several_reports_in_one_archive_are_all_found() -> None:
    other = report_xml([Row("192.0.2.1", 1)], report_id="r-2")
    found = unpack(_zip(**{"a.xml": XML, "b.xml.gz": gzip.compress(other)}))
    assert [f.xml for f in found] == [XML, other]
    assert "b.xml.gz" in found[1].where


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"<feedback>" + b" " * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(UnpackError, match="inflates past"):
        unpack(bomb, max_bytes=10_000_000)


def test_a_zip_bomb_is_refused() -> None:
    bomb = _zip(**{"r.xml": b"<feedback>" + b" " * 30_000_000})
    with pytest.raises(UnpackError, match="inflates past"):
        unpack(bomb, max_bytes=10_000_000)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\x00\x01\x02 binary", "no DMARC report"),
        (gzip.compress(XML)[:-20], "cut short|corrupt"),
        (b"PK\x03\x04 not really a zip", "cannot be read"),
        (_message(b"\x89PNG...", "logo.png", "image/png"), "no DMARC report"),
    ],
    ids=["binary", "truncated-gzip", "broken-zip", "message-without-report"],
)
def test_what_holds_no_report_says_why(data: bytes, said: str) -> None:
    with pytest.raises(UnpackError, match=said):
        unpack(data)


def test_many_members_share_one_budget() -> None:
    member = b"<feedback>" + b" " * 3_000_000
    archive = _zip(**{f"r{n}.xml": member for n in range(5)})  # 15 MB in all, 3 MB each
    with pytest.raises(UnpackError, match="inflates past 10 MB in all"):
        unpack(archive, max_bytes=10 * 1024 * 1024)


def test_a_gzip_of_several_members_is_read_whole() -> None:
    half = len(XML) // 2
    (found,) = unpack(gzip.compress(XML[:half]) + gzip.compress(XML[half:]))
    assert found.xml == XML


def test_a_malformed_attachment_name_or_boundary_is_read_or_refused_not_raised() -> None:
    """The standard library raises on ``name*=`` beside ``name*1=`` (RFC 2231): the attachment
    is still read without its name, and a message whose boundary cannot be read is refused
    with the reason, as any unreadable input is."""
    named = _message(gzip.compress(XML), "r.xml.gz", "application/gzip").replace(
        b'filename="r.xml.gz"', b"filename*=utf-8''%E9; filename*1=r.xml.gz"
    )
    assert b"filename*1=" in named
    (found,) = unpack(named)
    assert found.xml == XML
    broken = (
        b"From: a@b.example\nTo: dmarc@contoso.com\n"
        b"Content-Type: multipart/mixed; boundary*=utf-8''%E9; boundary*1=x\n\n--x\n--x--\n"
    )
    with pytest.raises(UnpackError, match="cannot be read"):
        unpack(broken)
