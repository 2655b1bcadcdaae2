"""Reading and validating the catalogue files: everything wrong fails here, naming file and entry.

Layout of ``data/`` (every ``*.yaml`` below it is read, in name order):

- variant files: ``system: <one of SYSTEMS>`` and ``variants: [...]``;
- the tool library: ``commands:`` (name -> label, shell; the code is a block of the same name in
  ``templates/<shell>.j2``), ``portals:`` (name -> label, url) and ``sources:`` (name -> citation);
- ``checklists: [...]``;
- ``senders: [...]``: services that send as a customer's domain (see ``_senders.py``).

A file may hold several of these sections. The loader then proves the whole catalogue usable:
every template compiles and renders with sample facts and with no facts, every fact that enters
a command is inert (see ``_check_commands_inert``), every family has a variant.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from . import _fields as f
from ._catalogue import Catalogue, ChecklistTemplate, CommandTemplate, ItemTemplate
from ._delisting import delist_route
from ._model import (
    CHECKS,
    EVIDENCE,
    FAMILIES,
    REASONS,
    SEVERITIES,
    SYSTEMS,
    WHO,
    CatalogueError,
    DelistRoute,
    Facts,
    Link,
    SendingService,
    Variant,
)
from ._parsed import cached_parse, user_cache_dir
from ._render import context_for, make_environment, render_step, step_problem
from ._safety import live_text
from ._senders import sending_service

__all__ = ["DATA_DIR", "TEMPLATES_DIR", "load_catalogue"]

DATA_DIR = Path(__file__).parent / "data"
TEMPLATES_DIR = Path(__file__).parent / "templates"
SHELLS = ("powershell", "sh")


_VARIANT_REQUIRED = (
    "key", "family", "severity", "who", "reason", "title", "summary", "meaning", "steps",
    "evidence", "sources",
)  # fmt: skip
_VARIANT_OPTIONAL = (
    "codes", "tags", "match_text", "match_regex", "smtp_reply", "checks", "checklist",
    "commands", "portals", "notes",
)  # fmt: skip

SAMPLE_FACTS = Facts(
    sender="pat@contoso.com",
    recipient="kim@fabrikam.com",
    sender_domain="contoso.com",
    recipient_domain="fabrikam.com",
    sending_ip="203.0.113.5",
    remote_host="fabrikam-com.mail.protection.outlook.com",
    status="5.7.1",
    reply_code="550",
    start_date="2025-03-02",
    end_date="2025-03-04",
)
# Every quote PowerShell or a POSIX shell knows, a subexpression, a newline and a comment.
_HOSTILE = "x'; Remove-Mailbox a\u2019; $(Remove-Mailbox b) `\"; Remove-Mailbox c\n#"
HOSTILE_FACTS = Facts(**{name: _HOSTILE for name in Facts.__dataclass_fields__})


@functools.lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return _load(DATA_DIR, TEMPLATES_DIR, cache=user_cache_dir())


def load_catalogue(data_dir: Path | None = None, templates_dir: Path | None = None) -> Catalogue:
    """Load and validate the catalogue; the packaged one is read once and cached.

    Raises :class:`CatalogueError` naming the file, entry and fault for any invalid data.
    """
    if data_dir is None and templates_dir is None:
        return _default_catalogue()
    return _load(Path(data_dir or DATA_DIR), Path(templates_dir or TEMPLATES_DIR))


def _load(data_dir: Path, templates_dir: Path, cache: Path | None = None) -> Catalogue:
    files = _read(data_dir, cache)
    env = make_environment(templates_dir)
    sources: dict[str, str] = {}
    portals: dict[str, Link] = {}
    commands: dict[str, CommandTemplate] = {}
    for name, doc in files:
        sources.update(_named(name, doc, "sources", sources, _source))
        portals.update(_named(name, doc, "portals", portals, _portal))
        for key, raw in _section(name, doc, "commands", dict).items():
            if key in commands:
                raise CatalogueError(name, key, "command defined twice")
            commands[key] = _command(f.Entry(name, key, _mapping(name, key, raw)), env)
    _check_commands_inert(commands)

    checklists: dict[str, ChecklistTemplate] = {}
    for name, doc in files:
        for raw in _section(name, doc, "checklists", list):
            checklist = _checklist(name, raw, commands)
            if checklist.key in checklists:
                raise CatalogueError(name, checklist.key, "checklist defined twice")
            checklists[checklist.key] = checklist

    variants: dict[str, Variant] = {}
    for name, doc in files:
        raw_variants = _section(name, doc, "variants", list)
        if not raw_variants:
            continue
        system = doc.get("system")
        if system not in SYSTEMS:
            raise CatalogueError(name, None, f"system {system!r} is not one of {SYSTEMS}")
        for raw in raw_variants:
            v = _variant(name, str(system), raw, sources, commands, portals, checklists)
            if v.key in variants:
                raise CatalogueError(name, v.key, "variant key used twice")
            variants[v.key] = v

    missing = [fam for fam in FAMILIES if not any(v.family == fam for v in variants.values())]
    if missing:
        raise CatalogueError(str(data_dir), None, f"no variant for family: {', '.join(missing)}")
    # Commands were rendered with sample, missing and hostile facts above, and step syntax is
    # checked per entry; rendering every variant's steps once more proves the fast path works.
    for facts in (SAMPLE_FACTS, Facts()):
        context = context_for(facts)
        for v in variants.values():
            if not all(render_step(step, context) for step in v.steps):
                raise CatalogueError("render", v.key, "a step renders empty")
    routes: dict[str, DelistRoute] = {}
    for name, doc in files:
        for raw in _section(name, doc, "delisting", list):
            route = delist_route(name, _mapping(name, None, raw), portals)
            if route.key in routes:
                raise CatalogueError(name, route.key, "delisting route defined twice")
            routes[route.key] = route
    senders: dict[str, SendingService] = {}
    for name, doc in files:
        for raw in _section(name, doc, "senders", list):
            service = sending_service(name, _mapping(name, None, raw), sources)
            if service.key in senders:
                raise CatalogueError(name, service.key, "sending service defined twice")
            senders[service.key] = service
    return Catalogue(tuple(variants.values()), checklists, commands, portals, routes, senders)


def _read(data_dir: Path, cache: Path | None = None) -> list[tuple[str, Mapping[str, Any]]]:
    if not data_dir.is_dir():
        raise CatalogueError(str(data_dir), None, "catalogue data directory not found")
    out: list[tuple[str, Mapping[str, Any]]] = []
    for path in sorted(data_dir.rglob("*.yaml")):
        name = path.relative_to(data_dir).as_posix()
        try:
            doc = cached_parse(name, path.read_bytes(), _parse_yaml, cache)
        except (_YamlError, UnicodeDecodeError) as exc:
            raise CatalogueError(name, None, f"not valid YAML: {exc}") from None
        if not isinstance(doc, dict):
            raise CatalogueError(name, None, "top level must be a mapping")
        unknown = set(doc) - {
            *("system", "variants", "commands", "portals", "sources", "checklists", "delisting"),
            "senders",
        }
        if unknown:
            raise CatalogueError(name, None, f"unknown section(s): {', '.join(sorted(unknown))}")
        out.append((name, doc))
    return out


class _YamlError(ValueError):
    """A YAML file that does not parse (PyYAML is imported only to parse one)."""


def _parse_yaml(text: bytes) -> Any:
    import yaml  # not needed at all when every file's parse is cached

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~10x faster
    try:
        return yaml.load(text.decode("utf-8"), Loader=loader)  # noqa: S506 (safe loader)
    except yaml.YAMLError as exc:
        raise _YamlError(str(exc)) from None


def _section(file: str, doc: Mapping[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise CatalogueError(file, None, f"{name} must be a {kind.__name__}")
    return value


def _mapping(file: str, key: str | None, raw: object) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise CatalogueError(file, key, "entry must be a mapping")
    return raw


def _named(
    file: str, doc: Mapping[str, Any], section: str, seen: Mapping[str, Any], build: Any
) -> dict[str, Any]:
    out = {}
    for key, raw in _section(file, doc, section, dict).items():
        if not isinstance(key, str) or not f.KEY.fullmatch(key):
            raise CatalogueError(file, str(key), f"{section} name must be lower_snake_case")
        if key in seen or key in out:
            raise CatalogueError(file, key, f"{section} entry defined twice")
        out[key] = build(file, key, raw)
    return out


def _source(file: str, key: str, raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CatalogueError(file, key, "a source must be a non-empty string")
    return " ".join(raw.split())


def _portal(file: str, key: str, raw: object) -> Link:
    entry = f.Entry(file, key, _mapping(file, key, raw))
    entry.check_keys(("label", "url"))
    url = entry.text("url")
    if not url.startswith("https://") or any(c in url for c in " <>\"'{}"):
        raise entry.fail(f"url {url!r} must be a plain https:// address")
    return Link(label=entry.text("label", max_len=120), url=url)


def _command(entry: f.Entry, env: jinja2.Environment) -> CommandTemplate:
    entry.check_keys(("label", "shell"))
    shell = entry.choice("shell", SHELLS)
    try:
        template = env.get_template(f"{shell}.j2")
    except jinja2.TemplateError as exc:
        raise entry.fail(f"templates/{shell}.j2 does not compile: {exc}") from None
    assert entry.key is not None
    if entry.key not in template.blocks:
        raise entry.fail(f"no block {entry.key!r} in templates/{shell}.j2")
    return CommandTemplate(entry.key, entry.text("label", max_len=160), shell, template)


def _check_commands_inert(commands: Mapping[str, CommandTemplate]) -> None:
    """Render each command with sample, missing and hostile facts; hostile text must stay quoted."""
    for name, command in commands.items():
        for facts in (SAMPLE_FACTS, Facts(), HOSTILE_FACTS):
            try:
                code = command.render(context_for(facts)).code
            except jinja2.TemplateError as exc:
                raise CatalogueError(f"templates/{command.shell}.j2", name, str(exc)) from None
            if not code:
                raise CatalogueError(f"templates/{command.shell}.j2", name, "renders empty")
            if "Remove-Mailbox" in live_text(code, command.shell):
                raise CatalogueError(
                    f"templates/{command.shell}.j2", name, "a fact escapes its quotes"
                )


def _checklist(
    file: str, raw: object, commands: Mapping[str, CommandTemplate]
) -> ChecklistTemplate:
    entry = f.Entry(file, None, _mapping(file, None, raw))
    entry.key = str(entry.raw.get("key"))
    entry.check_keys(("key", "title", "items"))
    if not f.KEY.fullmatch(entry.key):
        raise entry.fail("checklist key must be lower_snake_case")
    raw_items = entry.raw["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise entry.fail("items must be a non-empty list")
    items = []
    for raw_item in raw_items:
        item = f.Entry(
            file, f"{entry.key}.{_mapping(file, entry.key, raw_item).get('id')}", raw_item
        )
        item.check_keys(("id", "text"), ("required_before_unblock", "is_unblock", "commands"))
        problem = step_problem(item.text("text"))
        if problem:
            raise item.fail(problem)
        names = item.strings("commands")
        for n in names:
            if n not in commands:
                raise item.fail(f"unknown command {n!r}")
        items.append(
            ItemTemplate(
                id=item.text("id", max_len=40),
                text=item.text("text"),
                required_before_unblock=item.flag("required_before_unblock"),
                is_unblock=item.flag("is_unblock"),
                commands=names,
            )
        )
    if len({i.id for i in items}) != len(items):
        raise entry.fail("two items share an id")
    unblock = [n for n, i in enumerate(items) if i.is_unblock]
    if unblock:
        # The unblock step comes last, after every security step it depends on.
        if len(unblock) > 1 or unblock[0] != len(items) - 1:
            raise entry.fail("a checklist has at most one unblock item, and it comes last")
        if (
            not all(i.required_before_unblock for i in items[:-1])
            or items[-1].required_before_unblock
        ):
            raise entry.fail("every item before the unblock item must be required_before_unblock")
    return ChecklistTemplate(
        key=entry.key, title=entry.text("title", max_len=120), items=tuple(items)
    )


def _variant(
    file: str,
    system: str,
    raw: object,
    sources: Mapping[str, str],
    commands: Mapping[str, CommandTemplate],
    portals: Mapping[str, Link],
    checklists: Mapping[str, ChecklistTemplate],
) -> Variant:
    mapping = _mapping(file, None, raw)
    key = mapping.get("key")
    entry = f.Entry(file, str(key), mapping)
    if not isinstance(key, str) or not f.KEY.fullmatch(key):
        raise entry.fail("key must be lower_snake_case, 3-80 characters")
    entry.check_keys(_VARIANT_REQUIRED, _VARIANT_OPTIONAL)
    family = entry.choice("family", FAMILIES)
    codes = tuple(f.code_range(entry, c) for c in entry.strings("codes"))
    tags, texts, regexes = f.tags(entry), f.match_texts(entry), f.regexes(entry)
    if not (codes or tags or texts or regexes) and family != "other":
        raise entry.fail("a variant with no code and no text rule would match every bounce")
    steps = entry.strings("steps", required=True)
    for step in steps:
        problem = step_problem(step)
        if problem:
            raise entry.fail(problem)
    for name, library in (("commands", commands), ("portals", portals)):
        for item in entry.strings(name):
            if item not in library:
                raise entry.fail(f"unknown {name[:-1]} {item!r}")
    checklist = mapping.get("checklist")
    if checklist is not None and checklist not in checklists:
        raise entry.fail(f"unknown checklist {checklist!r}")
    cited = []
    for s in entry.strings("sources", required=True):
        if s in sources:
            cited.append(sources[s])
        elif f.KEY.fullmatch(s):
            # A bare name that is not in the library is a typo, not a citation.
            raise entry.fail(f"unknown source name {s!r}")
        else:
            cited.append(s)  # a URL, a repository path or a described observation
    return Variant(
        key=key,
        family=family,
        system=system,
        codes=codes,
        tags=tags,
        match_text=texts,
        match_regex=regexes,
        smtp_reply=f.smtp_replies(entry),
        severity=entry.choice("severity", SEVERITIES),
        who=entry.choice("who", WHO),
        reason=entry.choice("reason", REASONS),
        title=entry.text("title", max_len=100),
        summary=entry.text("summary", max_len=300),
        meaning=entry.text("meaning", max_len=1200),
        checks=entry.choices("checks", CHECKS),
        checklist=checklist,
        evidence=entry.choice("evidence", EVIDENCE),
        sources=tuple(cited),
        steps=steps,
        commands=entry.strings("commands"),
        portals=entry.strings("portals"),
        notes=str(mapping.get("notes") or ""),
    )
