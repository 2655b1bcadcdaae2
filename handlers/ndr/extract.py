"""Failed recipients and the rejecting server's reply, from the human-readable text of a report.

Real reports come in dozens of shapes, but most put each failed address at the start of a line
and the reason right after it (Postfix ``<a@b>: host ... said: ...``, Exim's indented blocks,
qmail's ``<a@b>:`` paragraphs, Sendmail's ``(reason: ...)``, Exchange's diagnostic section), or
quote the remote server's reply after a fixed phrase ("Remote Server returned", "The error that
the other server returned was:", "Remote host said:"). This module reads both, line by line, with
anchored patterns only, so its cost is linear in the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate

from handlers.ndr.codes import (
    ADDRESS_BODY,
    ADDRESS_RE,
    MASKED_BODY,
    STATUS_RE,
    find_ips,
    is_masked_address,
    normalise_address,
)
from handlers.ndr.lazyre import lazy

__all__ = [
    "FAILURE_WORDS",
    "Candidate",
    "extract_candidates",
    "extract_prose_candidates",
    "find_command",
    "find_remote",
    "reason_paragraph",
    "reply_text",
]

_MAX_PARAGRAPH_LINES = 40
_MAX_SCAN_CHARS = 200_000


@dataclass
class Candidate:
    """One failed recipient as the text describes it (address may be unknown in a partial paste)."""

    address: str | None
    text: str  # the paragraph about it, unwrapped
    host: str | None = None
    ip: str | None = None
    command: str | None = None
    at: int = 0  # where in the text it was found
    sender: str | None = None  # the sender this shape names (MAIL FROM, a log's from=<...>)
    client_ip: str | None = None  # the sending client's IP, where the rejecting side logged it
    outcome: str | None = None  # a log's verdict: "bounced", "deferred" or "sent"
    hidden: str | None = None  # what the paste showed instead of the address ("***@***")


# A line that starts with an address: "<a@b>: ...", "  a@b", "a@b on <date>", "a@b [User unknown]".
_ANCHOR = lazy(
    r"^[ \t]{0,12}(?:\*[ \t]{1,4})?(?:[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}[ -])?)?"
    r"(?:[\w .'\"-]{0,60}<mailto:)?(?:\{\s*u?')?[<\"]?("
    + ADDRESS_BODY
    + r")[>\"]?(?:<mailto:[^>\s]{1,320}>)?(.*)$"
)
# A line that is only a display name and an address: "Pat Doe (pat@contoso.com)", as Outlook lists
# the recipients of a report once its links are gone.
_NAMED = lazy(r"^[ \t]{0,12}[\w .'\"-]{1,60}\((" + ADDRESS_BODY + r")\)[ \t]*:?[ \t]*$")
# Lines that start with an address but are not about a failed recipient.
_NOT_ANCHOR_TAIL = lazy(r"^\s*(?:wrote:|schrieb:|a écrit)", re.IGNORECASE)
_HEADERISH = lazy(r"^[ \t]*[A-Za-z][A-Za-z -]{0,30}:[ \t]")
_TAIL_NOISE = lazy(r"^\s*(?:\(expanded from[^)]{0,400}\)\s*)?:?\s*")


_RECIPIENT_LABEL = lazy(
    r"^\s*(?:Recipient address|Recipient|Failed recipient|Address)\s*:\s*", re.IGNORECASE
)
_SEPARATOR = lazy(r"^\s*(?:[-=*_#~]{3,}.*|.*[-=*_#~]{5,}\s*)$")
# Three separator characters in a row, which every separator line has: most lines have none,
# and this search (which re starts at each such character) says so faster than the one above.
_SEPARATOR_RUN = re.compile(r"[-=*_#~]{3}")


def _anchor(line: str) -> tuple[str | None, str, str | None] | None:
    """``(address, rest of line, masked)`` for a line that starts with a recipient's address.

    A masked address (``<***@***.***>: host ... said: ...``) still starts a paragraph: its
    address is None and ``masked`` holds what the paste showed.
    """
    if len(line) > 1000 or "@" not in line:
        return None
    label = _RECIPIENT_LABEL.match(line)
    if label:
        line = line[label.end() :]
    elif _HEADERISH.match(line):
        return None
    anchored = _ANCHOR.match(line)
    match = anchored or _NAMED.match(line)
    if not match:
        masked = _MASKED_ANCHOR.match(line)
        rest = (masked.group(2) or "") if masked else ""
        if masked and is_masked_address(masked.group(1)) and not _NOT_ANCHOR_TAIL.match(rest):
            return None, _TAIL_NOISE.sub("", rest, count=1), masked.group(1)
        return None
    tail = match.group(2) if anchored else ""
    if _NOT_ANCHOR_TAIL.match(tail):
        return None
    address = normalise_address(match.group(1))
    hidden = None
    if not address:
        if not is_masked_address(match.group(1)):
            return None
        hidden = match.group(1)
    bracketed = _BRACKETED.match(tail)
    if bracketed:
        # "a@b <c@d>: ...": the first is only a display name; the bracketed one is the address.
        address = normalise_address(bracketed.group(1)) or address
        tail = tail[bracketed.end() :]
    return address, _TAIL_NOISE.sub("", tail, count=1), hidden


_MASKED_ANCHOR = lazy(r"^[ \t]{0,12}[<\"]?(" + MASKED_BODY + r"?)[>\"]?((?:[:\s)(]).*)?$")
_BRACKETED = lazy(r"\s{1,4}<([^<>\s]{3,320})>")


# "host X[ip] said: 550 5.2.1" wrapped before the server's own "<a@b>... User unknown": the next
# line names the address again but goes on with the same reply.
_CUT_AFTER_CODE = lazy(r"\b[245]\d\d(?:[ -][245]\.\d{1,3}\.\d{1,3})?\s*$")
_BOILERPLATE_ADDRESS = lazy(r"^(?:mailer-daemon|noreply|no-reply)@", re.IGNORECASE)
_ON_DATE = lazy(r"^on\s+\S.{0,80}$", re.IGNORECASE)


def extract_candidates(text: str, *, sender: str | None = None) -> list[Candidate]:
    """Every address-anchored paragraph in ``text``, best reading per address, in order."""
    lines = text[:_MAX_SCAN_CHARS].split("\n")
    found: list[Candidate] = []
    lengths = list(accumulate(map(len, lines), initial=0))  # line i starts at lengths[i] + i
    index = 0
    while index < len(lines):
        anchor = _anchor(lines[index])
        if anchor is None:
            index += 1
            continue
        start = lengths[index] + index
        address, tail, hidden = anchor
        body: list[str] = [] if _ON_DATE.match(tail) else [tail]
        index += 1
        gap = 0
        while index < len(lines) and len(body) < _MAX_PARAGRAPH_LINES:
            line = lines[index]
            if not line.strip():
                # One blank line may separate an address from its reason (qmail, Gmail);
                # a blank after the reason, or a second blank, ends the paragraph.
                if gap or any(part.strip() for part in body):
                    break
                gap += 1
                index += 1
                continue
            if (
                _anchor(line) is not None
                and not line.startswith((" " * 4, "\t"))
                and not (body and _CUT_AFTER_CODE.search(body[-1]))
            ):
                break
            if _SEPARATOR_RUN.search(line) and _SEPARATOR.match(line):
                break  # "----- Transcript of session follows -----" and the like
            body.append(line)
            index += 1
        paragraph = " ".join(part.strip() for part in body if part.strip())
        if (address and _BOILERPLATE_ADDRESS.match(address)) or (
            sender and address == sender and not paragraph
        ):
            continue
        candidate = _candidate(address, paragraph)
        candidate.hidden = hidden
        candidate.at = start
        found.append(candidate)
    return _best_per_address(found)


def _candidate(address: str | None, paragraph: str) -> Candidate:
    host, ip = find_remote(paragraph)
    return Candidate(address, paragraph, host, ip, find_command(paragraph))


def _has_code(text: str) -> bool:
    return bool(STATUS_RE.search(text) or _REPLY_START.search(text))


def _best_per_address(found: list[Candidate]) -> list[Candidate]:
    best: dict[str, Candidate] = {}
    order: list[str] = []
    for candidate in found:
        key = candidate.address or candidate.hidden or ""
        if key not in best:
            best[key] = candidate
            order.append(key)
        elif (_has_code(candidate.text) and not _has_code(best[key].text)) or (
            not best[key].text and candidate.text
        ):
            # A paragraph split by a repeated address line ("<mailto:a@b>:"): the server named
            # before the split still refused this recipient.
            if not candidate.host and not candidate.ip:
                candidate.host, candidate.ip = best[key].host, best[key].ip
            best[key] = candidate
    return [best[key] for key in order]


# ---------------------------------------------------------------------------------------------
# The rejecting server's reply inside a paragraph or a whole report.

# A reply code at the start or after a blank, ":", a quote, "(" or ";" (the class first, what
# precedes it a lookbehind: re then skips from 2, 4 or 5 to the next, see codes.STATUS_RE).
_REPLY_START = lazy(r"([245](?<![^\s:'\"(;][245])\d\d)[ -](?:[245]\.\d{1,3}\.\d{1,3}|[A-Za-z<#\[])")
# Phrases after which the remote server's own words follow, most specific first.
_REPLY_MARKERS = lazy(
    r"(?:Remote Server (?:at [^\s]{1,255}(?: \([^)]{0,60}\))? )?returned '"
    r"|The error that the other server returned was:"
    r"|The response (?:from the remote server )?was:"
    r"|Remote host said:"
    r"|received this response from the destination host(?: IP)?\s*-\s*[^\s-]{1,45}\s*-"
    r"|\bsaid:"
    r"|\bsaid\s(?=[245]\d\d\b)"
    r"|SMTP error from remote (?:mail server|mailer|server) after (?:(?:MAIL FROM|RCPT TO):\s?<[^>]{0,320}>[^:\n]{0,100}|[^:]{1,60}):(?:\s*host:? [^\s]{1,255}(?: \[[^\]]{1,64}\]:)?)?"
    r"|\bhost [^\s]{1,255} ?\[[0-9A-Fa-f:.]{3,45}\]:"
    r"|\(reason:"
    r"|Reason:"
    r"|Diagnostic[ -]code:\s*(?:smtp;)?"
    r"|<<<"
    r"|Error:)",
    re.IGNORECASE,
)


def reply_text(paragraph: str) -> str:
    """The remote server's words in ``paragraph``: the text after the first reply marker, if any."""
    found = None
    for match in _REPLY_MARKERS.finditer(paragraph[:8000]):
        rest = paragraph[match.end() :].strip()
        if rest:
            found = (match, rest)
            break
    if found is None:
        return paragraph.strip()
    match, rest = found
    if match.group(0).endswith("'"):
        rest = rest.split("'", 1)[0] if rest.count("'") == 1 else rest.rsplit("'", 1)[0]
    if match.group(0).lower() == "(reason:":
        rest = rest.rsplit(")", 1)[0]
    return rest.strip()


_HOST_SAID = lazy(
    r"\bhost\s+([A-Za-z0-9][\w.-]{0,253})\s?\[([0-9A-Fa-f:.]{3,45})\]"
    r"|\bremote host ([0-9A-Fa-f:.]{3,45}) said"
    r"|\bby ([A-Za-z0-9][\w.-]{0,253}?)\.? \[([0-9A-Fa-f:.]{3,45})\]"
    r"|while talking to ([A-Za-z0-9][\w.-]{0,253}?)\.?:"
    r"|Remote Server at ([A-Za-z0-9][\w.-]{0,253})(?: \(([0-9A-Fa-f:.]{3,45})\))?"
    r"|(?:^|\s)([A-Za-z0-9][\w-]{0,62}(?:\.[\w-]{1,63}){1,8}\.[A-Za-z]{2,24})\s+Remote Server returned",
    re.IGNORECASE,
)


def find_remote(text: str) -> tuple[str | None, str | None]:
    """The remote (rejecting) server's host and IP as the text names them."""
    match = _HOST_SAID.search(text[:8000])
    if not match:
        return None, None
    groups = match.groups()
    host = groups[0] or groups[3] or groups[5] or groups[6] or groups[8]
    ip_text = groups[1] or groups[2] or groups[4] or groups[7]
    ips = find_ips(ip_text) if ip_text else []
    if host and not ips and find_ips(host):
        ips = find_ips(host)
        host = None
    return (host.rstrip(".").lower() if host else None), (ips[0] if ips else None)


# Lower case, run on lower-cased text: several times faster than re.IGNORECASE here. Each stage
# is a whole word ("after database", "after authentication" are prose): "(?:[^a-z]|\Z)" rather
# than a lookahead, which RE2 does not have (only the groups are read, not where a match ends);
# "\Z", not "$", which also matches before a final newline (where "[^a-z]" already does) and
# would send every text ending in one to re.
_COMMAND = lazy(
    r"(?:in reply to (?:the )?(rcpt to|mail from|data|end of data|helo|ehlo|starttls|auth|quit|rset)"
    r"|after (rcpt to|mail from|end of data|data|helo|ehlo|starttls|initial connection|auth)"
    r"|>>> (rcpt to|mail from|data|helo|ehlo|starttls)"
    r"|after (rcpt|mail|data) command"
    r"|smtp:(rcpt|mail|data)\b"
    r"|did not like our (rcpt to|mail from|final data|data)"
    r"|(?:failed|error) after i sent the (message)"
    r"|most progress was (rcpt to|mail from|data)"
    r"|does not like (recipient))"  # qmail-remote: the recipient was refused at RCPT TO
    r"(?:[^a-z]|\Z)"
    r"|\[(rcpt_to|mail_from|data)\]",  # (a tag, not a word: anything may follow)
)
_COMMAND_NAMES = {
    "rcpt": "RCPT",
    "recipient": "RCPT",
    "mail": "MAIL",
    "final data": "DATA",
    "message": "DATA",
    "rcpt to": "RCPT",
    "rcpt_to": "RCPT",
    "mail from": "MAIL",
    "mail_from": "MAIL",
    "data": "DATA",
    "end of data": "DATA",
    "helo": "HELO",
    "ehlo": "EHLO",
    "starttls": "STARTTLS",
    "auth": "AUTH",
    "initial connection": "CONN",
    "quit": "QUIT",
    "rset": "RSET",
}


def find_command(text: str) -> str | None:
    """The SMTP stage at which the remote server refused (RCPT, MAIL, DATA, ...)."""
    match = _COMMAND.search(text[:8000].lower())
    if not match:
        return None
    word = next(group for group in match.groups() if group)
    return _COMMAND_NAMES.get(word.lower(), word.upper())


# ---------------------------------------------------------------------------------------------
# Addresses named in prose ("Unable to deliver message to <a@b>", "Unknown user: a@b").

_ADDR = ADDRESS_RE.pattern
_PROSE = lazy(
    r"(?:deliver(?:ed|ing|y)?|sent|send(?:ing)?|reach|forward(?:ed)?|message)\b[^\n<@]{0,50}?\bto\b:?\s*\"?<?("
    + _ADDR
    + ")"
    r"|(?:unknown user|user unknown|no such user|mailbox[^\n<@:]{0,30}|recipient(?: address)?|address(?:es)?|"
    r"invalid|undeliverable)\b[^\n<@:]{0,30}:?\s*<?(" + _ADDR + ")"
    r"|(?:failed|failure)\b[^\n<@:]{0,40}:\s*<?(" + _ADDR + ")"
    # The same sentence in other languages ("Ihre Nachricht an a@b konnte nicht ...").
    r"|(?:nachricht an|message .|mensaje (?:a|para)|mensagem (?:para|a)|bericht aan|messaggio (?:a|per))"
    r"\s*:?\s*\**<?(" + _ADDR + ")"
    r"|(?:发送给|发给|寄给|送信先|宛先)\s*[:：]?\s*<?(" + _ADDR + ")"
    r"|(?:mailing list|group|generated by|generated from)\s+<?(" + _ADDR + ")",
    re.IGNORECASE,
)


def extract_prose_candidates(text: str) -> list[Candidate]:
    """Addresses that report prose names as undeliverable, with the line they stand in."""
    found: list[Candidate] = []
    seen: set[str] = set()
    for match in _PROSE.finditer(text[:_MAX_SCAN_CHARS]):
        shown = next((g for g in match.groups() if g), None) or ""
        address = normalise_address(shown)
        hidden = shown.strip("<>\"'.") if address is None and is_masked_address(shown) else None
        key = address or hidden
        if not key or key in seen or (address and _BOILERPLATE_ADDRESS.match(address)):
            continue
        seen.add(key)
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        line = text[start : end if end >= 0 else len(text)].strip()
        candidate = _candidate(address, line)
        candidate.hidden = hidden
        found.append(candidate)
    return found


# Fixed sentences of report templates, never the reason for a particular failure; one line each:
# a blank is "[^\S\n]" (any but a line break), so no match runs across lines.
_BOILERPLATE = lazy(
    r"created automatically by mail delivery|a message that you sent could not be delivered"
    r"|this is a permanent error|the following address\(es\) failed|this is the mail system at"
    r"|i'm sorry to have to inform you|be delivered to one or more recipients|please send mail to"
    r"|include this problem report|delete your own text|^[^\S\n]*the mail system[^\S\n]*$"
    r"|qmail-send program"
    r"|wasn't able to deliver your message to the following|i've given up|sorry it didn't work out"
    r"|automatically generated delivery status notification|warning message only"
    r"|do not need to resend|the original message was received at"
    r"|^[^\S\n]*-{3,}.*-{3,}[^\S\n]*$"
    r"|delivery has failed to these recipients|did not reach (?:some or all of )?the (?:intended|following)"
    r"|unable to deliver (?:your )?message to the following|has been a permanent failure"
    r"|no further delivery attempts|this is an automatically generated|do not reply to this"
    r"|^[^\S\n]*(?:from|to|subject|date|sent|cc):[^\S\n]",
    re.IGNORECASE | re.MULTILINE,
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_REPLY_CODE_WORD = re.compile(r"[45](?<!\S[45])\d\d[ -]")  # "(?:^|\s)[45]\d\d[ -]", class first


def _template_lines(text: str) -> set[int]:
    """Where the template lines start. An ASCII report is searched once, by RE2; one in another
    script only ``re`` can search, which tries every position of the whole list at each
    character: there, line by line (no match runs across lines, so both find the same)."""
    if text.isascii():
        return {text.rfind("\n", 0, m.start()) + 1 for m in _BOILERPLATE.finditer(text)}
    found, at = set(), 0
    for line in text.split("\n"):
        if _BOILERPLATE.search(line):
            found.add(at)
        at += len(line) + 1
    return found


def reason_paragraph(text: str, *, plain_ok: bool = False) -> str | None:
    """The report's most error-like paragraph once template sentences are set aside.

    With ``plain_ok``, the first such paragraph is returned even when nothing in it reads like an
    error (for reports known to be failures, written in words we do not recognise).
    """
    text = text[:50_000]
    template = _template_lines(text)
    best: tuple[int, int, str] | None = None
    first: str | None = None
    spans, start = [], 0
    for found in _PARAGRAPH_BREAK.finditer(text):
        spans.append((start, found.start()))
        start = found.end()
    spans.append((start, len(text)))
    for position, (start, end) in enumerate(spans):
        lines = []
        at = start
        for line in text[start:end].split("\n"):
            if line.strip() and at not in template:
                lines.append(line)
            at += len(line) + 1
        if not lines:
            continue
        joined = " ".join(line.strip() for line in lines)[:2000]
        first = first or joined
        score = 0
        if STATUS_RE.search(joined):
            score += 3
        if _REPLY_CODE_WORD.search(joined):
            score += 2
        if FAILURE_WORDS.search(joined):
            score += 2
        if score and (best is None or score > best[0]):
            best = (score, -position, joined)
    if best:
        return best[2]
    return first if plain_ok else None


# Words that make a sentence read like a delivery failure (English; admin text is English).
FAILURE_WORDS = lazy(
    r"unknown|not found|no such|does(?: not|n't) exist|(?:does(?: not|n't)|not) have an? (?:\S+ )?account"
    r"|reject|denied|refused|fail|full|quota|block|invalid|disabled|expired|timed? ?out|unreachable"
    r"|too (?:large|big|many)|exceed|suspend|inactive|unavailable|not allowed|not permitted|policy"
    r"|spam|relay|unrout|cannot|couldn't|can't|unable|not authori[sz]ed|not authenticated|restricted"
    r"|banned|listed|deferred|delayed|retr(?:y|ied)|over ?limit|error|bounced|problem|not accepted"
    r"|prohibited|illegal|blacklist|not a member|could not find|no mx|not reachable|no valid"
    r"|aborted|not in use|discontinued|malformed|no longer",
    re.IGNORECASE,
)
