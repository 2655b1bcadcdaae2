"""SMTP session transcripts: who said what, and which command the refusal answered.

People paste sessions from many tools, each marking the two sides its own way:

    >>> RCPT TO:<a@b>   <<< 550 ...        Sendmail/Postfix transcripts inside bounces
    C: RCPT TO:<a@b>    S: 550 ...         MailKit, nodemailer (after paste repair), PHP classes
    C RCPT TO:<a@b>     S 550 ...
    CLIENT -> SERVER: RCPT TO:<a@b>        PHPMailer's SMTPDebug
    SERVER -> CLIENT: 550 ...
     -> RCPT TO:<a@b>   <-  550 ...  <** 550 ...         swaks
    SENT: RCPT TO:<a@b> RECEIVED: 550 ...                hMailServer
    > host[ip]:587: RCPT TO:<a@b>   < host[ip]:587: 550  Postfix with verbose logging
    ...,>,RCPT TO:<a@b>,   ...,<,550 ...,                Exchange SMTP protocol logs (CSV)
    RCPT TO:<a@b>       550 ...            telnet, nc, openssl s_client (no marks at all)

A side mark is trusted only with what follows it: a reply starts with a three-digit code, a
command with an SMTP verb. :func:`read_transcript` finds the refusal that matters (the last 4xx/5xx
to MAIL, RCPT or DATA; a syntax error to a mistyped command counts only when nothing else was
refused), the command it answered, the recipient and sender given before it, and the server's
name from its greeting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.ndr.codes import normalise_address
from handlers.ndr.lazyre import lazy

__all__ = ["Session", "read_transcript", "transcript_command"]

_MAX_LINES = 5000
_MAX_SCAN = 200_000

_VERB = r"(?:HELO|EHLO|LHLO|MAIL FROM|RCPT TO|DATA|BDAT|QUIT|RSET|NOOP|AUTH|STARTTLS|VRFY|\.)"
# Each tool's marks for the two sides. "S2:"/"C2:" number parallel connections (nodemailer).
_CLIENT_MARK = lazy(
    r"^[^\n]{0,80}?(?:>>>|(?<![<\w-])->|\bC(?P<session>\d{0,2}):|CLIENT -> SERVER:|\bSENT:|\bsend\b[^>\n]{0,60}>)[ \t]*(?P<a>.*)$"
    r"|^[ \t]*C[ \t]+(?P<b>" + _VERB + r".*)$"
    r"|^[^\n]{0,120}?(?:^|\s)>[ \t]+[\w.-]{1,255}\[[^\]]{0,64}\](?::\d+)?:[ \t]*(?P<c>.*)$"
    r"|^[^\n]{0,200}?,>,(?P<d>.*?),[^,]*$",
    re.IGNORECASE,
)
_SERVER_MARK = lazy(
    r"^[^\n]{0,80}?(?:<<<|<-|<\*\*|<~|\bS(?P<session>\d{0,2}):|SERVER -> CLIENT:|\bRECEIVED:|\brecv\b[^>\n]{0,60}>)[ \t]*(?P<a>.*)$"
    r"|^[ \t]*S[ \t]+(?P<b>[2-5]\d\d.*)$"
    r"|^[^\n]{0,120}?(?:^|\s)<[ \t]+[\w.-]{1,255}\[[^\]]{0,64}\](?::\d+)?:[ \t]*(?P<c>.*)$"
    r"|^[^\n]{0,200}?,<,(?P<d>.*?),[^,]*$",
    re.IGNORECASE,
)
_REPLY = lazy(r"^[\"']?([2-5]\d\d)([ -]|$)(.*)$")
_COMMAND = lazy(r"^(" + _VERB + r")(?!\w)[ \t:]*(.*)$", re.IGNORECASE)
_GREETING_HOST = lazy(r"^220[ -]([A-Za-z0-9][\w.-]{0,253}\.[A-Za-z]{2,24}|[\w-]{1,63})\b")
_CONNECT_HOST = lazy(
    r"(?:Trying|Connected to|Connecting to|connect to|s_client\s+-connect|nc\s+(?:-\w+\s+){0,3}|telnet)"
    r"\s+(?:SMTP server\s+)?\"?([A-Za-z0-9][\w-]{0,62}(?:\.[\w-]{1,63}){0,8})",
    re.IGNORECASE,
)


@dataclass
class Session:
    """What a transcript says about the refusal that matters."""

    reply: str  # the server's reply, continuation lines joined
    command: str | None  # RCPT, MAIL, DATA, ... as find_command would name it
    recipient: str | None  # the last RCPT TO address before the refusal
    sender: str | None  # the MAIL FROM address
    host: str | None  # the server's name, from its greeting or the connect line


def _side(line: str) -> tuple[str, str, str] | None:
    """``("C", command, session)`` or ``("S", reply, session)`` for a transcript line, or None."""
    for side, mark, wanted in (("S", _SERVER_MARK, _REPLY), ("C", _CLIENT_MARK, _COMMAND)):
        match = mark.match(line)
        if match:
            text = next((g for g in match.group("a", "b", "c", "d") if g is not None), "").strip()
            if wanted.match(text):
                return (
                    side,
                    text.strip("\"'") if side == "S" else text,
                    match.group("session") or "",
                )
    bare = line.strip()
    if _REPLY.match(bare) and not bare.startswith(("'", '"')):
        return "S", bare, ""
    if _BARE_COMMAND.match(bare):
        return "C", bare, ""
    return None


# Without a side mark, only a line that is nothing but a command counts ("data: '550 ..." in an
# error object is not the DATA command).
_BARE_COMMAND = lazy(
    r"^(?:(?:HELO|EHLO|LHLO)\s+\S+|(?:MAIL FROM|RCPT TO)\s*:.*|(?:DATA|QUIT|RSET|STARTTLS|\.)|AUTH\s+\w+.*)$",
    re.IGNORECASE,
)
_STAGE = {
    "MAIL FROM": "MAIL",
    "RCPT TO": "RCPT",
    "DATA": "DATA",
    "BDAT": "DATA",
    ".": "DATA",
    "HELO": "HELO",
    "EHLO": "EHLO",
    "LHLO": "EHLO",
    "AUTH": "AUTH",
    "STARTTLS": "STARTTLS",
}


@dataclass
class _Event:
    side: str  # "C" or "S"
    text: str
    session: str
    answers: str | None = None  # for a reply: the command verb it answers (pipelining-aware)
    argument: str = ""  # ... and what that command named ("<a@b>" for RCPT TO)
    open: bool = False  # a multi-line reply ("550-...") still waiting for its last line


# Cheap tests first: a session has client commands, and a transcript line holds a code or a verb.
_HAS_COMMANDS = lazy(r"\b(?:rcpt to|mail from|ehlo|helo|lhlo)\b", re.IGNORECASE)
_MAYBE_LINE = lazy(
    r"[2-5]\d\d|HELO|EHLO|LHLO|MAIL|RCPT|DATA|BDAT|QUIT|RSET|AUTH|STARTTLS|^\s*\.\s*$",
    re.IGNORECASE,
)


def _events(text: str) -> list[_Event]:
    events: list[_Event] = []
    pending: dict[str, list[tuple[str, str]]] = {}
    for line in text.split("\n")[:_MAX_LINES]:
        if not _MAYBE_LINE.search(line):
            continue
        side = _side(line)
        if side is None:
            continue
        kind, said, session = side
        last = next((e for e in reversed(events) if e.session == session), None)
        if kind == "S" and last is not None and last.side == "S" and last.open:
            last.text += " " + said  # "550-5.7.1 ..." lines continue until "550 ..."
            last.open = said[3:4] == "-"
            continue
        event = _Event(kind, said, session, open=kind == "S" and said[3:4] == "-")
        queue = pending.setdefault(session, [])
        command = _COMMAND.match(said) if kind == "C" else None
        if command is not None:
            queue.append((command.group(1).upper(), command.group(2)))
        elif kind == "S" and queue:
            # Replies answer commands in order, also when the client pipelines (RFC 2920).
            event.answers, event.argument = queue.pop(0)
        events.append(event)
    return events


def read_transcript(text: str) -> Session | None:
    """The refusal in a pasted SMTP session, or None when ``text`` holds no session with one."""
    if not _HAS_COMMANDS.search(text, 0, _MAX_SCAN):
        return None
    events = _events(text[:_MAX_SCAN])
    if not any(e.side == "C" for e in events):
        return None
    refusals = [i for i, e in enumerate(events) if e.side == "S" and e.text[0] in "45"]
    if not refusals:
        return None
    serious = [
        i for i in refusals if events[i].answers in ("MAIL FROM", "RCPT TO", "DATA", "BDAT", ".")
    ]
    chosen = serious or refusals
    index = chosen[-1]
    if len(chosen) > 1 and _needs_recipients(events[index].text):
        index = chosen[-2]  # "554 no valid recipients" to DATA: the RCPT refusal before says why
    refusal = events[index]
    recipient = sender = None
    for event in events[:index]:
        command = _COMMAND.match(event.text) if event.side == "C" else None
        if command is None or event.session != refusal.session:
            continue
        word = command.group(1).upper()
        if word == "RCPT TO":
            recipient = normalise_address(command.group(2)) or recipient
        elif word == "MAIL FROM":
            sender = normalise_address(command.group(2)) or sender
    if refusal.answers == "RCPT TO":
        # The recipient this refusal answered, also when the client sent several at once.
        recipient = normalise_address(refusal.argument) or recipient
    stage = _STAGE.get(refusal.answers or "")
    if stage == "DATA" and refusal.answers == "DATA" and _needs_recipients(refusal.text):
        stage = "RCPT"
    return Session(
        reply=refusal.text,
        command=stage,
        recipient=recipient,
        sender=sender,
        host=_server_name(text, events),
    )


_NEED_RCPT = lazy(r"need rcpt|rcpt first|no valid recipients|no recipients", re.IGNORECASE)


def _needs_recipients(reply: str) -> bool:
    # With PIPELINING, RCPT TO refusals arrive after DATA was sent; the server's "need RCPT"
    # answer to DATA shows the first error answered RCPT TO.
    return bool(_NEED_RCPT.search(reply))


def _server_name(text: str, events: list[_Event]) -> str | None:
    for event in events:
        if event.side == "S" and event.text.startswith("220"):
            greeting = _GREETING_HOST.match(event.text)
            if greeting and "." in greeting.group(1):
                return greeting.group(1).lower()
            break
    connect = _CONNECT_HOST.search(text[:20_000])
    if (connect and "." in connect.group(1)) or (connect and connect.group(1) == "localhost"):
        return connect.group(1).lower()
    return None


_TRANSCRIPT_LINE = lazy(r"^[ \t]*(>>>|<<<)[ \t]*(\S[^\n]{0,200})$", re.MULTILINE)


def transcript_command(text: str) -> str | None:
    """The SMTP command an error answered, from a ``>>>``/``<<<`` transcript in a report."""
    last_sent: str | None = None
    scan = text[:200_000]
    if ">>>" not in scan and "<<<" not in scan:
        return None  # (most reports: no need to try the pattern at every line)
    for match in _TRANSCRIPT_LINE.finditer(scan):
        direction, line = match.groups()
        if direction == ">>>":
            last_sent = line
        elif line[:1] in "45" and last_sent:
            command = _COMMAND.match(last_sent)
            word = command.group(1).upper() if command else last_sent.split()[0].upper()
            stage = _STAGE.get(word, word)
            if stage == "DATA" and _NEED_RCPT.search(scan, match.end()):
                return "RCPT"
            return stage
    return None
