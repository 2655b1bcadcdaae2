"""Building cards: a diagnosis, a set of check results, help and refusals, as :class:`Card` values.

Pure functions over values. The catalogue renders the remediation text (its Jinja2 templates);
this module decides what goes on the card and in which order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from handlers.card import (
    Action,
    ActionKind,
    Card,
    CheckLine,
    ChecklistItemView,
    ChecklistView,
    CodeBlock,
    Fact,
    LinkItem,
    Section,
    Tone,
)
from handlers.checklist import TickRecord, apply_ticks
from handlers.checks.result import CheckResult, Severity
from handlers.code_layout import layout_powershell
from handlers.diagnosis import Diagnosis
from handlers.ndr.model import Kind
from handlers.ndr.systems import SYSTEM_NAMES
from handlers.verdicts import receiver_verdicts, then_and_now
from knowledge import Catalogue, Checklist, Link

__all__ = [
    "check_card",
    "check_lines",
    "diagnosis_card",
    "error_card",
    "help_card",
    "not_a_bounce_card",
    "placeholder_card",
    "record_lines",
    "with_check_lines",
]

_WHO = {
    "sender_user": "The sender (the person whose mail bounced)",
    "sender_admin": "The sender's mail administrator",
    "recipient_admin": "The recipient's mail administrator",
    "recipient_user": "The recipient",
    "group_owner": "The owner of the recipient group or list",
}
_CHECK_NAMES = {
    "spf": "SPF",
    "dmarc": "DMARC",
    "dkim": "DKIM",
    "mx": "MX",
    "rdns": "Reverse DNS",
    "blocklist": "Blocklists",
}
_KIND_TEXT = {
    Kind.AUTO_REPLY: "This is an automatic reply (out of office or similar), not a delivery failure.",
    Kind.FEEDBACK: "This is an abuse or feedback-loop report (ARF), not a delivery failure.",
    Kind.DMARC_REPORT: "This is a DMARC report, not a delivery failure.",
    Kind.DELIVERED: "This is a delivery receipt: the message was delivered or relayed.",
    Kind.CHALLENGE: (
        "This is a challenge-response or whitelist request (the recipient's filter asks the "
        "sender to confirm), not a delivery failure. Confirm it if you trust the recipient."
    ),
    Kind.LIST_NOTICE: (
        "This is a mailing list holding the message for its moderator, not a delivery failure."
    ),
    Kind.DELIST_NOTICE: "This is a delisting confirmation from a blocklist, not a delivery failure.",
    Kind.HEADERS: (
        "These are the headers of a delivered message, not a delivery failure. Paste the bounce "
        "itself to have it diagnosed."
    ),
    Kind.UNKNOWN: "This looks like an e-mail, but not like a delivery failure report.",
    Kind.CHAT: "This does not look like a bounce.",
}


_CONFIDENCE = {
    "high": "ndrbot is sure which failure this is: the code and the server's words both match.",
    "medium": "ndrbot is fairly sure which failure this is: the code or the words match.",
    "low": "ndrbot is not sure which failure this is.",
    "none": "",
}


def _fact(label: str, value: str | None) -> Fact | None:
    return Fact(label, value) if value else None


def _facts(d: Diagnosis) -> tuple[Fact, ...]:
    bounce = d.bounce
    first = bounce.first
    status = " ".join(x for x in (first.reply_code, first.status) if x) if first else ""
    more = len(bounce.recipients) - 1
    recipient = first.address if first and first.address else None
    if recipient and more > 0:
        recipient = f"{recipient} (and {more} more)"
    remote = None
    if first and first.remote_mta:
        remote = " ".join(
            x
            for x in (
                first.remote_mta.host,
                f"[{first.remote_mta.ip}]" if first.remote_mta.ip else None,
            )
            if x
        )
    if recipient is None and first and first.hidden_address:
        recipient = f"hidden in the paste ({first.hidden_address[:80]})"
    blocked = bounce.sending_ip
    if blocked is None and bounce.hidden_ip:
        blocked = f"hidden in the paste ({bounce.hidden_ip[:45]})"
    system = None
    if bounce.system:
        system = SYSTEM_NAMES.get(bounce.system, bounce.system)
        if bounce.system_evidence:
            system = f"{system}: {bounce.system_evidence}"
    sender = bounce.sender
    if sender is None and d.facts.sender_domain:
        sender = f"{d.facts.sender_domain} (the domain the receiver checked)"
    found = (
        _fact("Status", status),
        _fact("Recipient", recipient),
        _fact("Sender", sender),
        # "Blocked" only where the refusal is about the address itself (a blocklist, a ban).
        _fact("Blocked IP" if d.reason in ("blocked", "badreputation") else "Sending IP", blocked),
        _fact("Rejected by", remote),
        _fact("Refusing system", system),
        _fact("Reported by", bounce.reporting_mta),
    )
    return tuple(f for f in found if f is not None)


def check_lines(results: Sequence[CheckResult]) -> tuple[CheckLine, ...]:
    """The card lines for check results (as a diagnosis or check card shows them)."""
    return tuple(_check_line(r) for r in results)


def _check_line(result: CheckResult) -> CheckLine:
    important = [
        _finding_text(result, f.code, f.message)
        for f in result.findings
        if f.severity in (Severity.ERROR, Severity.WARNING, Severity.UNKNOWN)
    ]
    # A finding that only says again what the summary says is left out.
    said = result.summary.casefold()
    important = [m for m in important if m.casefold().rstrip(".") not in said]
    return CheckLine(
        name=_CHECK_NAMES.get(result.check, result.check.upper()),
        target=result.target,
        status=str(result.status),
        summary=result.summary,
        details=tuple(important[:4]) + _caveats(result),
        code=_proposals(result),
        links=_delisting(result),
    )


def _finding_text(result: CheckResult, code: str, message: str) -> str:
    """A finding as a card shows it: a listing without its delisting URL (that is a link)."""
    if code == "blocklist.listed":
        return message.split(". Delisting: ", 1)[0] + "."
    return message


def _delisting(result: CheckResult) -> tuple[LinkItem, ...]:
    """Where to ask each blocklist that lists the target for removal (URLs from ndrbot's own
    list of blocklists, never from a paste)."""
    links = []
    for row in result.details.get("lists", ()) if result.check == "blocklist" else ():
        url, _, note = str(row.get("delist", "")).partition(" ")
        if row.get("status") == "listed" and url.startswith("https://"):
            links.append(LinkItem(f"Delisting: {row['list']} {note}".strip(), url))
    return tuple(links)


def record_lines(flattening: Mapping[str, Any]) -> list[str]:
    """The proposed records of an SPF check's ``details.flattening`` as zone-file lines to copy
    (``name TXT "string" "string"``): the cards and ``ndrbot check`` show the same text."""
    return [
        f"{rec['name']} TXT " + " ".join(json.dumps(s) for s in rec["strings"])
        for rec in flattening.get("records", ())
    ]


def _proposals(result: CheckResult) -> tuple[CodeBlock, ...]:
    """What a check proposes to publish (today: SPF flattening), as records to copy."""
    flat = result.details.get("flattening")
    if not flat or not flat.get("records"):
        return ()
    records = "\n".join(record_lines(flat))
    label = f"Proposed SPF records, flattened ({flat['lookups_after']} lookups after)"
    return (CodeBlock(label, records, "dns"),)


def _caveats(result: CheckResult) -> tuple[str, ...]:
    flat = result.details.get("flattening")
    return (str(flat["caveat"]),) if flat and flat.get("records") else ()


def _links(portals: Sequence[Link]) -> tuple[LinkItem, ...]:
    """The catalogue's portal links as a card's links."""
    return tuple(LinkItem(link.label, link.url) for link in portals)


def _command(label: str, code: str, shell: str) -> CodeBlock:
    """A catalogue command as a code block, laid out to wrap on a narrow card."""
    return CodeBlock(label, layout_powershell(code) if shell == "powershell" else code, shell)


def _checklist_view(
    checklist: Checklist, key: str, ticks: Mapping[str, TickRecord] | None
) -> ChecklistView:
    items = tuple(
        ChecklistItemView(
            id=item.id,
            text=item.text,
            is_unblock=item.is_unblock,
            required=item.required_before_unblock,
            commands=tuple(_command(c.label, c.code, c.shell) for c in item.commands),
        )
        for item in checklist.items
    )
    return apply_ticks(ChecklistView(key=key, title=checklist.title, items=items), ticks or {})


def diagnosis_card(
    diagnosis: Diagnosis,
    catalogue: Catalogue,
    checks: Sequence[CheckResult] = (),
    *,
    card_id: str = "",
    ticks: Mapping[str, TickRecord] | None = None,
) -> Card:
    """The remediation card for a diagnosed bounce (or a short note for anything else)."""
    if diagnosis.variant is None:
        return not_a_bounce_card(diagnosis)
    variant = diagnosis.variant
    remediation = catalogue.render(variant, diagnosis.facts)
    bounce = diagnosis.bounce
    transient = bounce.kind is Kind.DELAY or bounce.permanent is False
    tone = Tone.WARNING if transient else Tone.ERROR
    sections = [Section("What it means", variant.meaning)]
    sections.append(Section("Who must act", _WHO.get(variant.who, variant.who)))
    verdicts = receiver_verdicts(bounce)
    if verdicts:
        sent = bounce.original.date if bounce.original else None
        said = then_and_now(verdicts, checks, sent)
        sections.append(Section("What the receiver checked, then and now", "\n".join(said)))
    if transient:
        sections.append(
            Section(
                "Still retrying",
                "This is a temporary failure: the sending server keeps retrying for a while. "
                "Fix the cause and the message may still arrive without resending.",
            )
        )
    checklist = None
    if remediation.checklist is not None:
        checklist = _checklist_view(remediation.checklist, card_id or variant.key, ticks)
    notes = list(bounce.notes)
    if diagnosis.confidence == "low":
        notes.append(
            "ndrbot is not sure which failure this is; the steps below are general. "
            "The full bounce (with its diagnostic part) gives a better answer."
        )
    return Card(
        title=variant.title,
        tone=tone,
        summary=variant.summary,
        facts=_facts(diagnosis),
        sections=tuple(sections),
        checks=tuple(_check_line(c) for c in checks),
        steps=remediation.steps,
        code=tuple(_command(c.label, c.code, c.shell) for c in remediation.commands),
        links=_links(remediation.portals),
        checklist=checklist,
        notes=tuple(notes),
        quote=(bounce.first.diagnostic if bounce.first else "") or "",
        footer=_CONFIDENCE[diagnosis.confidence],
        id=card_id,
        meta={"family": variant.family, "variant": variant.key},
    )


def not_a_bounce_card(diagnosis: Diagnosis) -> Card:
    """A short card for something that is not a delivery failure."""
    kind = diagnosis.bounce.kind
    return Card(
        title="Not a bounce",
        tone=Tone.INFO,
        summary=_KIND_TEXT.get(kind, "This does not look like a delivery failure."),
        meta={"kind": str(kind)},
    )


def check_card(
    title: str,
    results: Sequence[CheckResult],
    *,
    card_id: str = "",
    shareable: bool = False,
    checklist: Checklist | None = None,
    portals: Sequence[Link] = (),
) -> Card:
    """A card for slash-command results: one line per check, with its findings (and, for
    ``/mailcheck``, a checklist to work through and its portals)."""
    actions = (Action(ActionKind.SHARE, "Share in channel"),) if shareable else ()
    card = Card(
        title=title,
        tone=Tone.SUCCESS,
        checks=check_lines(results),
        actions=actions,
        checklist=_checklist_view(checklist, card_id or "checks", None) if checklist else None,
        links=_links(portals),
        id=card_id,
        meta={"card": "checks"},
    )
    return with_check_lines(card, card.checks)


def with_check_lines(card: Card, lines: Sequence[CheckLine]) -> Card:
    """A check card (``check_card``) showing ``lines``, its header and note said from them;
    any other card gets the lines alone (its header is about the bounce)."""
    if card.meta.get("card") != "checks":
        return replace(card, checks=tuple(lines))
    statuses = {line.status for line in lines}
    if "fail" in statuses:
        tone = Tone.ERROR
    elif statuses & {"warn", "unknown"}:
        tone = Tone.WARNING
    else:
        tone = Tone.SUCCESS
    notes: tuple[str, ...] = ()
    if "unknown" in statuses:
        notes = (
            "A check marked unknown could not run to the end (a DNS timeout or refusal); "
            "it says nothing about the record itself.",
        )
    return replace(card, checks=tuple(lines), tone=tone, summary=_lines_summary(lines), notes=notes)


def _lines_summary(lines: Sequence[CheckLine]) -> str:
    """One sentence over all the lines: the single line's own summary, else a count that
    names what failed (a header must not say "fail" over a line that says "passes")."""
    if len(lines) == 1:
        return lines[0].summary

    def names(status: str) -> list[str]:
        return [line.name for line in lines if line.status == status]

    for status, verb in (("fail", "fail"), ("warn", "warn")):
        hit = names(status)
        if hit:
            return f"{len(hit)} of {len(lines)} checks {verb}: {', '.join(hit)}."
    unknown = names("unknown")
    if unknown:
        return f"{len(unknown)} of {len(lines)} checks could not run: {', '.join(unknown)}."
    return f"All {len(lines)} checks pass." if lines else ""


def help_card(commands: Sequence[tuple[str, str]], *, how_to_type: str = "") -> Card:
    """What ndrbot does and the commands it answers (``commands``: synopsis and help, as the
    platform types them; ``how_to_type``: a platform's note on typing them)."""
    listing = "\n".join(f"{usage}: {text}" for usage, text in commands)
    sections = [Section("Commands", listing)]
    if how_to_type:
        sections.append(Section("Typing a command", how_to_type))
    return Card(
        title="ndrbot: paste a bounce, get the fix",
        tone=Tone.INFO,
        summary=(
            "Paste a non-delivery report (or upload the .eml) in a channel I am in, and I reply "
            "in the thread with what failed, why, and what to do."
        ),
        sections=tuple(sections),
    )


def placeholder_card(diagnosis: Diagnosis) -> Card:
    """What a thread shows while a bounce's checks run: what it is, and what is being checked;
    the message is then edited into the full card (one message per diagnosis)."""
    title = diagnosis.variant.title if diagnosis.variant else "Reading the bounce"
    targets = list(dict.fromkeys(s.target for s in diagnosis.plan.steps if s.skip is None))
    checking = f"checking {', '.join(targets[:3])}" if targets else "preparing the card"
    return Card(
        title=title,
        tone=Tone.INFO,
        summary=f"Reading the bounce, {checking}…",
        meta={"card": "placeholder"},
    )


def error_card(title: str, message: str) -> Card:
    """A refusal or failure, said plainly (oversized paste, invalid domain, rate limit...)."""
    return Card(title=title, tone=Tone.WARNING, summary=message)
