"""Mail server log lines: what a sending or receiving MTA logged about a failed delivery.

Shapes read here (syslog prefixes, docker-compose prefixes and wrapped lines are all fine):

- Postfix delivery: ``to=<a@b>, relay=host[ip]:25, ..., dsn=5.7.26, status=bounced (host X[ip]
  said: 550-5.7.26 ... (in reply to RCPT TO command))``; ``status=deferred`` is a delay and
  ``status=sent`` a delivery. The same for ``postfix/lmtp`` (Dovecot LMTP) and Zimbra.
- Postfix refusing a client: ``NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 <a@b>: Relay access
  denied; from=<s> to=<a@b> proto=ESMTP``. Here the log is the *rejecting* server's own, so the
  client's IP is the sending IP.
- Postfix without a recipient: ``host X[ip] said: ...`` / ``host X[ip] refused to talk to me: ...``.
- Exim: ``** a@b R=router T=transport H=host [ip]: SMTP error from remote mail server after RCPT
  TO:<a@b>: 550 ...``; ``== a@b ... defer (-44): ...`` is a delay; a line with ``SMTP error from
  remote mail server after MAIL FROM:<s>`` names the sender.
- Sendmail: ``to=<a@b>, ..., relay=host. [ip], dsn=5.1.1, stat=User unknown``.
- Haraka: ``recipient <a@b> rejected: 550 ...``; qmail: ``delivery 12: failure: text_with_underscores``.

Each shape gives a :class:`~handlers.ndr.extract.Candidate` (``outcome`` says bounced, deferred or
sent). Patterns find a record's start; the record is then read up to the next record's start, and
at most :data:`_MAX_RECORDS` records of each shape are read.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from handlers.ndr.codes import find_ips, normalise_address
from handlers.ndr.extract import Candidate, find_command, find_remote
from handlers.ndr.lazyre import lazy

__all__ = ["read_log_lines"]

_MAX_SCAN = 400_000
_RECORD_CHARS = 4000
_MAX_RECORDS = 200  # a paste of thousands of log lines is read up to this many records per shape

# Where a new syslog-style record starts (so a wrapped record is joined up to there only).
_RECORD_START = lazy(
    r"\n(?=[ \t]*(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d|[\w.-]+ postfix/|\S+ \| )"
    r"|[A-Z][A-Za-z-]{1,40}:\s|[ \t]*\n)"
)

_POSTFIX_TO = lazy(
    r"\bto=<([^<>\s]{0,320})>,(?:\s{1,40}orig_to=<([^<>\s]{0,320})>,)?\s{1,40}relay=([^\s,\[\]]{1,255})"
    r"(?:\[([^\]\s]{0,64})\])?(?::\d{1,5})?,"
)
_POSTFIX_STATUS = lazy(r"\bdsn=(\d\.\d{1,3}\.\d{1,3}), status=(\w{2,20})\b(?: \((.*))?", re.DOTALL)
_NOQUEUE = lazy(
    r"\b(?:NOQUEUE|[0-9A-F]{6,20}|[0-9A-Za-z]{10,20}): (?:milter-)?reject: "
    r"(RCPT|MAIL|DATA|END-OF-MESSAGE|CONNECT|HELO|EHLO|BDAT) from ([^\s\[\]]{1,255})\[([^\]\s]{0,64})\]"
    r"(?::\d{1,5})?: (.{3,2000}?)(?:; (from=<[^>\n]{0,320}>.*)|$)",
    re.MULTILINE,
)
_ENVELOPE = lazy(r"\b(from|to)=<([^<>\s]{0,320})>")
_POSTFIX_HOST = lazy(
    r"\bhost ([A-Za-z0-9][\w.-]{0,253})\[([^\]\s]{0,64})\] (?:said|refused to talk to me):"
)
_EXIM = lazy(
    r"(?:^|\s)(\*\*|==)[ \t]+(\S{1,320}?)(?:[ \t]+<[^>\s]{1,320}>)?[ \t]+(?:R=\S+[ \t]+)?(?:T=\S+[ \t]*)?([^\n]{0,3000})",
)
_EXIM_AFTER = lazy(
    r"SMTP error from remote (?:mail server|mailer) after (RCPT TO|MAIL FROM):\s?<([^<>\s]{0,320})>"
)
_EXIM_HOST = lazy(r"\bH=([A-Za-z0-9][\w.-]{0,253})(?: \[([0-9A-Fa-f:.]{3,45})\])?")
_EXIM_DEFER = lazy(r"\bdefer \(-?\d{1,5}\):[ \t]*")
# Sendmail: found by its "dsn=..., stat=..." end, then the line before it read for to= and relay=.
_SENDMAIL_STAT = lazy(r"\bdsn=(\d\.\d{1,3}\.\d{1,3}), stat=([^\n]{1,2000})")
_SENDMAIL_TO = lazy(r"\bto=<?([^<>\s,]{1,320})>?,")
_SENDMAIL_RELAY = lazy(r"\brelay=([^\s,\[]{1,255})\.?\s?(?:\[([0-9A-Fa-f:.]{3,45})\])?")
_HARAKA = lazy(r"\brecipient <([^<>\s]{1,320})> (rejected|deferred): (.{1,2000})$", re.MULTILINE)
_QMAIL = lazy(r"\bdelivery \d{1,12}: (failure|deferral|success): (\S.{0,2000})$", re.MULTILINE)


def read_log_lines(text: str) -> list[Candidate]:
    """Every failed (or, with ``outcome="sent"``, delivered) recipient a pasted log shows."""
    scan = text[:_MAX_SCAN]
    found: list[Candidate] = []
    if "to=<" in scan or "relay=" in scan:
        found += _postfix_deliveries(scan)
        found += _sendmail(scan)
    if "reject:" in scan:
        found += _postfix_rejects(scan)
    if " said" in scan or "refused to talk" in scan:
        found += _postfix_hosts(scan, found)
    if "R=" in scan or "T=" in scan or "SMTP error from remote" in scan:
        found += _exim(scan, found)
    if "recipient <" in scan:
        found += [
            Candidate(
                normalise_address(m.group(1)),
                m.group(3).strip(),
                at=m.start(),
                outcome="bounced" if m.group(2) == "rejected" else "deferred",
                command=find_command(m.group(3)),
            )
            for m in _first(_HARAKA.finditer(scan))
        ]
    if "delivery " in scan:
        for match in _first(_QMAIL.finditer(scan)):
            outcome = {"failure": "bounced", "deferral": "deferred"}.get(match.group(1), "sent")
            words = match.group(2).replace("_", " ").rstrip("/ ")
            found.append(Candidate(None, words, at=match.start(), outcome=outcome))
    found.sort(key=lambda c: c.at)
    return found


def _first(matches: Iterator[re.Match[str]]) -> Iterator[re.Match[str]]:
    """At most :data:`_MAX_RECORDS` of ``matches``."""
    return itertools.islice(matches, _MAX_RECORDS)


def _record_end(scan: str, start: int) -> int:
    """Where the log record that starts at ``start`` ends (the next record, or a bound)."""
    chunk = scan[start : start + _RECORD_CHARS]
    end = _RECORD_START.search(chunk)
    return start + (end.start() if end else len(chunk))


def _record(scan: str, start: int) -> str:
    """The log record that starts at ``start``, wrapped lines joined, up to the next record."""
    chunk = scan[start : _record_end(scan, start)]
    return " ".join(line.strip() for line in chunk.split("\n") if line.strip())


def _balanced(text: str) -> str:
    """The text up to the parenthesis that closes an opening one just before it."""
    depth = 1
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[:index]
    return text


def _postfix_deliveries(scan: str) -> list[Candidate]:
    found: list[Candidate] = []
    for match in _first(_POSTFIX_TO.finditer(scan)):
        record = _record(scan, match.start())
        status = _POSTFIX_STATUS.search(record)
        if status is None:
            continue
        dsn, outcome, rest = status.groups()
        reason = _balanced(rest).strip() if rest else ""
        host, ip = find_remote(reason)
        if not host and not ip:
            host = match.group(3) if match.group(3) not in ("none", "local") else None
            ips = find_ips(match.group(4) or "")
            ip = ips[0] if ips else None
        if reason and not re.search(
            r"\bsaid:|refused to talk to me:|\b\d\.\d{1,3}\.\d{1,3}\b", reason
        ):
            # Postfix's own words ("TLS is required, but was not offered"): its dsn= is the code.
            # When a remote server spoke, its reply is the code (dsn= may be Postfix's 4.0.0).
            reason = f"{dsn} {reason}"
        found.append(
            Candidate(
                normalise_address(match.group(1)),
                reason or dsn,
                host.rstrip(".").lower() if host else None,
                ip,
                find_command(reason),
                at=match.start(),
                outcome={"expired": "bounced"}.get(outcome, outcome),
            )
        )
    return found


def _postfix_rejects(scan: str) -> list[Candidate]:
    found: list[Candidate] = []
    for match in _first(_NOQUEUE.finditer(scan)):
        stage, _client, client_ip, reply, envelope = match.groups()
        fields = dict(_ENVELOPE.findall(envelope or ""))
        ips = [ip for ip in find_ips(client_ip) if not ip.startswith(("127.", "::1"))]
        found.append(
            Candidate(
                normalise_address(fields.get("to")),
                reply.strip(),
                None,
                None,
                {"END-OF-MESSAGE": "DATA", "CONNECT": "CONN"}.get(stage, stage),
                at=match.start(),
                sender=normalise_address(fields.get("from")),
                client_ip=ips[0] if ips else None,
                outcome="bounced" if reply[:1] == "5" else "deferred",
            )
        )
    return found


def _postfix_hosts(scan: str, found: list[Candidate]) -> list[Candidate]:
    """``host X[ip] said: ...`` records not already part of a ``to=<...>`` record."""
    taken = [(c.at, _record_end(scan, c.at)) for c in found]
    out: list[Candidate] = []
    for match in _first(_POSTFIX_HOST.finditer(scan)):
        if any(start <= match.start() < end for start, end in taken):
            continue
        record = _record(scan, match.start())
        stop = re.search(r"\(in reply to [^)]{1,40}\)", record)
        if stop:
            record = record[: stop.end()]
        said = re.sub(r"^.*?(?:said|refused to talk to me):\s*", "", record, count=1)
        said = re.sub(r"\s*\(in reply to ([^)]{1,40})\)\)?\s*$", r" (in reply to \1)", said)
        ips = find_ips(match.group(2))
        out.append(
            Candidate(
                None,
                said.strip(),
                match.group(1).rstrip(".").lower(),
                ips[0] if ips else None,
                find_command(said),
                at=match.start(),
                outcome="deferred" if said[:1] == "4" else "bounced",
            )
        )
        taken.append((match.start(), _record_end(scan, match.start())))
    return out


def _exim(scan: str, found: list[Candidate]) -> list[Candidate]:
    out: list[Candidate] = []
    for match in _first(_EXIM.finditer(scan)):
        flag, address, _rest = match.groups()
        if "@" not in address and "R=" not in match.group(0):
            continue  # "** MX Routing not available" and other starred notices
        record = _record(scan, match.start(3))
        named_host = _EXIM_HOST.search(record)
        defer = _EXIM_DEFER.search(record)
        if defer:
            # "defer (113): No route to host H=mx [ip]": Exim's own words, then the host.
            words = record[defer.end() :]
            cut = words.find(" H=")
            record = words[:cut] if cut >= 0 else words
            if named_host:
                record += f" (host {named_host.group(1)})"
        after = _EXIM_AFTER.search(record)
        host, ip = find_remote(record)
        if named_host and not host:
            host = named_host.group(1).rstrip(".").lower()
            ip = next(iter(find_ips(named_host.group(2) or "")), None)
        hidden = None
        if normalise_address(address) is None:
            hidden = address
        out.append(
            Candidate(
                normalise_address(address),
                record.strip(),
                host,
                ip,
                find_command(record),
                at=match.start(),
                sender=normalise_address(after.group(2))
                if after and after.group(1) == "MAIL FROM"
                else None,
                outcome="deferred" if flag == "==" else "bounced",
                hidden=hidden,
            )
        )
    if out:
        return out
    # Exim lines without the ** / == flag: "R=... T=...: SMTP error from remote mail server after
    # RCPT TO:<a@b>: ..." or an exim mainlog line about MAIL FROM.
    for match in _first(_EXIM_AFTER.finditer(scan)):
        if any(abs(c.at - match.start()) < 400 for c in found):
            continue
        record = _record(scan, max(0, scan.rfind("\n", 0, match.start()) + 1))
        host, ip = find_remote(record)
        named_host = _EXIM_HOST.search(record)
        if named_host and not host:
            host = named_host.group(1).rstrip(".").lower()
            ip = next(iter(find_ips(named_host.group(2) or "")), None)
        stage, address = match.groups()
        out.append(
            Candidate(
                normalise_address(address) if stage == "RCPT TO" else None,
                record.strip(),
                host,
                ip,
                "RCPT" if stage == "RCPT TO" else "MAIL",
                at=match.start(),
                sender=normalise_address(address) if stage == "MAIL FROM" else None,
                outcome="deferred" if re.search(r":\s*4\d\d[ -]", record) else "bounced",
            )
        )
    return out


def _sendmail(scan: str) -> list[Candidate]:
    found: list[Candidate] = []
    for match in _first(_SENDMAIL_STAT.finditer(scan)):
        line = scan[
            max(scan.rfind("\n", 0, match.start()) + 1, match.start() - 1000) : match.start()
        ]
        to = list(_SENDMAIL_TO.finditer(line))
        if not to or "status=" in match.group(0):
            continue  # not a Sendmail delivery line (a Postfix line has dsn= too; read above)
        relay = _SENDMAIL_RELAY.search(line, to[-1].end())
        dsn, stat = match.groups()
        stat = stat.strip()
        outcome = "sent" if stat.lower().startswith("sent") else "bounced"
        if stat.lower().startswith("deferred"):
            outcome = "deferred"
        text = stat if re.search(r"\b\d\.\d{1,3}\.\d{1,3}\b", stat) else f"{dsn} {stat}"
        found.append(
            Candidate(
                normalise_address(to[-1].group(1)),
                text,
                relay.group(1).rstrip(".").lower() if relay else None,
                relay.group(2) if relay else None,
                find_command(stat),
                at=match.start() - len(line) + to[-1].start(),
                outcome=outcome,
            )
        )
    return found
