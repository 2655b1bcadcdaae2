"""RE2's automaton for the reader's slow patterns, where it means exactly what Python's ``re`` means.

Python's backtracking engine tries every alternative at every position of the text: a list of
forty failure words searched case-insensitively over a 4 KB report costs milliseconds. RE2 (the
``google-re2`` package) runs the same search in one pass whatever the number of alternatives, 4
to 30 times faster here, and never backtracks on a hostile paste.

RE2 answers a ``search`` or ``finditer`` only where the answer is provably ``re``'s:

* the pattern uses only the ``IGNORECASE``, ``MULTILINE`` and ``DOTALL`` flags, and none
  of the syntax the two engines read differently (lookaround, back-references, ``{,n}``,
  ``\\S`` inside a class, a repeat whose body can match nothing, a group switching MULTILINE);
  ``\\s`` is spelled out as Python's set, and a ``$`` outside ``MULTILINE`` is RE2's ``\\z``,
  with a text that ends in a newline left to ``re``; a character beyond ASCII in the pattern
  matches nothing in an ASCII text, and RE2 is given one that matches nothing there either
  (unless ``re``'s case folding could match it to an ASCII letter);
* the text is ASCII (Unicode ``\\w``, ``\\b`` and case folding differ beyond it) and at least 20
  characters long (RE2's call costs about a microsecond);
* the pattern is one ``re`` finds slowly: six alternatives or more, or two or more ignoring case.

Everything else goes to ``re`` unchanged; without ``google-re2`` installed everything does.
``CHECK`` makes every call answer both ways and compare (the tests set it). :class:`LiteralSet`
and :class:`PatternSet` find many strings or patterns in one pass, under the same rules.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from handlers.ndr.re2syntax import relaxed, syntax_tree, translate

try:  # the automaton is an optimisation: without it every pattern is re's
    import re2 as _re2_pkg  # type: ignore[import-untyped]
    from re2 import _re2
except ImportError:  # pragma: no cover - exercised on installs without the wheel
    _re2 = None

__all__ = [
    "BUSY_AFTER", "CHECK", "LiteralSet", "Mismatch", "PatternSet", "accelerate", "prepare_sets",
]  # fmt: skip

CHECK = False  # tests: answer every accelerated call with both engines and compare
_MIN_TEXT = 20  # shorter texts: re's call is cheaper than RE2's
_MANY_WORDS = 40  # word tests in front of a set's pattern that only re can run


class Mismatch(AssertionError):
    """With CHECK on: the two engines answered one call differently."""


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


def _checking(
    methods: dict[str, Callable[..., Any]], compiled: re.Pattern[str]
) -> dict[str, Callable[..., Any]]:
    """``methods``, or with CHECK on, each answering both ways and comparing with ``compiled``'s."""
    if not CHECK:
        return methods
    answers: dict[str, Callable[..., Any]] = {
        "search": compiled.search, "finditer": compiled.finditer
    }  # fmt: skip
    return {n: _checked(n, f, answers[n], compiled.pattern) for n, f in methods.items()}


def accelerate(
    compiled: re.Pattern[str], absent: Callable[[object], bool] | None = None
) -> dict[str, Callable[..., Any]]:
    """Methods to use in place of ``compiled``'s own: RE2's where it means the same, behind the
    word test ``absent`` if given (one call each: a search is asked ~40 times per report, and
    each layer of wrapping cost about as much as RE2's own call); else none."""
    if _re2 is None or not _worth_it(compiled):
        return {}
    translation = translate(compiled.pattern, compiled.flags)
    if translation is None:
        return _ruled_out(compiled, absent)
    translated, dollar = translation
    automaton = _automaton(translated)
    if automaton is None or automaton.NumberOfCapturingGroups() != compiled.groups:
        return {}
    groupindex = dict(compiled.groupindex)
    find = automaton.Match
    unanchored = _re2.RE2.Anchor.UNANCHORED
    py_search, py_finditer = compiled.search, compiled.finditer
    # An empty match is where the engines' iteration rules differ: iterate only patterns that
    # cannot match the empty string.
    can_be_empty = _min_width(compiled) == 0

    for_re2 = _for_re2(dollar)

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
    return _checking(methods, compiled)


def _automaton(translated: str) -> Any:
    """RE2's automaton for a translated pattern, or None where RE2 refuses it."""
    options = _re2_pkg.Options()
    options.log_errors = False
    automaton = _re2.RE2(translated.encode("ascii"), options)
    return automaton if automaton.ok() else None


def _for_re2(dollar: bool) -> Callable[[str, int | None], bool]:
    """Whether RE2 takes a text: one of _MIN_TEXT or more ASCII characters, without an end
    position, and without a final newline the pattern's "$" would see differently ("dollar");
    re takes the rest."""

    def for_re2(text: str, endpos: int | None) -> bool:
        return (
            endpos is None
            and len(text) >= _MIN_TEXT
            and text.isascii()
            and not (dollar and text.endswith("\n"))
        )

    return for_re2


def _ruled_out(
    compiled: re.Pattern[str], absent: Callable[[object], bool] | None
) -> dict[str, Callable[..., Any]]:
    """For a pattern RE2 cannot run (a lookaround): re's methods, behind RE2's search for the
    pattern without its lookarounds, which matches wherever it does. Where that finds nothing,
    re is not asked (most texts: the pattern looks for a rare sentence); else re answers."""
    loose = relaxed(compiled.pattern)
    # (None too for one that no longer parses: "(?!x)*" less its lookahead)
    translation = None if loose is None else translate(loose, compiled.flags)
    automaton = None if translation is None else _automaton(translation[0])
    if translation is None or automaton is None:
        return {}
    find, unanchored = automaton.Match, _re2.RE2.Anchor.UNANCHORED
    for_re2 = _for_re2(translation[1])
    py_search, py_finditer = compiled.search, compiled.finditer

    def first(text: str, pos: int, endpos: int | None) -> int:
        """Where re is to start: -1 where the pattern cannot match (the word test says so, or
        RE2 finds the looser pattern nowhere after ``pos``), else where RE2 finds the looser one
        first, as the pattern cannot match before it (``pos`` where RE2 does not take the text).
        re started there answers as from ``pos``: it sees the text before a start position (for
        "^", "\\b" and lookbehinds) as it does the text before the positions it tries."""
        if absent is not None and absent(text):
            return -1
        if not for_re2(text, endpos):
            return pos
        data = text.encode("ascii")
        return find(unanchored, data, min(max(pos, 0), len(data)), len(data))[0][0]

    def search(string: str, pos: int = 0, endpos: int | None = None) -> Any:
        start = first(string, pos, endpos)
        if start < 0:
            return None
        return py_search(string, start) if endpos is None else py_search(string, start, endpos)

    def finditer(string: str, pos: int = 0, endpos: int | None = None) -> Iterator[Any]:
        start = first(string, pos, endpos)
        if start < 0:
            return iter(())
        if endpos is None:
            return py_finditer(string, start)
        return py_finditer(string, start, endpos)

    methods: dict[str, Callable[..., Any]] = {"search": search, "finditer": finditer}
    return _checking(methods, compiled)


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
            translation = translate(source, compiled.flags)
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
