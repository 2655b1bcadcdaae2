"""RE2 answers exactly as Python's re does, for every reader pattern it takes over."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import handlers.diagnosis  # noqa: F401  (imports every reader module, so every lazy pattern)
from handlers.ndr import automaton, lazyre, re2syntax

SAMPLES = Path(__file__).parent / "samples"
pytestmark = pytest.mark.skipif(automaton._re2 is None, reason="google-re2 is not installed")


def _patterns() -> list[tuple[re.Pattern[str], dict]]:
    found = []
    for lazy in lazyre._ALL:
        compiled = re.compile(lazy.pattern, lazy.flags)
        methods = automaton.accelerate(compiled)
        if methods:
            found.append((compiled, methods))
    return found


PATTERNS = _patterns()


def _texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(SAMPLES.rglob("*")):
        if path.suffix not in (".txt", ".eml") or not path.is_file():
            continue
        whole = path.read_text("utf-8", errors="replace").replace("\r", "")
        texts.append(whole)
        texts.extend(part for part in whole.split("\n\n") if part.strip())
        texts.extend(line for line in whole.split("\n") if line.strip())
    return texts


def _spans(match: object) -> list[tuple[int, int]] | None:
    if match is None:
        return None
    return [match.span(i) for i in range(len(match.groups()) + 1)]  # type: ignore[attr-defined]


def _agree(compiled: re.Pattern[str], methods: dict, text: str) -> None:
    assert _spans(methods["search"](text)) == _spans(compiled.search(text)), (
        compiled.pattern,
        text,
    )
    mine = [_spans(m) for m in methods["finditer"](text)]
    assert mine == [_spans(m) for m in compiled.finditer(text)], (compiled.pattern, text)


def test_most_slow_patterns_are_taken_over() -> None:
    # The word lists and the case-insensitive phrases: the patterns re is slow on.
    assert len(PATTERNS) >= 40


def test_the_engines_agree_on_every_sample_text() -> None:
    texts = _texts()
    assert len(texts) > 500
    for compiled, methods in PATTERNS:
        for text in texts:
            _agree(compiled, methods, text)


# Text made of the pieces the patterns look for, in any order and case, with the characters
# where the engines' rules differ: \v and \x1c-\x1f (whitespace to re), a final newline ($).
_PIECES = st.sampled_from(
    [
        "550", "5.1.1", "4.7.0", "user unknown", "User Unknown", "mailbox full", "RCPT TO",
        "in reply to end of data", "blocked", "spamhaus", "host", "[192.0.2.1]", "@", "a@b.example",
        "***@x.com", "\n", "\n\n", " ", "\t", "\x0b", "\x1c", "-", "---", "said:", "Remote Server",
        "returned '", "smtp;", "Diagnostic-Code:", "does not exist", "x", "_", "é", "K",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=40).map("".join))
def test_the_engines_agree_on_generated_text(text: str) -> None:
    for compiled, methods in PATTERNS:
        _agree(compiled, methods, text)
        _agree(compiled, methods, text + "\n")


@pytest.mark.parametrize(
    ("source", "flags"),
    [
        (r"(?<!x)abc|def|ghi", 0),  # lookbehind: RE2 has none
        (r"abc(?!x)|def|ghi", 0),
        (r"(a)\1|b|c", 0),  # back-reference
        (r"a{,3}|b|c", 0),  # re's {,n}: a literal to RE2
        (r"[[:alpha:]]|b|c", 0),  # a POSIX class to RE2, a set to re
        (r"caf\u00e9|b|c", 0),
        (r"abc|d|e", re.VERBOSE),
        (r"(?:\w*|-)+|q1|q2|q3|q4|q5|q6", 0),  # a repeat whose body can match nothing
        (r"(a*)+b|c|d", 0),
        (r"(?m:x$)|q1|q2|q3|q4|q5|q6", 0),  # a group switching MULTILINE on
        (r"(?-m:x$)|q1|q2|q3|q4|q5|q6", re.MULTILINE),  # or off
        ("\u212aelvin|b|c", re.IGNORECASE),  # the Kelvin sign: "k" to re, ignoring case
        ("[\u2000-\u2200]x|b|c", re.IGNORECASE),  # a range that holds the Kelvin sign
    ],
)
@pytest.mark.filterwarnings("ignore:Possible nested set")
def test_syntax_the_engines_read_differently_stays_with_re(source: str, flags: int) -> None:
    assert automaton.accelerate(re.compile(source, flags)) == {}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["to", "To", ":", "\uff1a", "<", "a@b.example", " ", "\u53d1\u9001\u7ed9", "x", "\n"]
        ),
        max_size=30,
    ).map("".join)
)
def test_characters_beyond_ascii_in_a_pattern_mean_what_they_mean_to_re(text: str) -> None:
    # On an ASCII text (the only kind RE2 is given) such a character matches nothing: RE2 is
    # given a character no ASCII text holds, in a class too, and in a range's end.
    for source, flags in [
        ("(?:\u53d1\u9001\u7ed9|to|for)\\s*[:\uff1a]?\\s*<?([a-z@.]+)", re.IGNORECASE),
        ("[^\uff1a<]+|[a-\u00ff]+x|\u00e9t\u00e9|q|r|s|t", 0),
    ]:
        compiled = re.compile(source, flags)
        methods = automaton.accelerate(compiled)
        assert methods, source
        _agree(compiled, methods, text)
        _agree(compiled, methods, "...................." + text)


def test_the_very_end_means_what_re_means() -> None:
    # re's \Z is the end of the text only (its "$" is also before a final newline): RE2's \z.
    compiled = re.compile(r"(?:after|before) (data|rcpt)(?:[^a-z]|\Z)|q1|q2|q3|q4|q5|q6")
    methods = automaton.accelerate(compiled)
    assert methods
    for text in (
        "...... failed after data",
        "...... failed after data\n",
        "after rcpt\nafter data",
    ):
        _agree(compiled, methods, text)
    assert methods["search"]("..... failed after database") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=40).map("".join))
def test_a_pattern_with_a_lookaround_is_ruled_out_only_where_re_finds_nothing(text: str) -> None:
    # RE2 runs the pattern without its lookarounds and bounds (which match more): where that
    # finds nothing, re would not either; elsewhere re answers.
    sources = [
        r"(?<![\w.])(host|user) unknown(?![\w-])|said:? (?=[45]\d\d\b)|550 5\.\d{1,3}\.\d{1,3}",
        r"(?:in reply to|after) (rcpt to|data)(?!base)|(?P<code>[45]\d\d)[ -](?=\d\.)|q1|q2|q3",
    ]
    for source in sources:
        compiled = re.compile(source, re.IGNORECASE)
        methods = automaton.accelerate(compiled)
        assert methods, source
        _agree(compiled, methods, text)
        _agree(compiled, methods, "...................." + text + "\n")


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("(?i:\u212a)|1|2|3|4|5|6", "k"),  # a group that ignores case on its own: "K" is "k"
        ("(?i:\u017f)|1|2|3|4|5|6", "s"),
        ("(?i:[\u0100-\u212a])|1|2|3|4|5|6", "k"),
        ("x(?=y){2}|1|2|3|4|5|6", "xy"),  # a repeated lookaround
        ("x(?!y){3,5}|1|2|3|4|5|6", "xz"),
        ("(?=a)ab{}c|1|2|3|4|5|6", "ab{}c"),  # "{}" is a literal to re
        ("a{,2}xb{}c|1|2|3|4|5|6", "axb{}c"),
    ],
)
def test_a_review_s_counterexamples_to_the_faster_paths_answer_as_re_does(
    source: str, text: str
) -> None:
    compiled = re.compile(source)
    methods = automaton.accelerate(compiled)
    for whole in (text + "-" * 20, "-" * 20 + text, text):
        if methods:
            _agree(compiled, methods, whole)
        assert compiled.search(whole) is not None


def test_the_looser_pattern_matches_wherever_the_pattern_does() -> None:
    assert re2syntax.relaxed(r"(?<![\w.])(a)(?P<b>b){1,255}(?=c[)])d[(?!]{2}") == (
        r"(?:a)(?:b){1,}d[(?!]{2,}"
    )
    assert re2syntax.relaxed(r"(a)\1|b") == r"(?:a)\1|b"  # (translate refuses the back-reference)
    for refused in (r"(?P<a>x)(?P=a)", r"(a)?(?(1)b|c)", r"a(?#comment)"):
        assert re2syntax.relaxed(refused) is None


def test_whitespace_means_what_re_means() -> None:
    methods = automaton.accelerate(re.compile(r"a\sb|c\Sd|e[\s,]f", re.IGNORECASE))
    text = "........ a\x0bb c\x1cd e\x1ff ........"
    assert [m.group() for m in methods["finditer"](text)] == ["a\x0bb", "e\x1ff"]


def test_without_the_package_every_pattern_is_re(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(automaton, "_re2", None)
    assert automaton.accelerate(re.compile("unknown|not found|no such", re.IGNORECASE)) == {}


def test_check_mode_reports_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(automaton, "CHECK", True)
    methods = automaton.accelerate(re.compile("unknown|not found|no such", re.IGNORECASE))
    text = "the user is unknown to this server, sorry"
    assert methods["search"](text).group() == "unknown"
    broken = automaton._checked("search", lambda t: None, re.compile("unknown").search, "unknown")
    with pytest.raises(automaton.Mismatch):
        broken(text)


_WORDS = st.lists(
    st.text(alphabet="ab é-.5", min_size=1, max_size=6), min_size=1, max_size=30, unique=True
)


@settings(max_examples=200, deadline=None)
@given(_WORDS, st.text(alphabet="ab é-.5xyz\n", max_size=200))
def test_a_literal_set_finds_exactly_the_words_in_a_text(words: list[str], text: str) -> None:
    found = automaton.LiteralSet(tuple(words)).present(text)
    assert found == [word for word in words if word in text]


def test_the_catalogue_phrases_are_found_exactly_where_in_finds_them() -> None:
    from handlers.variants import _index
    from knowledge import load_catalogue

    words = _index(load_catalogue()).words
    words.prepare()  # the automaton, not the in tests it starts with
    for text in _texts():
        lowered = text[:4000].lower()
        assert words.present(lowered) == [w for w in words.words if w in lowered]


def _rule_patterns() -> tuple[list[re.Pattern[str]], automaton.PatternSet]:
    from handlers.ndr import reason

    rules = [r.pattern for r in reason._RULES if r.pattern is not None]
    reason._RULE_SET.prepare()
    return [re.compile(p.pattern, p.flags) for p in rules], reason._RULE_SET


def _system_patterns() -> tuple[list[re.Pattern[str]], automaton.PatternSet]:
    from handlers.ndr import systems

    systems._TEXT_SET.prepare()
    return [re.compile(p.pattern, p.flags) for _, p, _ in systems._TEXT], systems._TEXT_SET


@pytest.mark.parametrize("pattern_set", [_rule_patterns, _system_patterns])
def test_a_pattern_set_names_exactly_the_patterns_that_match(pattern_set) -> None:  # type: ignore[no-untyped-def]
    patterns, one_pass = pattern_set()
    answered = 0
    for text in _texts():
        for sample in (text[:3000].lower(), text[:4000]):
            found = one_pass.matching(sample)
            if found is None:
                continue
            answered += 1
            assert found == {i for i, p in enumerate(patterns) if p.search(sample)}, sample
    assert answered > 600  # the one-pass answer is the one used


def test_the_host_set_names_exactly_the_host_patterns_that_match() -> None:
    from handlers.ndr import systems

    systems._HOST_SET.prepare()
    patterns = [re.compile(p.pattern, p.flags) for _, p in systems._HOSTS]
    hosts = {
        word.lower().rstrip(".")
        for text in _texts()
        for word in re.findall(r"[A-Za-z0-9][\w.-]{2,80}", text)
        if "." in word
    }
    hosts |= {"hotmail.com", "eur05.prod.outlook.com", "smtp.gmail.com", "x.pphosted.com", "me.com"}
    named = 0
    for host in sorted(hosts):
        found = systems._HOST_SET.matching(host)
        if found is None:  # only re reads a name beyond ASCII: each pattern is asked
            assert not host.isascii(), host
            continue
        assert found == {i for i, p in enumerate(patterns) if p.search(host)}, host
        named += bool(found)
    assert named >= 5


def test_a_pattern_only_re_can_run_is_still_found_by_its_set() -> None:
    """The rule for an unknown host has a lookahead RE2 lacks: re answers for it, behind a word
    test; it must still be found where it matches and only there."""
    patterns, one_pass = _rule_patterns()
    texts = [
        "550 5.1.2 host not found: mx.example.invalid does not resolve to anything",
        "550 5.1.2 <a@example.invalid>: recipient address rejected: domain not found here",
        "451 4.4.0 host not found, try again later please (dns timeout on lookup)",
        "550 5.1.1 user unknown in virtual mailbox table (in reply to rcpt to)",
    ]
    for text in texts:
        assert one_pass.matching(text) == {i for i, p in enumerate(patterns) if p.search(text)}
    only_re = {i for i, _ in one_pass._others}
    assert only_re & (one_pass.matching(texts[0]) or set())  # found, not only skipped
    assert only_re & (one_pass.matching(texts[1]) or set())
    assert not only_re & (one_pass.matching(texts[2]) or set())  # "not found, try again"


def test_a_review_s_counterexamples_answer_as_re_does() -> None:
    cases = [
        (r"(?:\w*|-)+|q1|q2|q3|q4|q5|q6", "ab-cd" + "." * 20),
        (r"(?m:x$)|q1|q2|q3|q4|q5|q6", "." * 20 + "x\ny"),
    ]
    for source, text in cases:
        compiled = re.compile(source)
        methods = automaton.accelerate(compiled) or {"search": compiled.search}
        assert _spans(methods["search"](text)) == _spans(compiled.search(text))
    finder = automaton.accelerate(re.compile("unknown|not found|no such", re.IGNORECASE))
    found = list(finder["finditer"]("user unknown, mailbox not found, no such host at all"))
    assert [m.pos for m in found] == [0, 0, 0]  # where the caller began, as re says
    with pytest.raises(IndexError):
        found[0].group("missing")


def test_a_literal_set_reads_text_that_is_not_utf8() -> None:
    words = automaton.LiteralSet(("user unknown", "quota"))
    text = "user unknown \udcff over quota"  # a byte no charset decoded, kept as a surrogate
    assert words.present(text) == ["user unknown", "quota"]


def test_a_server_builds_the_pattern_sets_before_its_first_request() -> None:
    from handlers.ndr import reason, systems

    fresh = automaton.PatternSet(((r"unknown|not found|no such", re.IGNORECASE),))
    text = "the mailbox was not found on this server at all"
    assert [fresh.matching(text) for _ in range(automaton.BUSY_AFTER - 1)] == [None] * (
        automaton.BUSY_AFTER - 1
    )  # a one-off reading asks the patterns themselves
    assert fresh.matching(text) == {0}  # a busy one has the automaton built
    lazyre.compile_all()  # what ndrbot serve calls at start
    assert reason._RULE_SET._set is not None and systems._TEXT_SET._set is not None


def test_a_pattern_gets_its_faster_path_once_busy() -> None:
    pattern = lazyre.lazy(r"user unknown|no such user|mailbox unavailable|quota", re.IGNORECASE)
    text = "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in table"
    for _ in range(automaton.BUSY_AFTER):
        assert pattern.search(text).group().lower() == "user unknown"
    assert pattern.__dict__["search"].__qualname__.startswith(("filtered", "accelerate"))
    assert pattern.search(text).group().lower() == "user unknown"


def test_a_busy_pattern_still_takes_re_s_keyword_arguments() -> None:
    pattern = lazyre.lazy(r"user unknown|no such user|mailbox unavailable|quota", re.IGNORECASE)
    text = "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in table"
    for _ in range(automaton.BUSY_AFTER + 2):  # before and after its faster path
        assert pattern.search(string=text, pos=3).group().lower() == "user unknown"
        assert pattern.search(text, pos=60) is None
        assert [m.start() for m in pattern.finditer(string=text)] == [text.index("User")]
