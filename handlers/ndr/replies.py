"""The rejecting server's reply where no recipient paragraph carries it: quoted after a fixed
phrase ("Remote Server returned '...'"), a bare SMTP error line in a partial paste, or
Microsoft 365's current NDR layout."""

from __future__ import annotations

import re

from handlers.ndr.codes import STATUS_RE, normalise_address
from handlers.ndr.extract import FAILURE_WORDS, Candidate, find_command
from handlers.ndr.lazyre import lazy

__all__ = ["bare_error", "exo_enhanced", "global_reply"]


_GLOBAL_MARKERS = lazy(
    r"Remote Server (?:at [^\s]{1,255}(?: \([^)]{0,60}\))? )?returned '"
    r"|The error that the other server returned was:"
    r"|The response (?:from the remote server )?was:"
    r"|Remote host said:"
    r"|^Error:\s"
    r"|^Status code:\s"
    r"|\bsaid:\s",
    re.IGNORECASE | re.MULTILINE,
)


def global_reply(report: str) -> str | None:
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
    return bare_error(report)


_ERROR_LINE = lazy(
    r"^[^\n]{0,200}?(?:[245]\d\d[ -])?[245]\.\d{1,3}\.\d{1,3}\b[^\n]{0,1500}$"
    r"|^[ \t>]*(?:<<<\s*)?[245]\d\d[ -][^\n]{3,1500}$",
    re.MULTILINE,
)


_REPLY_START = re.compile(r"[245]\d\d[ -]")
_FAILURE_REPLY_START = re.compile(r"[45]\d\d[ -]")


def bare_error(report: str) -> str | None:
    """The first line that reads like an SMTP error, for partial pastes ("550 5.7.1 Unable to relay")."""
    for match in _ERROR_LINE.finditer(report[:200_000]):
        line = match.group(0).strip().lstrip("<> ").strip()
        if STATUS_RE.search(line) and (FAILURE_WORDS.search(line) or _REPLY_START.match(line)):
            return line
        if _FAILURE_REPLY_START.match(line) and FAILURE_WORDS.search(line):
            return line
    return None


_EXO_HEADLINE = lazy(
    r"Your message to\s+<?([^\s<>]{3,320}@[^\s<>]{3,255}?)>?\s+couldn't be delivered", re.IGNORECASE
)
_EXO_REJECTED_BY = lazy(
    r"^[ \t]*Message rejected by:[ \t]*([A-Za-z0-9][\w.-]{0,253})", re.IGNORECASE | re.MULTILINE
)


def exo_enhanced(report: str) -> Candidate | None:
    """Microsoft 365's current NDR layout ("Your message to X couldn't be delivered.")."""
    headline = _EXO_HEADLINE.search(report[:100_000])
    if not headline:
        return None
    address = normalise_address(headline.group(1))
    reply = global_reply(report) or ""
    rejected_by = _EXO_REJECTED_BY.search(report)
    host = rejected_by.group(1).lower() if rejected_by else None
    return Candidate(address, reply, host, None, find_command(reply))
