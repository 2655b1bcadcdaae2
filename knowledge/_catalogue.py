"""The loaded catalogue: variants, checklists and the tools they point at, ready to render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jinja2

from ._model import (
    CatalogueError,
    Checklist,
    ChecklistItem,
    Command,
    DelistRoute,
    Facts,
    Link,
    Remediation,
    SendingService,
    Variant,
)
from ._render import context_for, render_step

__all__ = ["Catalogue", "ChecklistTemplate", "CommandTemplate", "ItemTemplate"]


@dataclass(frozen=True, slots=True)
class CommandTemplate:
    """A command of the tool library: its label, shell and compiled Jinja2 block."""

    name: str
    label: str
    shell: str
    template: jinja2.Template

    def render(self, context: Mapping[str, Any]) -> Command:
        """The command with the facts in ``context`` filled in, safely quoted."""
        block = self.template.blocks[self.name]
        code = "".join(block(self.template.new_context(dict(context)))).strip()
        return Command(label=self.label, code=code, shell=self.shell)


@dataclass(frozen=True, slots=True)
class ItemTemplate:
    """A checklist item before its facts are filled in."""

    id: str
    text: str
    required_before_unblock: bool
    is_unblock: bool
    commands: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChecklistTemplate:
    """A checklist before its facts are filled in."""

    key: str
    title: str
    items: tuple[ItemTemplate, ...]


class Catalogue:
    """All known NDR variants, their checklists and tools; immutable once loaded."""

    def __init__(
        self,
        variants: tuple[Variant, ...],
        checklists: Mapping[str, ChecklistTemplate],
        commands: Mapping[str, CommandTemplate],
        portals: Mapping[str, Link],
        delisting: Mapping[str, DelistRoute] | None = None,
        senders: Mapping[str, SendingService] | None = None,
    ) -> None:
        self.variants = variants
        # Services that send as a customer's domain (DMARC reports name their sources by them).
        self.senders: Mapping[str, SendingService] = MappingProxyType(dict(senders or {}))
        # Where a blocked sender asks for delisting, in the order routes are tried.
        self.delisting: Mapping[str, DelistRoute] = MappingProxyType(dict(delisting or {}))
        self._by_key = {v.key: v for v in variants}
        self._checklist_templates = dict(checklists)
        self._commands = dict(commands)
        self._portals = dict(portals)
        empty = context_for(Facts())
        self.checklists: Mapping[str, Checklist] = MappingProxyType(
            {key: self._render_checklist(t, empty) for key, t in checklists.items()}
        )

    def __len__(self) -> int:
        return len(self.variants)

    def portal(self, name: str) -> Link:
        """The portal link called ``name`` in ``data/tools.yaml``; KeyError if there is none."""
        return self._portals[name]

    def get(self, key: str) -> Variant:
        """The variant called ``key``; KeyError if there is none."""
        return self._by_key[key]

    def by_family(self, family: str) -> tuple[Variant, ...]:
        """Every variant of one family, in catalogue order."""
        return tuple(v for v in self.variants if v.family == family)

    def render(self, variant: Variant, facts: Facts) -> Remediation:
        """Steps, commands, portals and checklist for ``variant`` with ``facts`` filled in.

        Facts are untrusted: steps get cleaned plain text, commands get quoted literals, and a
        missing fact becomes a visible placeholder such as ``'<sender address>'``.
        """
        if self._by_key.get(variant.key) is not variant:
            raise CatalogueError("render", variant.key, "variant is not from this catalogue")
        context = context_for(facts)
        checklist = None
        if variant.checklist is not None:
            checklist = self._render_checklist(
                self._checklist_templates[variant.checklist], context
            )
        return Remediation(
            steps=tuple(s for s in (render_step(t, context) for t in variant.steps) if s),
            commands=tuple(self._commands[name].render(context) for name in variant.commands),
            portals=tuple(self._portals[name] for name in variant.portals),
            checklist=checklist,
        )

    def _render_checklist(
        self, template: ChecklistTemplate, context: Mapping[str, Any]
    ) -> Checklist:
        items = tuple(
            ChecklistItem(
                id=item.id,
                text=render_step(item.text, context),
                required_before_unblock=item.required_before_unblock,
                is_unblock=item.is_unblock,
                commands=tuple(self._commands[name].render(context) for name in item.commands),
            )
            for item in template.items
        )
        return Checklist(key=template.key, title=template.title, items=items)
