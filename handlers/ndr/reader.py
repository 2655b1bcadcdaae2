"""The NDR reader: any paste or message in, a :class:`~handlers.ndr.model.Bounce` out.

    bounce = read(data)            # bytes or str, as pasted or uploaded
    bounce.kind, bounce.recipients, bounce.sending_ip, ...

It refuses input over a size limit with :class:`InputTooLarge`; anything else is read as far as it
can be and never raises.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cached_property

from handlers.ndr.codes import (
    STATUS_RE,
    find_ips,
    is_generic_status,
    normalise_address,
    split_reply,
)
from handlers.ndr.dsn import DsnFields, DsnRecipient, parse_dsn_fields
from handlers.ndr.extract import (
    FAILURE_WORDS,
    Candidate,
    extract_candidates,
    extract_prose_candidates,
    find_command,
    find_remote,
    reason_paragraph,
    reply_text,
    transcript_command,
)
from handlers.ndr.facts import (
    clean_diagnostic,
    detect_system,
    find_reporting_mta,
    find_sender_in_text,
    find_sending_ip,
)
from handlers.ndr.headers import parse_original
from handlers.ndr.kind import BOUNCE_PHRASES, non_bounce_kind
from handlers.ndr.mime import Document, parse_document, split_original
from handlers.ndr.model import Bounce, FailedRecipient, Kind, Mta, OriginalMessage
from handlers.ndr.ses import read_ses_notification

__all__ = ["DEFAULT_MAX_BYTES", "InputTooLarge", "ReaderError", "read"]

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# Real reports name a handful of recipients; a paste listing thousands is read up to this many.
MAX_RECIPIENTS = 100


class ReaderError(ValueError):
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
    bodies: list[str] = []
    original_headers = list(doc.original_headers)
    for text in doc.texts:
        body, headers = split_original(text)
        bodies.append(body)
        if headers and not original_headers:
            original_headers = headers
    report = "\n\n".join(bodies)
    original = parse_original(original_headers)

    dsn = parse_dsn_fields("\n\n".join(doc.dsn_texts)) if doc.dsn_texts else DsnFields()
    if not dsn.recipients:
        pasted = parse_dsn_fields(report)
        if pasted.recipients:
            dsn = pasted

    senders = _sender_candidates(doc, dsn, original, report)
    sender = senders[0] if senders else None
    candidates = extract_candidates(report, sender=sender)
    exo = _exo_enhanced(report)
    if exo is not None:
        candidates = [c for c in candidates if c.address != exo.address] + [exo]
    global_reply = _global_reply(report)

    if len(dsn.recipients) > MAX_RECIPIENTS:
        doc.notes.append(
            f"The report lists {len(dsn.recipients)} recipients; the first {MAX_RECIPIENTS} are shown."
        )
        dsn.recipients = dsn.recipients[:MAX_RECIPIENTS]
    candidates = candidates[:MAX_RECIPIENTS]
    recipients = _recipients(doc, dsn, candidates, global_reply, report, senders, original)
    recipients = recipients[:MAX_RECIPIENTS]
    stage = transcript_command(report)
    if stage:
        recipients = [r if r.command else replace(r, command=stage) for r in recipients]
    has_failure = any(_is_failure(r) for r in recipients) or bool(
        recipients
        and (
            BOUNCE_PHRASES.search(doc.header("subject") + " " + report[:3000])
            or doc.header("x-failed-recipients")
        )
    )
    kind = non_bounce_kind(doc, report, has_failure)
    if kind is not None:
        recipients = []
    else:
        kind = _ndr_kind(doc, recipients, report, has_failure)
        if not kind.is_ndr:
            recipients = []

    first = recipients[0] if recipients else None
    sending_ip = None
    for recipient in recipients:
        sending_ip = find_sending_ip(recipient.diagnostic, recipient.remote_mta.ip)
        if sending_ip:
            break
    reporting = _reporting_mta(dsn, report)
    system = None
    if first is not None:
        system = detect_system(first.remote_mta.host, first.diagnostic) or (
            detect_system(reporting) if not first.remote_mta else None
        )
    notes: list[str] = []
    if kind.is_ndr and first is not None and not (first.status or first.reply_code):
        notes.append(
            "No status code was found. If this was copied from an Outlook or OWA notice, paste "
            "the 'Diagnostic information for administrators' part too."
        )
    notes.extend(doc.notes)
    return Bounce(
        kind=kind,
        recipients=tuple(recipients),
        sender=sender,
        reporting_mta=reporting,
        sending_ip=sending_ip,
        system=system,
        subject=doc.header("subject") or None,
        original=original,
        notes=tuple(notes),
    )


def _sender_candidates(
    doc: Document, dsn: DsnFields, original: OriginalMessage | None, report: str
) -> list[str]:
    found: list[str | None] = [normalise_address(dsn.message.get("x-postfix-sender"))]
    if original is not None:
        found.append(original.sender)
        found.append(original.from_address)
    if doc.is_message:
        found.append(normalise_address(doc.header("to")))
    found.append(find_sender_in_text(report))
    result: list[str] = []
    for address in found:
        if (
            address
            and address not in result
            and not address.lower().startswith(("mailer-daemon@", "postmaster@"))
        ):
            result.append(address)
    return result


def _is_failure(recipient: FailedRecipient) -> bool:
    if recipient.action in ("failed", "delayed"):
        return True
    if recipient.action in ("delivered", "relayed", "expanded"):
        return False
    code = recipient.status or recipient.reply_code
    if code:
        return code[0] in "45"
    return bool(recipient.diagnostic and FAILURE_WORDS.search(recipient.diagnostic))


_FINAL = re.compile(r"gave up|giving up|expired|will not (?:be )?retr|permanent", re.I)
_DELAY_TEXT = re.compile(
    r"\(Delay\)|has been delayed|delivery delayed|will be retried|will retry|warning message only"
    r"|not yet been delivered|still trying",
    re.I,
)


def _ndr_kind(
    doc: Document, recipients: list[FailedRecipient], report: str, has_failure: bool
) -> Kind:
    if recipients and has_failure:
        delayed = all(
            r.action == "delayed" or (r.action is None and r.permanent is False) for r in recipients
        )
        if delayed and not re.search(_FINAL, report[:50_000]):
            return Kind.DELAY
        if all(r.status is None and r.reply_code is None for r in recipients) and re.search(
            _DELAY_TEXT, doc.header("subject") + "\n" + report[:50_000]
        ):
            return Kind.DELAY
        return Kind.BOUNCE
    if recipients and all(r.action in ("delivered", "relayed", "expanded") for r in recipients):
        return Kind.DELIVERED
    if doc.is_message:
        return Kind.UNKNOWN
    return Kind.CHAT


# ---------------------------------------------------------------------------------------------


def _recipients(
    doc: Document,
    dsn: DsnFields,
    candidates: list[Candidate],
    global_reply: str | None,
    report: str,
    senders: list[str],
    original: OriginalMessage | None,
) -> list[FailedRecipient]:
    by_address = {c.address: c for c in candidates if c.address}
    fallback = _Fallback(global_reply, report)
    if dsn.recipients:
        out = [_from_dsn(r, by_address, candidates, fallback) for r in dsn.recipients]
        if len(out) == 1 and out[0].address is None:
            # A Final-Recipient that is a mailbox path, not an address (a local delivery):
            # the prose names the address it came from ("generated by a@b").
            named = extract_prose_candidates(report)
            if len(named) == 1:
                out[0] = replace(out[0], address=named[0].address)
        return [r for r in out if r.action not in ("delivered", "relayed", "expanded")] or out

    # The report is addressed to the original sender and often greets them by address.
    pool = [c for c in candidates if not (c.address in senders and not _has_code(c.text))]
    chosen = [c for c in pool if _evidence(c.text)]
    declared = _declared_failures(doc)
    if declared and not chosen:
        # Exim and Google name the failed addresses in X-Failed-Recipients; where the report's
        # own text says nothing clearer, trust that header (it can lag behind a rewrite, so an
        # address the text gives with its reason wins).
        text = fallback.text or reason_paragraph(report, plain_ok=True)
        return [_from_candidate(by_address.get(a) or Candidate(a, ""), text) for a in declared]
    if not chosen:
        # No address at the start of a line says why it failed: look for addresses named in
        # sentences ("Unable to deliver message to <a@b>").
        known = {c.address for c in pool}
        prose = [c for c in extract_prose_candidates(report) if c.address not in known]
        pool += [c for c in prose if not (c.address in senders and not _has_code(c.text))]
        chosen = [c for c in pool if _evidence(c.text)] or pool
    if chosen:
        return [_from_candidate(c, fallback.text) for c in chosen]

    addresses = _fallback_addresses(doc, report, senders, original)
    looks_like_ndr = doc.is_message and bool(
        BOUNCE_PHRASES.search(doc.header("subject") + " " + report[:3000])
    )
    bare = global_reply or _bare_error(report)
    if bare is None and looks_like_ndr:
        bare = fallback.text
    if bare is None and looks_like_ndr and addresses:
        bare = ""  # a failure notice that gives no reason ("Delivery report unavailable")
    if bare is None or (
        not addresses and not looks_like_ndr and not _bare_error(report) and not global_reply
    ):
        return []
    return [
        _from_candidate(Candidate(address, bare, *find_remote(bare), find_command(bare)), None)
        for address in (addresses or [None])
    ]


class _Fallback:
    """What to use as the reason when a recipient's own text gives none (worked out on demand)."""

    def __init__(self, global_reply: str | None, report: str) -> None:
        self._global = global_reply
        self._report = report

    @cached_property
    def text(self) -> str | None:
        """The quoted remote reply if it has a code, else the report's most error-like paragraph."""
        if self._global and _has_code(self._global):
            return self._global
        return reason_paragraph(self._report) or self._global


def _evidence(text: str) -> bool:
    return _has_code(text) or bool(FAILURE_WORDS.search(text))


def _has_code(text: str) -> bool:
    return bool(STATUS_RE.search(text) or re.search(r"(?:^|\s)[245]\d\d[ -]", text))


def _declared_failures(doc: Document) -> list[str]:
    addresses: list[str] = []
    for part in doc.header("x-failed-recipients").split(",")[:100]:
        address = normalise_address(part)
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def _fallback_addresses(
    doc: Document, report: str, senders: list[str], original: OriginalMessage | None
) -> list[str | None]:
    match = re.search(
        r"^[ \t]*(?:In:[ \t]+)?(?:Recipient Address|Original-Recipient|RCPT TO|To)[ \t]*:[ \t]*(.{3,300})$",
        report[:50_000],
        re.I | re.M,
    )
    if match:
        address = normalise_address(match.group(1))
        if address and address not in senders:
            return [address]
    to = original.to if original is not None else ()
    if len(to) == 1 and to[0] not in senders:
        return [to[0]]
    return []


def _from_candidate(candidate: Candidate, fallback_text: str | None) -> FailedRecipient:
    text = reply_text(candidate.text) if candidate.text else ""
    if (
        fallback_text
        and not _has_code(text)
        and (_has_code(fallback_text) or not FAILURE_WORDS.search(text))
    ):
        text = fallback_text
    diagnostic = clean_diagnostic(text)
    reply, status = split_reply(diagnostic)
    host, ip = candidate.host, candidate.ip
    if not host and not ip and fallback_text:
        host, ip = find_remote(fallback_text)
    return FailedRecipient(
        address=candidate.address,
        status=status,
        reply_code=reply,
        diagnostic=diagnostic,
        remote_mta=Mta(host, ip),
        action=None,
        command=candidate.command or (find_command(fallback_text) if fallback_text else None),
    )


def _from_dsn(
    fields: DsnRecipient,
    by_address: dict[str, Candidate],
    candidates: list[Candidate],
    fallback: _Fallback,
) -> FailedRecipient:
    address = (
        _dsn_address(fields.get("final-recipient"))
        or _dsn_address(fields.get("original-recipient"))
        or _dsn_address(fields.get("x-actual-recipient"))
    )
    candidate = by_address.get(address or "") or (candidates[0] if len(candidates) == 1 else None)
    if address is None and candidate is not None:
        address = candidate.address  # a broken Final-Recipient ("@mx.example.org"): the prose knows
    diagnostic = fields.get("diagnostic-code")
    if not diagnostic and candidate is not None:
        diagnostic = reply_text(candidate.text)
    if not diagnostic:
        diagnostic = fallback.text or ""
    diagnostic = clean_diagnostic(diagnostic)
    reply, text_status = split_reply(diagnostic)
    status = _pick_status(fields.get("status") or None, text_status)
    remote_host, remote_ip = _remote_from_field(fields.get("remote-mta"))
    if candidate is not None:
        # The prose often names the IP the Remote-MTA field leaves out ("host X[ip] said").
        if not remote_host and not remote_ip:
            remote_host, remote_ip = candidate.host, candidate.ip
        elif not remote_ip and candidate.ip and candidate.host in (None, remote_host):
            remote_ip = candidate.ip
    action = fields.get("action") or None
    return FailedRecipient(
        address=address,
        status=status,
        reply_code=reply,
        diagnostic=diagnostic,
        remote_mta=Mta(remote_host, remote_ip),
        action=action,
        command=(find_command(candidate.text) if candidate else None) or find_command(diagnostic),
        diagnostic_type=fields.diagnostic_type or None,
    )


_LOCAL_HOST_ADDRESS = re.compile(
    r"<?([\w.!#$%&'*+/=?^`{|}~-]{1,64}@[A-Za-z0-9][A-Za-z0-9-]{0,62})>?"
)


def _dsn_address(value: str) -> str | None:
    """An address from a DSN recipient field; there a bare host (``user@mailhub``) is valid too."""
    address = normalise_address(value)
    if address is None and value:
        match = _LOCAL_HOST_ADDRESS.fullmatch(value.strip())
        if match:
            local, _, host = match.group(1).rpartition("@")
            address = f"{local}@{host.lower()}"
    return address


def _pick_status(field_status: str | None, text_status: str | None) -> str | None:
    """The rejecting server's own code when its reply carries one, else the DSN's Status field.

    Reporting MTAs often put a generic (5.0.0) or give-up (4.4.7) code in Status: over the
    remote server's more specific one.
    """
    if field_status and not STATUS_RE.fullmatch(field_status):
        field_status = None
    if field_status is None:
        return text_status
    if text_status and not is_generic_status(text_status):
        return text_status
    return field_status


def _remote_from_field(value: str) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    ips = find_ips(value)
    host_match = re.match(r"\s*([A-Za-z0-9][\w.-]{0,253})", value)
    host = host_match.group(1).rstrip(".").lower() if host_match else None
    if host and find_ips(host):
        host = None
    return host, ips[0] if ips else None


_GLOBAL_MARKERS = re.compile(
    r"Remote Server (?:at [^\s]{1,255}(?: \([^)]{0,60}\))? )?returned '"
    r"|The error that the other server returned was:"
    r"|The response (?:from the remote server )?was:"
    r"|Remote host said:"
    r"|^Error:\s"
    r"|^Status code:\s"
    r"|\bsaid:\s",
    re.IGNORECASE | re.MULTILINE,
)


def _global_reply(report: str) -> str | None:
    """The remote server's reply quoted anywhere in a report, when no paragraph carries it."""
    match = _GLOBAL_MARKERS.search(report[:200_000])
    if match:
        rest = report[match.end() : match.end() + 4000]
        if match.group(0).endswith("'"):
            end = rest.find("'\n")
            paragraph = rest[:end] if end >= 0 else rest.split("\n\n", 1)[0]
        else:
            paragraph = rest.lstrip("\n").split("\n\n", 1)[0]
            if match.group(0).lower().startswith("status code"):
                # "Status code: 550 5.7.193" then the full reply on the next line.
                lines = paragraph.split("\n")
                paragraph = lines[1] if len(lines) > 1 and STATUS_RE.search(lines[1]) else lines[0]
        text = paragraph.strip()
        if text:
            return text
    return _bare_error(report)


_ERROR_LINE = re.compile(
    r"^[^\n]{0,200}?(?:[245]\d\d[ -])?[245]\.\d{1,3}\.\d{1,3}\b[^\n]{0,1500}$"
    r"|^[ \t>]*(?:<<<\s*)?[245]\d\d[ -][^\n]{3,1500}$",
    re.MULTILINE,
)


def _bare_error(report: str) -> str | None:
    """The first line that reads like an SMTP error, for partial pastes ("550 5.7.1 Unable to relay")."""
    for match in _ERROR_LINE.finditer(report[:200_000]):
        line = match.group(0).strip().lstrip("<> ").strip()
        if STATUS_RE.search(line) and (
            FAILURE_WORDS.search(line) or re.match(r"[245]\d\d[ -]", line)
        ):
            return line
        if re.match(r"[45]\d\d[ -]", line) and FAILURE_WORDS.search(line):
            return line
    return None


_EXO_HEADLINE = re.compile(
    r"Your message to\s+<?([^\s<>]{3,320}@[^\s<>]{3,255}?)>?\s+couldn't be delivered", re.IGNORECASE
)
_EXO_REJECTED_BY = re.compile(
    r"^[ \t]*Message rejected by:[ \t]*([A-Za-z0-9][\w.-]{0,253})", re.IGNORECASE | re.MULTILINE
)


def _exo_enhanced(report: str) -> Candidate | None:
    """Microsoft 365's current NDR layout ("Your message to X couldn't be delivered.")."""
    headline = _EXO_HEADLINE.search(report[:100_000])
    if not headline:
        return None
    address = normalise_address(headline.group(1))
    reply = _global_reply(report) or ""
    rejected_by = _EXO_REJECTED_BY.search(report)
    host = rejected_by.group(1).lower() if rejected_by else None
    return Candidate(address, reply, host, None, find_command(reply))


def _reporting_mta(dsn: DsnFields, report: str) -> str | None:
    field = dsn.message.get("reporting-mta", "")
    if field:
        value = field.split(";", 1)[-1].strip()
        match = re.match(r"([A-Za-z0-9][\w.-]{0,253})", value)
        if match:
            return match.group(1).rstrip(".").lower()
    return find_reporting_mta(report)
