"""RE2's automaton for the reader's slow patterns, where it means exactly what Python's ``re`` means.

Python's backtracking engine tries every alternative at every position of the text: a list of
forty failure words searched case-insensitively over a 4 KB report costs milliseconds. RE2 (the
``google-re2`` package) runs the same search in one pass whatever the number of alternatives, 4
to 30 times faster here, and never backtracks on a hostile paste.

RE2 answers a ``search`` or ``finditer`` only where the answer is provably ``re``'s:

* the pattern is ASCII, uses only the ``IGNORECASE``, ``MULTILINE`` and ``DOTALL`` flags, and none
  of the syntax the two engines read differently (lookaround, back-references, ``{,n}``,
  ``\\S`` inside a class, a repeat whose body can match nothing, a group switching MULTILINE);
  ``\\s`` is spelled out as Python's set, and a ``$`` outside ``MULTILINE`` is RE2's ``\\z``,
  with a text that ends in a newline left to ``re``;
* the text is ASCII (Unicode ``\\w``, ``\\b`` and case folding differ beyond it) and at least 20
  characters long (RE2's call costs about a microsecond);
* the pattern is one ``re`` finds slowly: six alternatives or more, or two or more ignoring case.

Everything else goes to ``re`` unchanged; without ``google-re2`` installed everything does.
``CHECK`` makes every call answer both ways and compare (the tests set it). :class:`LiteralSet`
and :class:`PatternSet` find many strings or patterns in one pass, under the same rules.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable, Iterator
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

try:  # the automaton is an optimisation: without it every pattern is re's
    import re2 as _re2_pkg  # type: ignore[import-untyped]
    from re2 import _re2
except ImportError:  # pragma: no cover - exercised on installs without the wheel
    _re2 = None

__all__ = [
    "BUSY_AFTER", "CHECK", "LiteralSet", "Mismatch", "PatternSet", "accelerate", "prepare_sets",
    "syntax_tree",
]  # fmt: skip

CHECK = False  # tests: answer every accelerated call with both engines and compare
_MIN_TEXT = 20  # shorter texts: re's call is cheaper than RE2's
_MANY_WORDS = 40  # word tests in front of a set's pattern that only re can run
_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.UNICODE  # UNICODE: every str pattern
# Python's \s over ASCII (str.isspace): RE2's own \s lacks \v and \x1c-\x1f. _BLANK: the same
# less the line break, what "[^\S\n]" means.
_BLANK = r"\t\x0b\x0c\r \x1c-\x1f"
_SPACE = r"\n" + _BLANK


class Mismatch(AssertionError):
    """With CHECK on: the two engines answered one call differently."""


def _translate(source: str, flags: int) -> tuple[str, bool] | None:
    """``source`` in RE2's syntax with ``re``'s meaning, or None where they could differ; and
    whether it has a ``$`` that means "end" only for a text not ending in a newline (``re``'s
    ``$`` outside ``MULTILINE`` also matches before a final newline; RE2's ``\\z`` does not)."""
    if flags & ~_FLAGS or "{," in source:
        return None
    if not _reads_alike(source, flags):
        return None
    out: list[str] = []
    in_class = False
    dollar = False
    i = 0
    while i < len(source):
        char = source[i]
        if not char.isascii() or (char == "\\" and not source[i + 1 : i + 2].isascii()):
            # A character beyond ASCII (or its escape) never matches in an ASCII text, the only
            # kind RE2 is given; U+0080 neither, and as a range's end it keeps the range's ASCII.
            # Unless re's case folding matches it to ASCII ("K", the Kelvin sign, to "k"), or it
            # ends a range that ignores case (which could hold such a character).
            width = 2 if char == "\\" else 1
            ranged = source[i + width : i + width + 1] == "-" or (out and out[-1] == "-")
            if _folds_to_ascii(source[i + width - 1], flags) or (
                in_class and ranged and flags & re.IGNORECASE
            ):
                return None
            out.append("\\x80" if in_class else "\\x{80}")
            i += width
            continue
        if char == "\\" and i + 1 < len(source):
            escaped = source[i + 1]
            if (escaped.isdigit() and escaped != "0") or escaped in "gNu":
                return None  # back-reference, \g<...>, named character, \uXXXX
            if escaped == "Z":
                out.append("\\z")  # the very end, in both (RE2 spells it \z)
            elif escaped == "s":
                out.append(_SPACE if in_class else f"[{_SPACE}]")
            elif escaped == "S":
                if in_class:
                    return None
                out.append(f"[^{_SPACE}]")
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "[" and source.startswith("[:", i):
                return None  # RE2 reads "[:alpha:]" inside a class as a POSIX class
            if char == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(char)
        elif char == "[":
            if source.startswith("[^\\S\\n]", i):  # a blank that is not a line break
                out.append(f"[{_BLANK}]")
                i += 7
                continue
            in_class = True
            if source.startswith("[^", i):
                out.append("[^")
                i += 2
                if source.startswith("]", i):  # "[^]...]": a literal ] first
                    out.append("\\]")
                    i += 1
                continue
            out.append("[")
            if source.startswith("]", i + 1):
                out.append("\\]")
                i += 1
        elif char == "$" and not flags & re.MULTILINE:
            out.append("\\z")
            dollar = True
        elif char == "(" and source.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?P="), i):
            return None
        else:
            out.append(char)
        i += 1
    prefix = "".join(
        flag for bit, flag in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
        if flags & bit
    )  # fmt: skip
    translated = "".join(out)
    return (f"(?{prefix}){translated}" if prefix else translated), dollar


_ASCII_CHARACTERS = "".join(map(chr, range(128)))


def _folds_to_ascii(char: str, flags: int) -> bool:
    """True when ``re`` matches the (non-ASCII) character to an ASCII one: ignoring case, "K"
    (the Kelvin sign) matches "k". Asked of ``re`` itself, once per pattern."""
    if not flags & re.IGNORECASE:
        return False
    return re.search(re.escape(char), _ASCII_CHARACTERS, re.IGNORECASE) is not None


@functools.lru_cache(maxsize=1024)
def syntax_tree(source: str, flags: int) -> Any:
    """``re``'s own parse of a pattern (read here and by the word test; parsed once), or None
    when it does not parse."""
    try:
        return _parser.parse(source, flags)
    except (re.error, RecursionError):
        return None


def _reads_alike(source: str, flags: int) -> bool:
    """False for the syntax whose meaning differs in a way the characters alone do not show: a
    repeat whose body can match nothing (``(a*)+``: re stops the loop where one pass matched
    nothing, RE2 goes on to the next alternative) and a group that switches MULTILINE itself
    (``(?m:...)``: the $ rule above reads only the pattern's own flags)."""
    tree = syntax_tree(source, flags)
    if tree is None:
        return False
    pending = [list(tree)]
    while pending:
        for op, av in pending.pop():
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                _low, high, body = av
                if high > 1 and body.getwidth()[0] == 0:
                    return False
                pending.append(list(body))
            elif op is sre.SUBPATTERN:
                if (av[1] | av[2]) & re.MULTILINE:
                    return False
                pending.append(list(av[3]))
            elif op is sre.BRANCH:
                pending.extend(list(branch) for branch in av[1])
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                pending.append(list(av[1]))
            elif op is sre.GROUPREF_EXISTS:
                return False
    return True


def _worth_it(compiled: re.Pattern[str]) -> bool:
    """re is slow on lists of alternatives, tried one by one at every position, and slower still
    when they ignore case; on a single phrase it scans fast, and RE2's call costs more. (Measured
    pattern by pattern over the corpus: benchmarks/reader_speed.py.)"""
    bars = compiled.pattern.count("|")
    return bars >= 6 or (bars >= 2 and bool(compiled.flags & re.IGNORECASE))


class _Match:
    """The parts of ``re.Match`` the reader uses, over spans RE2 found in an ASCII text."""

    __slots__ = ("_groupindex", "_spans", "endpos", "pos", "string")

    def __init__(
        self, text: str, spans: list[tuple[int, int]], groupindex: dict[str, int], pos: int
    ) -> None:
        self.string = text
        self._spans = spans
        self._groupindex = groupindex
        self.pos = pos
        self.endpos = len(text)

    def _index(self, group: int | str) -> int:
        index = self._groupindex.get(group, -1) if isinstance(group, str) else group
        if not 0 <= index < len(self._spans):
            raise IndexError("no such group")
        return index

    def span(self, group: int | str = 0) -> tuple[int, int]:
        return self._spans[self._index(group)]

    def start(self, group: int | str = 0) -> int:
        return self.span(group)[0]

    def end(self, group: int | str = 0) -> int:
        return self.span(group)[1]

    def _text(self, index: int, default: Any = None) -> Any:
        start, end = self._spans[index]
        return default if start < 0 else self.string[start:end]

    def group(self, *groups: int | str) -> Any:
        if not groups:
            return self._text(0)
        if len(groups) == 1:
            return self._text(self._index(groups[0]))
        return tuple(self._text(self._index(g)) for g in groups)

    def __getitem__(self, group: int | str) -> Any:
        return self._text(self._index(group))

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        return tuple(self._text(i, default) for i in range(1, len(self._spans)))

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        return {name: self._text(i, default) for name, i in self._groupindex.items()}


def _spans(match: Any) -> list[tuple[int, int]] | None:
    if match is None:
        return None
    if isinstance(match, _Match):
        return list(match._spans)
    return [match.span(i) for i in range(len(match.groups()) + 1)]


def _checked(
    name: str, fast: Callable[..., Any], slow: Callable[..., Any], source: str
) -> Callable[..., Any]:
    def both(*args: Any, **kwargs: Any) -> Any:
        text = args[0] if args else kwargs.get("string", "")
        mine, theirs = fast(*args, **kwargs), slow(*args, **kwargs)
        if name == "finditer":
            mine, theirs = list(mine), list(theirs)
            if [_spans(m) for m in mine] != [_spans(m) for m in theirs]:
                raise Mismatch(f"finditer {source!r} on {text[:200]!r}")
            return iter(mine)
        if _spans(mine) != _spans(theirs):
            raise Mismatch(
                f"{name} {source!r} on {text[:200]!r}: {_spans(mine)} != {_spans(theirs)}"
            )
        return mine

    return both


def accelerate(
    compiled: re.Pattern[str], absent: Callable[[object], bool] | None = None
) -> dict[str, Callable[..., Any]]:
    """Methods to use in place of ``compiled``'s own: RE2's where it means the same, behind the
    word test ``absent`` if given (one call each: a search is asked ~40 times per report, and
    each layer of wrapping cost about as much as RE2's own call); else none."""
    if _re2 is None or not _worth_it(compiled):
        return {}
    translation = _translate(compiled.pattern, compiled.flags)
    if translation is None:
        return {}
    translated, dollar = translation
    options = _re2_pkg.Options()
    options.log_errors = False
    automaton = _re2.RE2(translated.encode("ascii"), options)
    if not automaton.ok() or automaton.NumberOfCapturingGroups() != compiled.groups:
        return {}
    groupindex = dict(compiled.groupindex)
    find = automaton.Match
    unanchored = _re2.RE2.Anchor.UNANCHORED
    py_search, py_finditer = compiled.search, compiled.finditer
    # An empty match is where the engines' iteration rules differ: iterate only patterns that
    # cannot match the empty string.
    can_be_empty = _min_width(compiled) == 0

    def for_re2(text: str, endpos: int | None) -> bool:
        """RE2 takes a text of _MIN_TEXT or more ASCII characters, without an end position, and
        without a final newline the pattern's "$" would see differently; re takes the rest."""
        return (
            endpos is None
            and len(text) >= _MIN_TEXT
            and text.isascii()
            and not (dollar and text.endswith("\n"))
        )

    # The parameters are named as re's (string, pos, endpos): callers may pass them by name.
    def search(string: str, pos: int = 0, endpos: int | None = None) -> Any:
        if absent is not None and absent(string):
            return None
        if for_re2(string, endpos):
            data = string.encode("ascii")
            pos = min(max(pos, 0), len(data))
            spans = find(unanchored, data, pos, len(data))
            return None if spans[0][0] < 0 else _Match(string, spans, groupindex, pos)
        return py_search(string, pos) if endpos is None else py_search(string, pos, endpos)

    def finditer(string: str, pos: int = 0, endpos: int | None = None) -> Iterator[Any]:
        if absent is not None and absent(string):
            return iter(())
        if can_be_empty or not for_re2(string, endpos):
            return py_finditer(string, pos) if endpos is None else py_finditer(string, pos, endpos)
        return iterate(string, pos)

    def iterate(text: str, pos: int) -> Iterator[Any]:
        data = text.encode("ascii")
        start = at = min(max(pos, 0), len(data))
        while at <= len(data):
            spans = find(unanchored, data, at, len(data))
            if spans[0][0] < 0:
                return
            yield _Match(text, spans, groupindex, start)  # .pos: where the caller began, as re
            at = spans[0][1]

    # No match(): anchored at one position, re gives up at once and RE2's call costs more.
    methods: dict[str, Callable[..., Any]] = {"search": search, "finditer": finditer}
    if CHECK:
        answers: dict[str, Callable[..., Any]] = {"search": py_search, "finditer": py_finditer}
        methods = {n: _checked(n, f, answers[n], compiled.pattern) for n, f in methods.items()}
    return methods


def _min_width(compiled: re.Pattern[str]) -> int:
    tree = syntax_tree(compiled.pattern, compiled.flags)
    return 0 if tree is None else int(tree.getwidth()[0])


# A faster path is worked out for a pattern or a set only once it has been asked this often:
# analysing and compiling for RE2 costs about as much as a few hundred searches, which a server
# or a batch repays at once and a one-off ``ndrbot diagnose`` never would.
BUSY_AFTER = 8
_SETS: weakref.WeakSet[_OnePass] = weakref.WeakSet()  # a rebuilt catalogue's old set goes


def prepare_sets() -> None:
    """Build every set's automaton now (a server, at start: no request pays for it)."""
    for one_pass in list(_SETS):
        one_pass.prepare()


def _search_set() -> Any:
    """An empty RE2 set for unanchored searches, with room for a few hundred phrases."""
    options = _re2_pkg.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    return _re2_pkg.Set.SearchSet(options)


class _OnePass:
    """What both sets share: asks are counted, and the automaton is built on the
    ``BUSY_AFTER``-th ask or by :meth:`prepare`, whichever comes first."""

    def __init__(self) -> None:
        self._set: Any = None
        self._asked = 0
        self._tried = False
        _SETS.add(self)

    def prepare(self) -> None:
        """Build the automaton (once; where it cannot be built, the plain way answers)."""
        if self._tried:
            return
        self._tried = True
        if _re2 is not None:
            try:
                built = self._build()
            except _re2_pkg.error:  # more than its memory holds: the plain way answers
                built = None
            self._set = built  # set last: a reader in another thread sees all or none

    def _ready(self) -> bool:
        """Count one ask; True when the automaton answers it."""
        if not self._tried:
            self._asked += 1
            if self._asked >= BUSY_AFTER:
                self.prepare()
        return self._set is not None

    def _build(self) -> Any:
        raise NotImplementedError


class LiteralSet(_OnePass):
    """Which of many fixed strings occur in a text, found in one pass (RE2's ``Set``) instead of
    one ``in`` test each; without ``google-re2``, or until it has been asked ``BUSY_AFTER``
    times, the ``in`` tests. Exact for any text: a string occurs in a text exactly when its
    UTF-8 bytes occur in the text's."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words
        super().__init__()

    def _build(self) -> Any:
        if not self.words:
            return None
        automaton = _search_set()
        for word in self.words:
            automaton.Add(_re2_pkg.escape(word))
        automaton.Compile()
        return automaton

    def present(self, text: str) -> list[str]:
        """The words that occur in ``text``, in the order given."""
        if self._ready():
            try:
                found = self._set.Match(text) or []
            except UnicodeEncodeError:  # a lone surrogate (undecodable bytes kept): not UTF-8
                found = None
            if found is not None:
                # A word RE2 names is there; a second look confirms it (only the few found).
                return [self.words[i] for i in sorted(found) if self.words[i] in text]
        return [word for word in self.words if word in text]


class PatternSet(_OnePass):
    """Which of several patterns (``(source, flags)``) match somewhere in a text: those RE2 reads
    as ``re`` does found in one pass (RE2's ``Set``), the others asked one by one. None for a
    text only ``re`` can read (not ASCII), and until the set has been asked ``BUSY_AFTER``
    times: the caller then asks each pattern itself."""

    def __init__(self, sources: tuple[tuple[str, int], ...]) -> None:
        self.sources = sources
        self._dollar = False
        self._covered: list[int] = []  # the set's pattern k is sources[self._covered[k]]
        self._others: list[tuple[int, Callable[[str], object]]] = []
        super().__init__()

    def _build(self) -> Any:
        automaton = _search_set()
        covered: list[int] = []
        others: list[tuple[int, Callable[[str], object]]] = []
        dollar = False
        for index, (source, flags) in enumerate(self.sources):
            compiled = re.compile(source, flags)
            translation = _translate(source, compiled.flags)
            try:
                if translation is None:
                    raise _re2_pkg.error("not the same in RE2")
                automaton.Add(translation[0])
            except _re2_pkg.error:
                # Asked of re one by one, behind a word test where it has one (re is slow here:
                # these are long lists of alternatives with a lookaround RE2 does not have).
                from handlers.ndr.prefilter import filtered, word_test  # (it imports this module)

                absent = word_test(compiled, _MANY_WORDS)
                methods = filtered(compiled.search, compiled.finditer, absent) if absent else {}
                others.append((index, methods.get("search", compiled.search)))
                continue
            covered.append(index)
            dollar = dollar or translation[1]
        if not covered:
            return None
        automaton.Compile()
        self._covered, self._others, self._dollar = covered, others, dollar
        return automaton

    def matching(self, text: str) -> frozenset[int] | None:
        """The indices of the patterns that match in ``text``, or None where only ``re`` can say."""
        if not self._ready() or not text.isascii() or (self._dollar and text.endswith("\n")):
            return None
        found = {self._covered[k] for k in self._set.Match(text) or ()}
        found.update(index for index, search in self._others if search(text))
        return frozenset(found)
