"""Delisting requests: which place to ask, and a prefilled draft with the evidence first.

Pure. :func:`delist_request` picks the catalogue's route for a diagnosed block (by status code,
then by the words of the refusal) and keeps the facts the draft needs; the card stores it
(``meta["delist"]``), so a click much later, on any replica, builds the same draft.
:func:`build_draft` fills the route's text from those facts, the card's live check lines (as the
last Re-check left them) and the compromise checklist's ticks, and puts at the top every reason
why asking now is likely to fail:

- the IP address is still on an exploit list (Spamhaus XBL or CSS): a machine behind it is
  infected or sends like it, and the list will refuse or re-list;
- SPF still fails for the IP address: the receiver will keep refusing it;
- the compromise checklist's security steps are not all done for a restricted sender.

ndrbot never submits anything: the draft is text to read, edit and send by hand. Every value from
the paste is plain text with control characters removed and length capped; renderers show it as
text (a Slack or Teams input's value, a console line), never as markup.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from handlers.card import CheckLine, ChecklistView, LinkItem
from handlers.checklist import TickRecord
from handlers.diagnosis import Diagnosis
from knowledge import Catalogue, DelistRoute, parse_code

__all__ = ["DelistRequest", "Draft", "DraftField", "build_draft", "delist_request"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_VALUE = 500
_FILL_IN = "<{}>"
_LABELS = {
    "ip": "Sending IP address",
    "sender": "Email address",
    "sender_domain": "Sending domain",
    "recipient_domain": "Recipient domain",
    "status": "Status code",
    "error_line": "Error line",
    "bounced_at": "Date of the bounce",
    "audit": "Done so far",
}


@dataclass(frozen=True)
class DelistRequest:
    """What a delisting draft needs from the bounce; stored with the card as JSON."""

    route: str  # a key of ``catalogue.delisting``
    ip: str = ""
    sender: str = ""
    sender_domain: str = ""
    recipient_domain: str = ""
    status: str = ""
    error_line: str = ""
    bounced_at: str = ""

    def to_json(self) -> str:
        """The request as stored in a card's meta."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DelistRequest:
        """The request :meth:`to_json` stored; ValueError for anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("route"), str):
            raise ValueError("not a delisting request")
        known = {name: str(data.get(name) or "") for name in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class DraftField:
    """One value to copy into a web form (``name`` is one of the catalogue's DELIST_NAMES)."""

    name: str
    label: str
    value: str  # "" when the bounce did not give it
    multiline: bool = False


@dataclass(frozen=True)
class Draft:
    """A delisting request to read, edit and send by hand."""

    route: str
    title: str
    warnings: tuple[str, ...]  # why asking now is likely to fail; empty when the evidence is good
    where: LinkItem | None  # the form to fill in (URL from the catalogue)
    mail_to: str | None  # or the address to mail
    subject: str
    fields: tuple[DraftField, ...]
    body: str
    steps: tuple[str, ...]
    expect: str
    escalation: str = ""  # a reply to an automated refusal, asking for a person's review
    notes: tuple[str, ...] = ()  # what could not be checked (no warning, but worth knowing)


def delist_request(diagnosis: Diagnosis, catalogue: Catalogue) -> DelistRequest | None:
    """The route and facts for a bounce that a delisting could fix; None for any other."""
    bounce = diagnosis.bounce
    first = bounce.first
    if first is None or not bounce.is_ndr:
        return None
    route = _route_for(first.status, first.diagnostic, catalogue.delisting.values())
    if route is None:
        return None
    facts = diagnosis.facts
    return DelistRequest(
        route=route.key,
        ip=_clean(facts.sending_ip),
        sender=_clean(facts.sender),
        sender_domain=_clean(facts.sender_domain),
        recipient_domain=_clean(facts.recipient_domain),
        status=_clean(first.status),
        error_line=_clean(first.diagnostic),
        bounced_at=_clean(facts.start_date or (bounce.original.date if bounce.original else None)),
    )


def build_draft(
    request: DelistRequest,
    catalogue: Catalogue,
    checks: Sequence[CheckLine],
    checklist: ChecklistView | None,
    ticks: Mapping[str, TickRecord],
) -> Draft | None:
    """The draft for ``request`` as things stand now; None if its route is no longer known."""
    route = catalogue.delisting.get(request.route)
    if route is None:
        return None
    audit = _audit(checklist, ticks)
    values = {
        "ip": request.ip,
        "sender": request.sender,
        "sender_domain": request.sender_domain,
        "recipient_domain": request.recipient_domain,
        "status": request.status,
        "error_line": request.error_line,
        "bounced_at": request.bounced_at,
        "audit": "\n".join(audit),
    }
    warnings, notes = _evidence(request, checks, checklist, ticks)
    return Draft(
        route=route.key,
        title=route.title,
        warnings=warnings,
        where=LinkItem(route.portal.label, route.portal.url) if route.portal else None,
        mail_to=route.mail_to,
        subject=_fill(route.subject, values) if route.subject else "",
        fields=tuple(
            DraftField(name, _LABELS[name], values[name], multiline=name in ("error_line", "audit"))
            for name in route.fields
        ),
        body=_fill(route.body, values),
        steps=route.steps,
        expect=route.expect,
        escalation=_fill(route.escalation, values) if route.escalation else "",
        notes=notes,
    )


def _route_for(
    status: str | None, diagnostic: str, routes: Iterable[DelistRoute]
) -> DelistRoute | None:
    code = parse_code(status or "")
    text = diagnostic.lower()
    routes = tuple(routes)
    for route in routes:
        if code is not None and any(r.lo <= code <= r.hi for r in route.codes):
            return route
    for route in routes:
        if route.words and _words_pattern(tuple(route.words)).search(text):
            return route
    return None


@functools.lru_cache(maxsize=256)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words``, whole (one pattern per route, compiled once: this runs for every
    diagnosis card)."""
    return re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, words)) + r")(?![\w])")


def _evidence(
    request: DelistRequest,
    checks: Sequence[CheckLine],
    checklist: ChecklistView | None,
    ticks: Mapping[str, TickRecord],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    warnings: list[str] = []
    notes: list[str] = []
    ip = request.ip or "the IP address"
    for line in checks:
        if line.name == "Blocklists" and line.status == "fail":
            exploit = [d for d in line.details if re.search(r"\b(?:XBL|CSS)\b", d)]
            if exploit:
                warnings.append(
                    f"{ip} is still on a Spamhaus exploit list ({exploit[0]}). Find and clean the "
                    "machine or account that sends through it first: a request now is likely to "
                    "be refused, or the address listed again within hours."
                )
        elif line.name == "Blocklists" and line.status == "unknown":
            notes.append(f"The blocklists could not be checked for {ip}: look it up first.")
        if line.name == "SPF" and line.status == "fail":
            domain = request.sender_domain or "the sending domain"
            warnings.append(
                f"SPF for {domain} still fails for {ip}. Fix the record first: receivers will "
                "keep refusing this mail whatever a list says."
            )
    if checklist is not None:
        required = [item for item in checklist.items if item.required]
        open_items = [item for item in required if item.id not in ticks]
        if open_items:
            warnings.append(
                f"The compromise checklist is unfinished: {len(open_items)} of {len(required)} "
                "security steps are not ticked. Microsoft and the lists expect the account "
                "secured before they lift a block."
            )
    return tuple(warnings), tuple(notes)


def _audit(checklist: ChecklistView | None, ticks: Mapping[str, TickRecord]) -> list[str]:
    """One line per ticked checklist step: what, by whom, when."""
    if checklist is None:
        return []
    lines = []
    for item in checklist.items:
        record = ticks.get(item.id)
        if record is not None:
            when = record.at[11:16] + " UTC " + record.at[:10] if len(record.at) >= 16 else ""
            lines.append(
                f"- {_clean(item.text)} (by {_clean(record.user)}{', ' + when if when else ''})"
            )
    return (["Done so far:", *lines]) if lines else []


def _fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each {name} replaced (the catalogue's loader allows only the names
    ``values`` holds); a value the bounce did not give is "<label>", for the person to fill in,
    and an empty audit is left out."""
    filled = {k: v if v else _FILL_IN.format(_LABELS[k].lower()) for k, v in values.items()}
    if not values.get("audit"):
        filled["audit"] = ""
    text = template.format_map(filled)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _clean(value: str | None) -> str:
    """Pasted text made inert for a draft: one line, no control or direction characters, capped."""
    if not value:
        return ""
    text = _CONTROL.sub("", " ".join(value.split()))
    return text[:_MAX_VALUE]
