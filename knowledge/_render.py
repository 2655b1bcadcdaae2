"""The Jinja2 environment for remediation text and commands, and the facts it may see.

Templates never print a fact directly. Each fact reaches a template wrapped in :class:`Fact`, and
the environment's ``finalize`` hook refuses to output one unfiltered, so every use has to say how
it is escaped:

- ``{{ sender | ps('sender address') }}``: a single-quoted PowerShell literal (placeholder when
  absent), the only way a fact may enter a PowerShell command;
- ``{{ sending_ip | sh('sending IP') }}``: a single-quoted POSIX shell word;
- ``{{ sender | txt('the sender') }}``: cleaned plain text for steps (renderers escape markup);
- ``{{ start_date | ps_date('(Get-Date).AddDays(-10)') }}``: a quoted date, or a PowerShell
  expression written by us when the bounce gave none.

Autoescape is off on purpose: the output is plain text and commands, and each chat renderer
escapes for its own platform.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2

from ._model import Facts
from ._quoting import clean, ps_literal, sh_literal, url_component

__all__ = ["Fact", "context_for", "make_environment"]


class Fact:
    """An untrusted value from a bounce; printable only through an escaping filter."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = clean(value)

    def __bool__(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        # Reached only when a template bypasses ``finalize`` (e.g. ``~`` concatenation).
        raise jinja2.TemplateRuntimeError(
            "a bounce fact was used without an escaping filter (ps, sh, txt, url)"
        )


def _value(fact: object) -> str | None:
    if isinstance(fact, Fact):
        return fact.value
    if isinstance(fact, jinja2.Undefined):
        str(fact)  # StrictUndefined raises here, naming the misspelt fact
        return None
    if fact is None:
        return None
    # A literal written in the template itself is trusted text; still escape it for the target.
    return clean(fact)


def _ps(fact: object, placeholder: str = "value") -> str:
    return ps_literal(_value(fact), placeholder)


def _sh(fact: object, placeholder: str = "value") -> str:
    return sh_literal(_value(fact), placeholder)


def _txt(fact: object, fallback: str = "") -> str:
    value = _value(fact)
    return value if value is not None else fallback


def _url(fact: object, placeholder: str = "value") -> str:
    return url_component(_value(fact), placeholder)


def _ps_date(fact: object, default: str) -> str:
    value = _value(fact)
    return ps_literal(value, "date") if value is not None else default


def _finalize(value: object) -> object:
    if isinstance(value, Fact):
        raise jinja2.TemplateRuntimeError(
            "a bounce fact was printed without an escaping filter (ps, sh, txt, url)"
        )
    return "" if value is None else value


_ENVIRONMENT = "trim,lstrip,strict,finalize-1"  # bump when make_environment's options change


class _QuietCache(jinja2.FileSystemBytecodeCache):
    """Jinja's own per-user bytecode cache (a 0700 folder it checks before use), so a start-up
    does not compile the command templates again; a cache that cannot be written is skipped.
    Its entries are keyed by the template's source and :data:`_ENVIRONMENT` too: compiled code
    depends on the environment's options, which Jinja's own key leaves out."""

    def get_source_checksum(self, source: str) -> str:
        return super().get_source_checksum(_ENVIRONMENT + "\0" + source)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _QuietCache()
    except (OSError, RuntimeError):  # no safe folder of our own: compile every time
        return None


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """The one Jinja2 environment: strict undefined, no autoescape, the escaping filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 (plain text and shell commands; renderers escape per platform)
        finalize=_finalize,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ps=_ps, sh=_sh, txt=_txt, url=_url, ps_date=_ps_date)
    return env


_DOMAIN = re.compile(r"@([^@\s]+)$")


def _domain_of(address: str | None) -> str | None:
    value = clean(address)
    if value is None:
        return None
    m = _DOMAIN.search(value)
    return m.group(1).strip(">").lower() if m else None


def _reversed_ip(ip: str | None) -> str | None:
    """``203.0.113.5`` -> ``5.113.0.203`` (nibbles for IPv6): the DNSBL query prefix."""
    try:
        address = ipaddress.ip_address((clean(ip) or "").strip("[]"))
    except ValueError:
        return None
    suffix = ".in-addr.arpa" if address.version == 4 else ".ip6.arpa"
    return address.reverse_pointer.removesuffix(suffix)


@functools.lru_cache(maxsize=256)
def context_for(facts: Facts) -> Mapping[str, Any]:
    """The names a template may use: each field of ``facts`` as a :class:`Fact`.

    ``sender_domain`` and ``recipient_domain`` fall back to the domain of the address when the
    bounce did not name them separately; ``ip_reversed`` is ``sending_ip`` in DNSBL query order
    (only when it is a valid IP address). Cached: a card is often rendered more than once.
    """
    return MappingProxyType(
        {
            "ip_reversed": Fact(_reversed_ip(facts.sending_ip)),
            "sender": Fact(facts.sender),
            "recipient": Fact(facts.recipient),
            "sender_domain": Fact(facts.sender_domain or _domain_of(facts.sender)),
            "recipient_domain": Fact(facts.recipient_domain or _domain_of(facts.recipient)),
            "sending_ip": Fact(facts.sending_ip),
            "remote_host": Fact(facts.remote_host),
            "status": Fact(facts.status),
            "reply_code": Fact(facts.reply_code),
            "start_date": Fact(facts.start_date),
            "end_date": Fact(facts.end_date),
        }
    )


# Steps use one Jinja construct only: ``{{ fact | txt('fallback') }}``. Compiling several hundred
# step templates with Jinja costs about a second at start-up (measured: ~2 ms per template), so
# the loader renders this subset itself; tests render every step through Jinja as well and check
# that both give the same text.
_STEP_FIELD = re.compile(r"\{\{\s*([a-z_]+)\s*\|\s*txt\(\s*'([^'{}\\]*)'\s*\)\s*\}\}")
_JINJA_MARK = re.compile(r"\{[{%#]|[}%#]\}")
FACT_NAMES = frozenset(Facts.__dataclass_fields__) | {"ip_reversed"}


def step_problem(source: str) -> str | None:
    """Why ``source`` is not a valid step template, or None when it is."""
    for m in _STEP_FIELD.finditer(source):
        if m.group(1) not in FACT_NAMES:
            return f"step uses unknown fact {m.group(1)!r} (known: {', '.join(sorted(FACT_NAMES))})"
    rest = _STEP_FIELD.sub("", source)
    if _JINJA_MARK.search(rest):
        return "steps may only use {{ fact | txt('fallback') }}; found other template syntax"
    return None


def render_step(source: str, context: Mapping[str, Any]) -> str:
    """``source`` with each ``{{ fact | txt('fallback') }}`` replaced by the cleaned fact.

    Runs of spaces left by an empty fallback collapse to one, as in any plain-text paragraph.
    """
    if "{{" not in source:
        return source
    text = _STEP_FIELD.sub(lambda m: _txt(context[m.group(1)], m.group(2)), source)
    return " ".join(text.split())
