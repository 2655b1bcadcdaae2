"""The fast MIME tree is the standard parser's tree, or it steps aside."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.ndr.mimetree import message_tree
from tests.corpus_eval import CORPUS, corpus_available

TESTS = Path(__file__).resolve().parent.parent


def _difference(mine: Message, theirs: Message, path: str = "message") -> str | None:
    for attr in ("_headers", "_unixfrom", "preamble", "epilogue", "_default_type"):
        if getattr(mine, attr) != getattr(theirs, attr):
            return f"{path}.{attr}: {getattr(mine, attr)!r} != {getattr(theirs, attr)!r}"
    if mine.get_content_type() != theirs.get_content_type():
        return f"{path}: {mine.get_content_type()} != {theirs.get_content_type()}"
    if [(k, type(v), str(v)) for k, v in mine.items()] != [
        (k, type(v), str(v)) for k, v in theirs.items()
    ]:
        return f"{path}.items(): {mine.items()!r} != {theirs.items()!r}"
    a, b = mine._payload, theirs._payload  # type: ignore[attr-defined]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} parts, the standard parser {len(b)}"
        for number, (x, y) in enumerate(zip(a, b, strict=True)):
            if found := _difference(x, y, f"{path}[{number}]"):
                return found
        return None
    if a != b:
        return f"{path} payload: {a!r} != {b!r}"
    decoded, expected = mine.get_payload(decode=True), theirs.get_payload(decode=True)
    return None if decoded == expected else f"{path} decoded: {decoded!r} != {expected!r}"


def _check(raw: bytes) -> bool:
    """True when the fast tree was built (and equals the standard one)."""
    mine = message_tree(raw)
    if mine is None:
        return False
    assert _difference(mine, email.message_from_bytes(raw)) is None, raw[:300]
    return True


def test_every_sample_message_gives_the_standard_tree() -> None:
    paths = [p for p in sorted(TESTS.rglob("*")) if p.suffix in (".eml", ".txt") and p.is_file()]
    built = sum(_check(path.read_bytes()) for path in paths)
    assert built >= 30  # most samples are ordinary: the fast path is the one taken


@pytest.mark.skipif(not corpus_available(), reason="needs ../shared/corpus/bounces")
def test_every_corpus_bounce_gives_the_standard_tree() -> None:
    paths = sorted(CORPUS.glob("*.eml"))
    built = sum(_check(path.read_bytes()) for path in paths)
    assert built >= 0.9 * len(paths)


def test_eight_bit_bytes_give_the_standard_tree() -> None:
    for raw in (
        "Subject: caf\u00e9\n\nbody \u00e9\n".encode(),
        "Subject: caf\u00e9\nContent-Type: text/plain; charset=iso-8859-1\n\nna\u00efve\n".encode(
            "latin-1"
        ),
        b"From: a@b.example\nX-\xff: broken name\nTo: c@d.example\n\nbody\n",
        b'Content-Type: multipart/mixed; boundary="b\xe9"\n\n--b\xe9\nx\n--b\xe9--\n',
    ):
        assert _check(raw)
        part = message_tree(raw)
        assert part is not None
        assert part.items() == email.message_from_bytes(raw).items()  # compat32's own reading


def test_unusual_input_is_left_to_the_standard_parser() -> None:
    assert message_tree(b"Subject: a\n\nform\x0cfeed\n") is None  # a break only splitlines sees
    nested_same = (
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nx\n--b--\n--b--\n'
    )
    assert message_tree(nested_same) is None
    assert message_tree(b"Subject: a\nFrom someone\n\nbody\n") is None  # envelope line inside


_LINE_END = st.sampled_from(["\n", "\r\n", "\r"])
_BODY_LINE = st.sampled_from(
    [
        "text", "", "  indented", "--b", "--b--", "--b  ", "--bx", "--c", "--c--", "From here",
        "Final-Recipient: rfc822; a@b.example", "Status: 5.1.1", "Action: failed", ":no name",
        "Content-Type: text/plain", "Content-Type: message/delivery-status",
        "Content-Type: message/rfc822", "Content-Type: multipart/mixed; boundary=c",
        "Content-Type: multipart/digest; boundary=c", " folded", "not a header line",
        "Content-Type: TEXT/Plain ; charset=x", "Content-Type: message", "Content-Type: a/b/c",
        "Content-Transfer-Encoding: Quoted-Printable", "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: 7bit", "Content-Transfer-Encoding: x-uuencode", "=41=\u00e9=",
        "QUJD", "caf=C3=A9 soft=",
        "caf\u00e9", "X-Caf\u00e9: 1", "Subject: \u00fcber", "--b\u00e9", "\u3042",
        "Two words: x", "tilde~!name: x", "del\x7fname: x", "tab\tname: x", "\x01ctl: x", "a:b:c",
    ]
)  # fmt: skip
_TOP = st.sampled_from(
    [
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b",
        "Content-Type: multipart/mixed; boundary=\"b\"",
        "Content-Type: multipart/mixed",
        "Content-Type: message/delivery-status",
        "Content-Type: message/rfc822",
        "Content-Type: text/plain",
        "Subject: Undelivered Mail",
        " first line folded",
        "From MAILER-DAEMON Mon Jan  1 00:00:00 2024",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_TOP, min_size=1, max_size=3),
    st.lists(_BODY_LINE, max_size=40),
    st.lists(_LINE_END, min_size=1, max_size=3),
)
def test_generated_messages_give_the_standard_tree(
    headers: list[str], body: list[str], ends: list[str]
) -> None:
    lines = [*headers, "", *body]
    text = "".join(line + ends[number % len(ends)] for number, line in enumerate(lines))
    _check(text.encode("utf-8"))
    _check(text.encode("latin-1", "replace"))


def test_parts_nested_beyond_reason_are_left_to_the_standard_parser() -> None:
    deep = b"Content-Type: message/rfc822\n\n" * 990 + b"Subject: x\n\nbody\n"
    assert message_tree(deep) is None  # the standard parser gives up on it (RecursionError)
    shallow = b"Content-Type: message/rfc822\n\n" * 5 + b"Subject: x\n\nbody\n"
    assert _check(shallow)


def test_a_part_answers_as_the_standard_one_after_its_headers_change() -> None:
    raw = (
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain; charset=us-ascii\n\nhello\n--b--\n"
    )
    mine, theirs = message_tree(raw), email.message_from_bytes(raw)
    assert mine is not None

    def answers(message: Message) -> tuple[object, ...]:
        part = message.get_payload()[0]
        return (
            message.get_content_type(), message.get_param("report-type"), message.get_boundary(),
            "content-type" in message, "X-Other" in message, part.get_content_charset(),
            part.get("CONTENT-TYPE"), part.get("x-missing", "none"),
        )  # fmt: skip

    assert answers(mine) == answers(theirs)
    for message in (mine, theirs):
        message.replace_header("Content-Type", "multipart/mixed; boundary=c")
        message["X-Other"] = "1"
        message.get_payload()[0].set_param("charset", "utf-8")
    assert answers(mine) == answers(theirs)
    assert answers(mine)[:5] == ("multipart/mixed", None, "c", True, True)
    for message in (mine, theirs):
        del message["Content-Type"]
        message.set_boundary("d") if "content-type" in message else None
    assert answers(mine) == answers(theirs)


def test_a_part_answers_as_the_standard_one_whatever_is_done_with_its_answers() -> None:
    raw = b'Content-Type: text/plain; charset="us-ascii"; format=flowed\nSubject: hi\n\nbody\n'
    mine, theirs = message_tree(raw), email.message_from_bytes(raw)
    assert mine is not None
    for message in (mine, theirs):  # a caller changing the list it was given
        message.get_params(unquote=False).append(("evil", "1"))
        message["Subject"] = "caf\udce9"  # undecodable bytes, kept as a surrogate
    assert mine.get_param("evil") is None is theirs.get_param("evil")
    assert [str(v) for v in mine.get_all("subject")] == [str(v) for v in theirs.get_all("subject")]
    assert type(mine.get_all("subject")[-1]) is type(theirs.get_all("subject")[-1])
    del mine["Subject"], theirs["Subject"]
    mine["Subject"] = theirs["Subject"] = "caf\udce9"
    assert type(mine.get("subject")) is type(theirs.get("subject"))  # a Header, as compat32 has it


_PARAM_TEXT = st.text(alphabet=";=<> \t\"\\*%'abcXY/.-1é", max_size=12)
_PARAM = st.tuples(
    _PARAM_TEXT,
    st.sampled_from(["", "=", " = ", "*=", "*0*="]),
    st.one_of(_PARAM_TEXT, _PARAM_TEXT.map("<{}>".format), _PARAM_TEXT.map('"{}"'.format)),
).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.lists(_PARAM, max_size=4).map(";".join))
def test_a_part_reads_parameters_as_the_standard_one(value: str) -> None:
    raw = f"Content-Type: text/plain;{value}\nX-Report: a;{value}\n\nbody\n".encode()
    mine, theirs = message_tree(raw), email.message_from_bytes(raw)
    assert mine is not None

    def answers(message: Message) -> list[object]:
        asked = [
            *(lambda h=h: message.get_params(header=h) for h in ("content-type", "x-report")),
            *(lambda h=h: message.get_params(header=h, unquote=False) for h in ("x-report",)),
            message.get_content_charset,
            lambda: message.get_param("a"),
        ]
        found: list[object] = []
        for ask in asked:
            try:
                found.append(ask())
            except Exception as error:  # the standard library's own RFC 2231 bugs: the same
                found.append(type(error))
        return found

    assert answers(mine) == answers(theirs)


def test_a_boundary_folded_across_two_lines_is_no_boundary_line() -> None:
    # The parameter keeps its fold ("b\n c"): no single line can start with "--b\n c", even
    # where the text holds it across two lines.
    raw = b'Content-Type: multipart/mixed; boundary="b\n c"\n\n--b\n c\ntext\n--b\n c--\n'
    assert _check(raw)
    assert _check(raw.replace(b"\n", b"\r\n"))


def test_a_malformed_content_type_is_text_plain_even_where_the_default_is_not() -> None:
    digest = (
        b"Content-Type: multipart/digest; boundary=d\n\n--d\nContent-Type: message\n\nx\n"
        b"--d\nContent-Type: TEXT/Plain ; charset=x\n\ny\n--d\n\nFrom: a@b.example\n\nz\n--d--\n"
    )
    assert _check(digest)
    parts = message_tree(digest).get_payload()  # type: ignore[union-attr]
    assert [part.get_content_type() for part in parts] == [
        "text/plain",  # "message" has no "/": compat32 says text/plain, not the digest's default
        "text/plain",
        "message/rfc822",
    ]
