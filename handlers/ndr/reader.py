"""The NDR reader: any paste or message in, a :class:`~handlers.ndr.model.Bounce` out.

    bounce = read(data)            # bytes or str, as pasted or uploaded
    bounce.kind, bounce.recipients, bounce.sending_ip, ...

It refuses input over a size limit with :class:`InputTooLarge`; anything else is read as far as it
can be and never raises.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from handlers.ndr.codes import has_code, normalise_address
from handlers.ndr.dsn import DsnFields, field_host, parse_dsn_fields
from handlers.ndr.extract import FAILURE_WORDS, Candidate, extract_candidates, find_command
from handlers.ndr.facts import (
    find_reporting_mta,
    find_sender_in_text,
    find_verdict_domain,
    read_sending_ip,
)
from handlers.ndr.headers import parse_original
from handlers.ndr.kind import BOUNCE_PHRASES, non_bounce_kind
from handlers.ndr.lazyre import lazy
from handlers.ndr.mime import Document, parse_document, split_original
from handlers.ndr.model import Bounce, FailedRecipient, Kind, OriginalMessage
from handlers.ndr.phrases import REFUSAL_SENTENCES
from handlers.ndr.recipients import assemble_recipients
from handlers.ndr.replies import exo_enhanced, global_reply
from handlers.ndr.ses import read_ses_notification
from handlers.ndr.shapes import merge_candidates, read_shapes
from handlers.ndr.systems import detect_system
from handlers.ndr.transcript import transcript_command
from handlers.refusals import Refusal

__all__ = ["DEFAULT_MAX_BYTES", "InputTooLarge", "ReaderError", "read"]

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# Real reports name a handful of recipients; a paste listing thousands is read up to this many.
MAX_RECIPIENTS = 100


class ReaderError(Refusal):
    """Input the reader will not read; the message says why, for the person who pasted it."""


class InputTooLarge(ReaderError):
    """The paste is over the size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"This is {_human(size)}, over ndrbot's limit of {_human(limit)} for one bounce. "
            "Paste only the part from 'Diagnostic information for administrators' (or "
            "'More Info for Email Admins') down to the original message headers, or upload "
            "the .eml file of the bounce alone."
        )
        self.size = size
        self.limit = limit


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.0f} KB"


def read(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Bounce:
    """Read a bounce from ``data`` (a pasted text or a whole message)."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise InputTooLarge(size, max_bytes)
    head = data[:64] if isinstance(data, str) else data[:64].decode("utf-8", "replace")
    if head.lstrip().startswith("{"):
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        notification = read_ses_notification(text)
        if notification is not None:
            return notification
    return _read_document(parse_document(data))


def _read_document(doc: Document) -> Bounce:
    for text in doc.texts[:3]:
        if text.lstrip().startswith("{"):
            notification = read_ses_notification(text)
            if notification is not None:
                return notification
    reading = _classify(_find_recipients(_find_candidates(_gather(doc))))
    return _to_bounce(reading)


@dataclass(frozen=True)
class _Reading:
    """What the reader knows so far about one document. Each step below takes one and returns
    a new one; nothing another module built (the Document, the DSN fields) is changed."""

    doc: Document
    report: str  # the human-readable parts, without the original message's headers
    original: OriginalMessage | None
    dsn: DsnFields
    notes: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    shaped: tuple[Candidate, ...] = ()  # read from log lines, transcripts, app errors
    recipients: tuple[FailedRecipient, ...] = ()
    kind: Kind = Kind.UNKNOWN

    @functools.cached_property
    def quoted_reply(self) -> str | None:
        """The remote server's reply quoted anywhere in the report; read only when asked."""
        return global_reply(self.report)

    @functools.cached_property
    def phrased(self) -> bool:
        """A paste's report headings or a receiver's fixed refusal wording. Looked for at most
        once, and only when nothing cheaper (a code, a log's verdict) already says it failed."""
        head = self.report[:20_000]
        return not self.doc.is_message and bool(
            BOUNCE_PHRASES.search(head) or REFUSAL_SENTENCES.search(head)
        )


# What a step may change: not the document and report its cached properties are read from.
_STEPPED = frozenset(field.name for field in fields(_Reading)) - {"doc", "report"}


def _step(r: _Reading, **changes: Any) -> _Reading:
    """``replace(r, **changes)``, without rebuilding every field through ``__init__`` (about a
    tenth of a step's time), and keeping what ``r`` has already worked out."""
    if not changes.keys() <= _STEPPED:  # (a view's test: no set built for the common case)
        unknown = sorted(changes.keys() - _STEPPED)[0]
        raise TypeError(f"a step cannot set _Reading's {unknown!r}")
    new = object.__new__(_Reading)
    new.__dict__.update(r.__dict__)
    new.__dict__.update(changes)
    return new


def _gather(doc: Document) -> _Reading:
    """The report text, the original message's headers and the delivery-status fields."""
    bodies: list[str] = []
    original_headers = list(doc.original_headers)
    for text in doc.texts:
        body, headers = split_original(text)
        bodies.append(body)
        if headers and not original_headers:
            original_headers = headers
    report = "\n\n".join(bodies)
    dsn = parse_dsn_fields("\n\n".join(doc.dsn_texts)) if doc.dsn_texts else DsnFields()
    if not dsn.recipients:
        pasted = parse_dsn_fields(report)
        if pasted.recipients:
            dsn = pasted
    notes: tuple[str, ...] = ()
    if len(dsn.recipients) > MAX_RECIPIENTS:
        notes = (
            f"The report lists {len(dsn.recipients)} recipients; the first {MAX_RECIPIENTS} are shown.",
        )
        dsn = replace(dsn, recipients=dsn.recipients[:MAX_RECIPIENTS])
    return _Reading(doc, report, parse_original(original_headers), dsn, notes)


def _find_candidates(r: _Reading) -> _Reading:
    """Who sent it, and every line that names a failed recipient (with the shapes of a paste)."""
    senders = _sender_candidates(r.doc, r.dsn, r.original, r.report, [])
    candidates = extract_candidates(r.report, sender=senders[0] if senders else None)
    exo = exo_enhanced(r.report)
    if exo is not None:
        candidates = [c for c in candidates if c.address != exo.address] + [exo]
    shaped: list[Candidate] = []
    if (
        not r.doc.is_message
        and not r.dsn.recipients
        and not any(has_code(c.text) for c in candidates)
    ):
        # Not a bounce as a mail system writes it: log lines, a transcript, an app's error.
        shaped = read_shapes(r.report)
        senders = _sender_candidates(r.doc, r.dsn, r.original, r.report, shaped)
        candidates = merge_candidates(candidates, shaped)
    return _step(
        r,
        senders=tuple(senders),
        candidates=tuple(candidates[:MAX_RECIPIENTS]),
        shaped=tuple(shaped),
    )


_PIPE_DELIVERY = re.compile(r"^[ \t-]*pipe to \|", re.MULTILINE)


def _find_recipients(r: _Reading) -> _Reading:
    """The failed recipients, each with its status, reply and diagnostic."""
    recipients = assemble_recipients(
        r.doc,
        r.dsn,
        list(r.candidates),
        lambda: r.quoted_reply,
        r.report,
        list(r.senders),
        r.original,
        phrased=lambda: r.phrased,
    )[:MAX_RECIPIENTS]
    if not r.doc.is_message and not _speaks_of_failure(recipients) and not r.phrased:
        # Prose that names an address near a word like "invalid" or "blocked" (an API error, a
        # question about a bounce, a delisting request) is not a bounce without a code, a log's
        # verdict, a report's heading or a receiver's fixed refusal.
        recipients = []
    stage = transcript_command(r.report)
    if not stage and len(recipients) == 1 and recipients[0].command is None:
        # One failed recipient: the stage the report names anywhere ("did not like our RCPT TO",
        # "(in reply to RCPT TO command)" on a wrapped line) is that recipient's.
        stage = find_command(r.report)
    if stage:
        recipients = [x if x.command else replace(x, command=stage) for x in recipients]
    if len(recipients) == 1 and "pipe to |" in r.report and _PIPE_DELIVERY.search(r.report):
        # Exim's "pipe to |/path/prog": a local delivery program failed (a DSN would say X-Unix).
        recipients = [
            x if x.diagnostic_type else replace(x, diagnostic_type="x-unix") for x in recipients
        ]
    return _step(r, recipients=tuple(recipients))


def _classify(r: _Reading) -> _Reading:
    """Bounce, delay, or something else (an auto-reply, a report...) without recipients."""
    recipients = list(r.recipients)
    has_failure = any(_is_failure(x) for x in recipients) or bool(
        recipients
        and (
            BOUNCE_PHRASES.search(r.doc.header("subject") + " " + r.report[:3000])
            or r.doc.header("x-failed-recipients")
            or r.phrased
        )
    )
    kind = non_bounce_kind(r.doc, r.report, has_failure)
    if kind is None:
        kind = _ndr_kind(r.doc, recipients, r.report, has_failure)
    return _step(r, kind=kind, recipients=r.recipients if kind.is_ndr else ())


def _to_bounce(r: _Reading) -> Bounce:
    """The :class:`Bounce`: the facts around the recipients, and notes for the reader."""
    doc, kind, recipients = r.doc, r.kind, r.recipients
    delay_notice = kind is Kind.DELAY and bool(
        _DELAY_TEXT.search(doc.header("subject") + "\n" + r.report[:50_000])
    )
    first = recipients[0] if recipients else None
    sending_ip = hidden_ip = None
    for recipient in recipients:
        sending_ip, hidden = read_sending_ip(recipient.diagnostic, recipient.remote_mta.ip)
        hidden_ip = hidden_ip or hidden
        if sending_ip:
            break
    if sending_ip is None and kind.is_ndr:
        # A receiving server's own log names the connecting client: that is the sender's IP.
        sending_ip = next((c.client_ip for c in r.shaped if c.client_ip), None)
    verdict_domain = next(
        (d for d in (find_verdict_domain(x.diagnostic) for x in recipients[:10]) if d), None
    )
    # A server's greeting names its product only in a pasted session, never in a message.
    greetings = "" if doc.is_message else r.report
    system = detect_system(first.remote_mta.host, first.diagnostic, greetings) if first else None
    notes: list[str] = []
    if kind.is_ndr and first is not None and not (first.status or first.reply_code):
        notes.append(
            "No status code was found. If this was copied from an Outlook or OWA notice, paste "
            "the 'Diagnostic information for administrators' part too."
        )
    if kind.is_ndr and sending_ip is None and hidden_ip:
        notes.append(
            f"The paste hides the sending IP (shown as {hidden_ip[:45]}), so it cannot be checked "
            "against blocklists; paste the real address, or run the blocklist check with it."
        )
    hidden_addresses = [x.hidden_address for x in recipients if x.hidden_address]
    if kind.is_ndr and hidden_addresses:
        notes.append(
            f"The paste hides the recipient's address (shown as {hidden_addresses[0][:80]}); "
            "checks that need the recipient's domain are left out."
        )
    return Bounce(
        kind=kind,
        recipients=recipients,
        sender=r.senders[0] if r.senders else None,
        sender_domain=verdict_domain,
        reporting_mta=_reporting_mta(r.dsn, r.report),
        sending_ip=sending_ip,
        hidden_ip=hidden_ip if sending_ip is None else None,
        delay_notice=delay_notice,
        system=system.key if system else None,
        system_evidence=system.evidence if system else None,
        subject=doc.header("subject") or None,
        original=r.original,
        notes=(*notes, *doc.notes, *r.notes),
    )


def _sender_candidates(
    doc: Document,
    dsn: DsnFields,
    original: OriginalMessage | None,
    report: str,
    shaped: list[Candidate],
) -> list[str]:
    found: list[str | None] = [normalise_address(dsn.message.get("x-postfix-sender"))]
    if original is not None:
        found.append(original.sender)
        found.append(original.from_address)
    if doc.is_message:
        found.append(normalise_address(doc.header("to")))
    found.append(find_sender_in_text(report))
    found.extend(c.sender for c in shaped)
    result: list[str] = []
    for address in found:
        if (
            address
            and address not in result
            and not address.lower().startswith(("mailer-daemon@", "postmaster@"))
        ):
            result.append(address)
    return result


def _speaks_of_failure(recipients: list[FailedRecipient]) -> bool:
    return any(r.status or r.reply_code or r.action in ("failed", "delayed") for r in recipients)


def _is_failure(recipient: FailedRecipient) -> bool:
    if recipient.action in ("failed", "delayed"):
        return True
    if recipient.action in ("delivered", "relayed", "expanded"):
        return False
    code = recipient.status or recipient.reply_code
    if code:
        return code[0] in "45"
    return bool(recipient.diagnostic and FAILURE_WORDS.search(recipient.diagnostic))


_FINAL = lazy(r"gave up|giving up|expired|will not (?:be )?retr|permanent", re.I)
# The words of a delay notice: the sending side telling its user it is still trying (as opposed
# to a 4xx reply quoted in a log or an app's error, which is only a transient refusal).
_DELAY_TEXT = lazy(
    r"\(Delay\)|has been delayed|delivery delayed|will be retried|will retry|warning message only"
    r"|not yet been delivered|still trying|delivery incomplete|this is a temporary (?:error|problem)"
    r"|temporary problem delivering|address(?:\(es\)|es) deferred|delay reason:|will be reattempted"
    r"|delivery attempts will continue",
    re.I,
)


def _ndr_kind(
    doc: Document, recipients: list[FailedRecipient], report: str, has_failure: bool
) -> Kind:
    if recipients and has_failure:
        delayed = all(
            r.action == "delayed" or (r.action is None and r.permanent is False) for r in recipients
        )
        if delayed and not _FINAL.search(report[:50_000]):
            return Kind.DELAY
        if all(
            r.status is None and r.reply_code is None for r in recipients
        ) and _DELAY_TEXT.search(doc.header("subject") + "\n" + report[:50_000]):
            return Kind.DELAY
        return Kind.BOUNCE
    if recipients and all(r.action in ("delivered", "relayed", "expanded") for r in recipients):
        return Kind.DELIVERED
    if doc.is_message:
        return Kind.UNKNOWN
    return Kind.CHAT


# ---------------------------------------------------------------------------------------------


def _reporting_mta(dsn: DsnFields, report: str) -> str | None:
    field = dsn.message.get("reporting-mta", "")
    if field:
        host = field_host(field.split(";", 1)[-1].strip())
        if host:
            return host
    return find_reporting_mta(report)
