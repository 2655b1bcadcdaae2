"""Text normalisation: what a pasted or decoded text looks like before anything reads it."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.ndr import text
from handlers.ndr.text import normalise


def _by_the_tables(value: str) -> str:
    """The definition: CRLF to LF, then each table in turn (invisibles dropped, look-alikes
    unified, lone CRs dropped, other controls made spaces)."""
    value = value.replace("\r\n", "\n").translate(text._INVISIBLE).translate(text._LOOKALIKE)
    return value.translate(text._CONTROL)


def test_a_pasted_reply_in_another_script_reads_as_plain_text() -> None:
    pasted = (
        "\ufeff550\u00a05.7.1 \u201cService unavailable\u201d\u200b \u2013 blocked\r\n"
        "\u9001\u4fe1\u3067\u304d\u307e\u305b\u3093\u3067\u3057\u305f\uff1a\x07 bell\rend"
    )
    assert normalise(pasted) == (
        '550 5.7.1 "Service unavailable" - blocked\n'
        "\u9001\u4fe1\u3067\u304d\u307e\u305b\u3093\u3067\u3057\u305f:  bellend"
    )


def test_text_with_nothing_to_change_comes_back_as_it_was() -> None:
    japanese = "\u5b9b\u5148\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u306f\n\u5b58\u5728\u3057\u307e\u305b\u3093"
    assert normalise(japanese) == japanese
    assert normalise(japanese.replace("\n", "\r\n")) == japanese


_CHARS = st.sampled_from(
    [*map(chr, [*text._INVISIBLE, *text._LOOKALIKE, *text._CONTROL]), "a", " ", "\n", "\r",
     "\t", "\u00e9", "\u65e5", "\U0001f600", "\ud800"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_CHARS, max_size=30).map("".join))
def test_normalise_is_the_tables_applied_in_turn(value: str) -> None:
    assert normalise(value) == _by_the_tables(value)


def test_ip_addresses_named_in_a_report_are_the_valid_ones_in_order() -> None:
    from handlers.ndr.codes import find_ips

    line = (
        "from mail.example.org (mail.example.org [192.0.2.10]) by mx ([2001:db8::25]) "
        "relayed via 010.0.0.1, 300.1.2.3, \u0661\u0669\u0662.0.2.7 and 198.51.100.255 "
        "then 192.0.2.10 again at 12:30:45"
    )
    assert find_ips(line) == ["192.0.2.10", "2001:db8::25", "198.51.100.255"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 999) | st.sampled_from(["00", "01", "007"]), min_size=4, max_size=4))
def test_a_dotted_quad_is_an_address_exactly_when_python_says_so(octets: list[int | str]) -> None:
    import ipaddress

    from handlers.ndr.codes import find_ips

    dotted = ".".join(map(str, octets))
    try:
        expected = [str(ipaddress.ip_address(dotted))]
    except ValueError:
        expected = []
    assert find_ips(f"client [{dotted}] refused") == expected


def test_the_smtp_stage_is_a_whole_word_not_the_start_of_one() -> None:
    """ "after database" in a sentence is not the DATA stage; the real one comes later."""
    from handlers.ndr import read

    pasted = (
        "<bob@example.com>: host mx.example.com[192.0.2.10] said: 550 5.1.1 <bob@example.com>:\n"
        "    Recipient address rejected: no such user after database lookup\n"
        "    (in reply to RCPT TO command)\n"
    )
    (recipient,) = read(pasted).recipients
    assert recipient.command == "RCPT"
    assert read(pasted.replace("RCPT TO command", "end of DATA")).recipients[0].command == "DATA"


@settings(max_examples=400, deadline=None)
@given(st.lists(_CHARS | st.sampled_from(["=?", "?=", "x", "  "]), max_size=30).map("".join))
def test_a_header_value_reads_as_one_normalised_line(value: str) -> None:
    # A value with no encoded word is the same text normalised, on one line, trimmed.
    if "=?" not in value:
        assert text.decode_header(value) == normalise(value).replace("\n", " ").strip()


def test_a_quoted_paste_loses_its_quote_markers_and_a_report_keeps_its_brackets() -> None:
    quoted = "> Delivery has failed to:\n> pat@example.com\n>\n> 550 5.1.1 User unknown\n"
    assert text.strip_quote_markers(quoted) == (
        "Delivery has failed to:\npat@example.com\n\n550 5.1.1 User unknown\n"
    )
    report = "<pat@example.com>: host mx.example.com[192.0.2.1] said:\n    550 5.1.1 <pat@...>\n"
    assert text.strip_quote_markers(report) == report
    half = "> quoted line\nplain line\nanother plain line\n"
    assert text.strip_quote_markers(half) == half  # most lines are not quoted: left as it is


def test_an_html_bounce_reads_as_its_visible_text_with_blocks_as_lines() -> None:
    markup = (
        '<!DOCTYPE html><html><head><title>Undeliverable</title><style type="text/css">'
        "p > b { color: red }</style></head><body><!-- layout -->"
        "<P>Delivery to <b>jo@contoso.com</b> failed.</P><table><tr><TD class='x>y'>Status"
        "</td><td>550&nbsp;5.1.1 &lt;jo@contoso.com&gt; user unknown</td></tr></table>"
        "<div>Remote server: <i>mx.contoso.com</i><br/>AT&amp;T</div>"
        "<script>if (a < b) { document.write('<p>no</p>') }</script></body></html>"
    )
    assert text.html_to_text(markup) == (
        "Delivery to jo@contoso.com failed.\n\n"
        "Status 550\u00a05.1.1 <jo@contoso.com> user unknown\n\n"
        "Remote server: mx.contoso.com\nAT&T"
    )


def test_html_escapes_are_resolved_once_and_unfinished_markup_is_left_out() -> None:
    # "&amp;lt;" is how HTML writes the text "&lt;": resolving it twice would make it "<".
    assert text.html_to_text("<p>&amp;lt;b&amp;gt; is a tag</p>") == "&lt;b&gt; is a tag"
    # A browser leaves out a tag or comment the text ends inside, and "</ p>" is a comment.
    assert text.html_to_text("550 5.7.1 blocked</ p><div class='a") == "550 5.7.1 blocked"
    assert text.html_to_text("a < b <!-- never closed") == "a < b"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["<a b='", '<a =" ', "<!--", "<", "</", "<style>", "x="]),
        min_size=1,
        max_size=6,
    )
)
def test_hostile_html_is_read_in_time_proportional_to_its_length(pieces: list[str]) -> None:
    markup = "".join(pieces) * (200_000 // len("".join(pieces)))
    start = time.perf_counter()
    text.html_to_text(markup)
    assert time.perf_counter() - start < 1.0  # a quadratic reading of 200 KB takes minutes


def test_a_style_ends_where_its_end_tag_is_whatever_the_characters_before_it() -> None:
    # "\u0130".lower() is two characters: a lower-cased copy would place the end tag wrongly.
    markup = "<p>\u0130stanbul</p><STYLE>p { x: 1 }</Style><p>550 5.1.1 unknown</p>"
    assert text.html_to_text(markup) == "\u0130stanbul\n\n550 5.1.1 unknown"
