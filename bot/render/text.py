"""Card -> plain text, for the terminal console and the CLI.

Terminal output is not a chat client: there are no mentions or links to neutralise, but control
characters from a paste could still move the cursor or recolour the terminal, so they are removed.
"""

from __future__ import annotations

import re
import textwrap

from handlers.card import Card, CodeBlock
from handlers.recheck import FIXED_NEXT

__all__ = ["render_text"]

_MARK = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL", "unknown": "??  "}
_TONE = {"error": "[X]", "warning": "[!]", "info": "[i]", "success": "[ok]"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _wrap(text: str, indent: str = "  ", width: int = 96) -> list[str]:
    """``text`` wrapped to ``width``, each of its own lines on its own (a list stays a list)."""
    lines: list[str] = []
    for line in text.split("\n"):
        lines += textwrap.wrap(
            _clean(line), width=width, initial_indent=indent, subsequent_indent=indent
        ) or [indent]
    return lines or [indent]


def _label(block: CodeBlock) -> str:
    where = f" (in {block.where})" if block.where else ""
    return _clean(block.label) + where


def render_text(card: Card, *, width: int = 96) -> str:
    """A readable, terminal-safe text version of ``card``."""
    out: list[str] = [f"{_TONE.get(str(card.tone), '')} {_clean(card.title)}".strip()]
    if card.summary:
        out += _wrap(card.summary, "    ", width)
    if card.taken_by:
        out += _wrap(f"Taken by {card.taken_by} at {card.taken_at}", "    ", width)
    if card.delisting_by:
        line = f"Delisting requested by {card.delisting_by} at {card.delisting_at}"
        out += _wrap(line, "    ", width)
    if card.facts:
        out.append("")
        label_width = max(len(f.label) for f in card.facts)
        for fact in card.facts:
            out.append(f"  {fact.label:<{label_width}}  {_clean(fact.value)}")
    if card.quote.strip():
        out += ["", "What the server said:"]
        out += _wrap(card.quote, "    ", width)
    for section in card.sections:
        out += ["", f"{section.title}:"]
        out += _wrap(section.text, "  ", width)
    if card.checks:
        out += ["", "Checks:"]
        if card.recheck is not None:
            again = card.recheck
            out += _wrap(
                f"Re-checked by {again.by} at {again.at}: {'; '.join(again.changes)}", "  ", width
            )
            if again.fixed:
                out += _wrap(FIXED_NEXT, "  ", width)
        for check in card.checks:
            name = f"{check.name} {_clean(check.target)}" if check.target else check.name
            out.append(
                f"  [{_MARK.get(check.status, check.status)}] {name}: {_clean(check.summary)}"
            )
            for detail in check.details:
                lines = _wrap(detail, "           ", width)
                lines[0] = "         - " + lines[0].lstrip()
                out += lines
            for block in check.code:
                out.append(f"         # {_label(block)}")
                out += [f"           {_clean(line)}" for line in block.code.splitlines()]
            out += [f"         - {_clean(link.label)}: {link.url}" for link in check.links]
    if card.steps:
        out += ["", "Next steps:"]
        for number, step in enumerate(card.steps, start=1):
            lines = _wrap(step, "     ", width)
            lines[0] = f"  {number:>2}." + lines[0][4:]
            out += lines
    if card.code:
        out += ["", "Commands:"]
        for block in card.code:
            out.append(f"  # {_label(block)}")
            out += [f"    {_clean(line)}" for line in block.code.splitlines()]
    if card.checklist:
        out += ["", f"{card.checklist.title}:"]
        for item in card.checklist.items:
            box = "[x]" if item.done else "[ ]" if item.enabled else "[-]"
            suffix = f" (done by {item.done_by} at {item.done_at})" if item.done else ""
            if not item.enabled:
                suffix = " (not yet: finish the security steps first)"
            out += _wrap(f"{box} {item.text}{suffix}", "  ", width)
    if card.links:
        out += ["", "Links:"]
        out += [f"  - {_clean(link.label)}: {link.url}" for link in card.links]
    for note in card.notes:
        out += ["", *_wrap(f"Note: {note}", "", width)]
    if card.picture is not None:
        out += [
            "",
            *_wrap(f"[A chart goes with this card in Teams: {card.picture.alt}]", "", width),
        ]
    if card.footer:
        out += ["", f"({_clean(card.footer)})"]
    return "\n".join(out)
