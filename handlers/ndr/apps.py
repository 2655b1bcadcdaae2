"""SMTP replies quoted inside application errors and mail-service event records.

An app that could not send mail rarely shows a bounce; it shows its own error with the server's
reply somewhere inside:

    Expected response code "250" but got code "550", with message "550 5.7.1 Relaying denied"
    SMTPRecipientsRefused: {'a@b': (550, b'5.1.1 <a@b>: Recipient address rejected')}
    Socket Exception: (550, b'5.7.60 SMTP; Client does not have permissions to send as this sender')
    response: '535 5.7.139 Authentication unsuccessful ...'          (nodemailer)
    The server response was: 5.7.57 Client not authenticated ...       (.NET SmtpException)
    SMTP ERROR: RCPT TO command failed: 550 ...                        (PHPMailer)
    (code: 550, response: 5.7.1 Unable to relay for a@b)               (PEAR Net_SMTP)
    SMTPAddressFailedException: 454 4.7.1 <a@b>: Relay access denied   (JavaMail)
    Error SMTP: [550] Incorrect sender header                           (Roundcube)
    {"email": "a@b", "status": "5.1.1", "reason": "550 5.1.1 ..."}      (SendGrid, SES, Mailgun...)

:func:`find_replies` finds them all: first the shapes above, then any 4xx/5xx reply that starts a
line or follows a colon, a quote or ``smtp;``. Each becomes a
:class:`~handlers.ndr.extract.Candidate` whose text starts with the reply code when the app gave it
apart from the text, so the usual code reading applies. Anchored or bounded patterns only.
"""

from __future__ import annotations

import re

from handlers.ndr.codes import ADDRESS_BODY, STATUS_RE, is_masked_address, normalise_address
from handlers.ndr.extract import Candidate, find_command
from handlers.ndr.lazyre import lazy

__all__ = ["find_replies", "recipient_in_reply"]

_MAX_SCAN = 200_000
_MAX_REPLIES = 200

_SWIFT = lazy(
    r"Expected response code \"?[\d/ ]{3,20}\"?(?: but|,) got (?:code )?\"?([2-5]\d\d)\"?"
    r"(?:, with message \"([^\"\n]{0,2000}))?"
)
# A quoted string, as Python's repr writes one: it picks the quote the text does not contain, so
# the text runs to the next such quote (linear: no lazy scan that could go on past it).
_PY_STRING = r"b?(?:'([^']{0,2000})'|\"([^\"]{0,2000})\")"
_PY_DICT = lazy(
    r"(['\"])([^'\"\n{}]{1,320})\1\s*:\s*\(\s*([2-5]\d\d)\s*,\s*" + _PY_STRING + r"\s*\)"
)
# (550, b'...') and SMTPSenderRefused's (553, b'...', 'sender'); not ('fail', 550, '...') from an
# SPF library, where the code is not first.
_PY_TUPLE = lazy(
    r"\(\s*([45]\d\d)\s*,\s*" + _PY_STRING + r"\s*(?:,\s*b?['\"]([^'\"\n]{1,320})['\"]\s*)?\)"
)
_PY_SET = lazy(r"SMTPRecipientsRefused:?\s*\{\s*((?:u?['\"][^'\"\n]{1,320}['\"],?\s*){1,100})\}")
_QUOTED_FIELD = lazy(
    r"(response|data|message|reason|details|error|smtp_msg|diagnosticCode|description)['\"]?\s*[:=]\s*"
    r"(?:'((?:[45]\d\d[ -]|[45]\.\d{1,3}\.\d{1,3}\s)[^']{0,2000})'"
    r"|\"((?:[45]\d\d[ -]|[45]\.\d{1,3}\.\d{1,3}\s)[^\"]{0,2000})\")"
)
_DOTNET = lazy(r"The server response (?:was|is):\s*([^\n]{1,2000})")
_PHPMAILER = lazy(
    r"SMTP ERROR: ([A-Z][A-Z ]{1,20}) command failed:\s*([^\n]{1,2000})"
    r"|SMTP server error: ([A-Z][A-Z ]{1,20}) command failed\s*Detail:\s*((?:(?!SMTP code:)[^\n]){1,2000})"
    r"(?:\s*SMTP code:\s*([2-5]\d\d))?",
)
_PEAR = lazy(r"\(code:\s*([2-5]\d\d),\s*response:\s*([^\n]{1,2000}?)\)\s*\]")
_BRACKET_CODE = lazy(r"\[([45]\d\d)\]\.?\s*([^\n]{0,2000})")
_BRACKET_LEAD_IN = lazy(r"(?:SMTP|error code)[^\[\n]{0,20}$", re.IGNORECASE)
# A 4xx/5xx reply code (or an enhanced code alone, "5.7.3 Authentication unsuccessful") counts
# where it starts a line or follows a colon, a quote, "smtp;", " - " or "with"/"as"/"got", and
# text follows it (on the same line or, wrapped, on the next). Found by the code first, then the
# words before it are checked: cheap on long pastes, where codes are rare.
_CODE = lazy(
    r"[45](?<![\w.#/-][45])(?:\d\d(?=[ -]\S|[ \t]*(?:\n|$))|\.\d{1,3}\.\d{1,3}(?=[ \t]+\S))"
)
_LEAD_IN = lazy(r"(?:[:;=]\s*|\s-\s|\b(?:with|as|got)\s+)(['\"(]?)$", re.IGNORECASE)
_NEW_REPLY = lazy(r"(?:^|[:;]\s*)[45]\d\d[ -]")
_PAIRED = lazy(r"[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\s")
_STATUS_LEAD_IN = lazy(r"[:;]\s*(['\"]?)$")
_CONTINUATION = lazy(r"^[ \t]*(?:[245]\d\d[ -]|[245]\.\d{1,3}\.\d{1,3}[ \t])")

# Event records (JSON, Python reprs, key = value logs): field names, lower case, without _ and -.
_FIELD = lazy(r"(['\"]?)([A-Za-z][\w-]{1,30})\1\s*[:=]\s*(?:(['\"])([^'\"\n]{0,2000})\3|(\d{3})\b)")
_ADDRESS_KEYS = frozenset(("email", "emailaddress", "recipient", "rcpt", "to", "address"))
_CODE_KEYS = frozenset(("code", "smtpcode", "responsecode", "replycode", "statuscode"))
_STATUS_KEYS = frozenset(("status", "smtpenchcode", "enhancedcode", "enhancedstatus", "dsn"))
_TEXT_KEYS = (
    "smtpmsg",
    "diagnosticcode",
    "response",
    "smtpresponse",
    "reason",
    "details",
    "description",
    "message",
    "error",
)
_SENDER_KEYS = frozenset(("from", "sender", "source", "mailfrom"))


def find_replies(text: str) -> list[Candidate]:
    """Every refusal quoted in ``text`` by an application or a service, in order of position."""
    scan = text[:_MAX_SCAN]
    found: list[Candidate] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, candidate: Candidate) -> None:
        if len(found) < _MAX_REPLIES and not any(a <= start < b for a, b in taken):
            found.append(candidate)
            taken.append((start, end))

    for match in _SWIFT.finditer(scan):
        code, message = match.groups()
        if code[0] in "45":
            add(match.start(), match.end(), _reply(_with_code(code, message or ""), match.start()))
    for match in _PY_DICT.finditer(scan):
        _, key, code, single, double = match.groups()
        reply = single if single is not None else double or ""
        add(match.start(), match.end(), _reply(_with_code(code, reply), match.start(), key))
    for match in _PY_TUPLE.finditer(scan):
        if re.search(r"[\w'\",]\s?$", scan[max(0, match.start() - 2) : match.start()]):
            continue  # a call or a tuple with something before the code
        code, single, double, sender = match.groups()
        reply = single if single is not None else double or ""
        candidate = _reply(_with_code(code, reply), match.start())
        candidate.sender = normalise_address(sender)
        add(match.start(), match.end(), candidate)
    for match in _PY_SET.finditer(scan):
        for key in re.findall(r"['\"]([^'\"\n]{1,320})['\"]", match.group(1)):
            candidate = _reply(match.group(0).split("{")[0], match.start(), key)
            candidate.outcome = "bounced"  # smtplib raises it when the server refused them all
            add(match.start(), match.end(), candidate)
    for match in _PHPMAILER.finditer(scan):
        stage, reply, stage2, detail, code = match.groups()
        body = reply if reply is not None else _with_code(code, detail or "")
        candidate = _reply(body, match.start())
        candidate.command = candidate.command or find_command(f">>> {stage or stage2}")
        add(match.start(), match.end(), candidate)
    for match in _PEAR.finditer(scan):
        add(match.start(), match.end(), _reply(_with_code(*match.groups()), match.start()))
    for match in _DOTNET.finditer(scan):
        candidate = _reply(match.group(1).rstrip("\"' "), match.start())
        candidate.outcome = "bounced"  # .NET's SmtpException: the server refused, code or not
        add(match.start(), match.end(), candidate)
    for match in _BRACKET_CODE.finditer(scan):
        if not _BRACKET_LEAD_IN.search(scan[max(0, match.start() - 40) : match.start()]):
            continue  # "Error SMTP: [550] ...", "received error code. [550]"
        add(match.start(), match.end(), _reply(_with_code(*match.groups()), match.start()))
    for start, end, candidate in _records(scan):
        add(start, end, candidate)
    for match in _QUOTED_FIELD.finditer(scan):
        body = match.group(2) if match.group(2) is not None else match.group(3)
        add(match.start(), match.end(), _reply(body, match.start()))
    for match in _CODE.finditer(scan):
        if len(found) >= _MAX_REPLIES:
            break
        code = match.group(0)
        start = match.start()
        if any(a <= start < b for a, b in taken):
            continue
        # The line up to the code (at most its last 200 characters: all a lead-in needs).
        before = scan[max(scan.rfind("\n", 0, start) + 1, start - 200) : start]
        paired = bool(_PAIRED.match(scan, start))
        quote = _quote_before(before, status_only="." in code, paired=paired)
        if quote is None:
            continue
        line_end = scan.find("\n", start)
        rest = scan[match.end() : line_end if line_end >= 0 else len(scan)][:2000]
        body, end = _continued(
            scan, match.end() + len(rest), code + _until_quote(rest, quote, before)
        )
        if body.strip() != code:
            add(start, end, _reply(body, start))
    found.sort(key=lambda c: c.at)
    return found


def _quote_before(before: str, *, status_only: bool, paired: bool = False) -> str | None:
    """The quote opening a reply whose code follows ``before`` (its line up to the code); ``""``
    when there is none; None when the words before do not introduce a reply. A reply code
    followed by an enhanced code ("550-5.7.1") is a reply wherever it stands."""
    bare = before.strip(" \t")
    if bare in ("", "'", '"', "("):
        return "" if status_only and bare == "(" else bare
    lead = (_STATUS_LEAD_IN if status_only else _LEAD_IN).search(before[-40:])
    if lead is None and paired:
        return ""
    return lead.group(1) if lead else None


def _with_code(code: str | None, text: str) -> str:
    """``text`` led by its reply code, unless it already starts with one."""
    text = " ".join(text.split())
    if not code or re.match(r"[2-5]\d\d(?:[ -]|$)", text):
        return text
    return f"{code} {text}".strip()


def _until_quote(rest: str, quote: str, before: str = "") -> str:
    """The reply up to the quote that closes the one before it (a reply quoted in prose:
    ``it says "550 ..." but``), or up to the ``>`` of Exchange's ``#< #5.7.1 smtp;550 ...> #SMTP#``."""
    closing = {"(": ")", "'": "'", '"': '"'}.get(quote)
    if closing is None and before.count('"') % 2:
        closing = '"'
    if closing is None and "#<" in before:
        closing = ">"
    if closing and closing in rest:
        return rest[: rest.index(closing)]
    return rest


def _continued(scan: str, end: int, body: str) -> tuple[str, int]:
    """The reply with the lines that continue it, and where it ends.

    A multi-line reply repeats its code on each line ("550-5.7.1 ..." up to "550 5.7.1 ...");
    a wrapped one goes on in lines indented like it (or, under an unindented first line, in
    indented lines); a code alone at the end of a line ("said: 550") has its text on the next.
    """
    line_start = scan.rfind("\n", 0, end) + 1
    first = scan[line_start:end]
    indent = len(first) - len(first.lstrip())
    multi = body[3:4] == "-"
    closed = body.rstrip()[-1:] in ("]", "}", ")", "'", '"', ",", ";")
    for line in scan[end : end + 6000].split("\n")[1:30]:
        stripped = line.strip()
        if not stripped:
            break
        own = len(line) - len(line.lstrip())
        if multi:
            joins = bool(_CONTINUATION.match(line))
        elif _NEW_REPLY.search(line):
            joins = False  # another reply (the next recipient's), not this one wrapped
        elif re.fullmatch(r"[245]\d\d", body.strip()):
            joins = own > 0 or bool(STATUS_RE.match(stripped))
        else:
            joins = not _CONTINUATION.match(line) and (
                (own > 0 and own == indent) or (indent == 0 and own > 0 and not closed)
            )
        if not joins:
            break
        body += " " + stripped
        end += len(line) + 1
        if multi and re.match(r"^[ \t]*[245]\d\d ", line):
            break
    return body, end


def _reply(body: str, at: int, address: str | None = None) -> Candidate:
    body = body.strip().strip("'\"").strip()
    named = normalise_address(address) if address else None
    hidden = None
    if address and named is None and "@" in address:
        if is_masked_address(address):
            hidden = address
        elif re.fullmatch(r"[^\s@<>]{1,64}@[^\s@<>]{1,255}", address):
            named = address  # what the app was given, malformed or not: it is the cause
    # The SMTP stage is read later, from the text, for the candidates that are kept.
    found = named or (recipient_in_reply(body) if "@" in body else None)
    return Candidate(found, body, at=at, hidden=hidden)


def _records(scan: str) -> list[tuple[int, int, Candidate]]:
    """Event records: runs of ``key: value`` fields, a new record where a field repeats."""
    if not re.search(r"[\"']?(?:status|code|smtp_?code|reason|diagnosticCode)[\"']?\s*[:=]", scan):
        return []
    records: list[tuple[int, int, dict[str, str]]] = []
    current: dict[str, str] = {}
    start = end = 0
    for match in _FIELD.finditer(scan):
        key = match.group(2).lower().replace("_", "").replace("-", "")
        value = match.group(4) if match.group(4) is not None else match.group(5)
        if key in current or (current and match.start() - end > 600):
            records.append((start, end, current))
            current = {}
        if not current:
            start = match.start()
        current[key] = value
        end = match.end()
    if current:
        records.append((start, end, current))
    out: list[tuple[int, int, Candidate]] = []
    for start, end, fields in records:
        candidate = _record_candidate(fields, start)
        if candidate is not None:
            out.append((start, end, candidate))
    return out


def _record_candidate(fields: dict[str, str], at: int) -> Candidate | None:
    code = next(
        (fields[k] for k in _CODE_KEYS if re.fullmatch(r"[2-5]\d\d", fields.get(k, ""))), None
    )
    status = next((fields[k] for k in _STATUS_KEYS if STATUS_RE.fullmatch(fields.get(k, ""))), None)
    texts = [fields[k] for k in _TEXT_KEYS if fields.get(k, "").strip()]
    if not texts and not status:
        return None
    text = re.sub(r"^\s*smtp\s*;\s*", "", texts[0] if texts else "", flags=re.IGNORECASE)
    if code and code[0] not in "45" and not (status and status[0] in "45"):
        return None
    replied = re.match(r"\s*[2-5]\d\d[ -]", text)
    if not code and not status and not replied:
        return None
    if status and status not in text:
        text = f"{status} {text}"
    body = _with_code(code if not replied else None, text)
    for extra in texts[1:2]:
        if extra not in body:
            body += f" ({extra})"
    address = next((fields[k] for k in _ADDRESS_KEYS if fields.get(k)), None)
    candidate = _reply(body, at, address)
    sender = next((fields[k] for k in _SENDER_KEYS if fields.get(k)), None)
    candidate.sender = normalise_address(sender)
    return candidate


_RECIPIENT_IN_REPLY = lazy(
    r"^(?:[245]\d\d[ -])?(?:[245]\.\d{1,3}\.\d{1,3}[ -])?\s*<("
    + ADDRESS_BODY
    + r")>(?::|\.\.\.)(?!\s*Sender)"
    r"|\bUnable to relay (?:for|to)\s+<?(" + ADDRESS_BODY + r")"
    r"|\bRecipient\s+<?(" + ADDRESS_BODY + r")>?\s+(?:not found|rejected|unknown)",
    re.IGNORECASE,
)


def recipient_in_reply(reply: str) -> str | None:
    """The recipient a reply names as refused (``550 5.1.1 <a@b>: ...``), never the sender."""
    match = _RECIPIENT_IN_REPLY.search(reply[:2000])
    if not match:
        return None
    return normalise_address(next(g for g in match.groups() if g))
