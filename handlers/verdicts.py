"""Then and now: what the receiver said about SPF, DKIM and DMARC when the mail bounced, beside
what ndrbot's live checks say now.

The rules (pure code below follows them):

1. The receiver's verdicts come from the bounce itself: ``Authentication-Results`` in the returned
   headers (RFC 8601; the receiving server's record of the message it refused), and a reply that
   quotes its SPF verdict (Gmail's "SPF [contoso.com] with ip: [192.0.2.1] = did not pass").
2. A verdict is compared with a live check only when both are about the same thing: SPF for the
   same domain and the same sending IP. Otherwise the verdict is said on its own.
3. Never present a live result as the cause when the bounce says otherwise: a receiver's "fail"
   beside a live "pass" says the record was (probably) fixed after the bounce; a receiver's "pass"
   beside a live "fail" says the record changed since, so the failure now is not why it bounced.
4. Results other than pass and fail (softfail, neutral, temperror...) are said as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from handlers.checks.result import CheckResult
from handlers.ndr.model import Bounce

__all__ = ["Verdict", "receiver_verdicts", "then_and_now"]

_GMAIL_SPF = re.compile(
    r"SPF\s+\[([A-Za-z0-9.-]{1,253})\]\s+with\s+ip:\s+\[([0-9A-Fa-f.:]{3,45})\]\s*=\s*did not pass",
    re.IGNORECASE,
)
_METHODS = ("spf", "dkim", "dmarc")
_FAILING = ("fail", "softfail", "permerror")


@dataclass(frozen=True)
class Verdict:
    """One receiver verdict: method (spf, dkim, dmarc), result, and what it was about."""

    method: str
    result: str
    domain: str | None = None
    ip: str | None = None


def receiver_verdicts(bounce: Bounce) -> tuple[Verdict, ...]:
    """The receiver's SPF, DKIM and DMARC verdicts in ``bounce`` (rule 1), each once."""
    found: list[Verdict] = []
    for recipient in bounce.recipients[:5]:
        for match in _GMAIL_SPF.finditer(recipient.diagnostic[:4000]):
            found.append(Verdict("spf", "fail", match.group(1).lower(), match.group(2)))
    original = bounce.original
    for result in original.auth_results if original else ():
        if result.method not in _METHODS or not result.result:
            continue
        domain = (
            result.get("smtp.mailfrom")
            if result.method == "spf"
            else result.get("header.d")
            if result.method == "dkim"
            else result.get("header.from")
        )
        if domain and "@" in domain:
            domain = domain.rpartition("@")[2]
        if domain and domain.lower() in ("none", "unknown"):  # Microsoft's header.d=none
            domain = None
        ip = original.connecting_ip if result.method == "spf" and original else None
        found.append(
            Verdict(result.method, result.result.lower(), domain.lower() if domain else None, ip)
        )
    return tuple(dict.fromkeys(found))


def _when(date: str | None) -> str:
    if not date:
        return ""
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return ""
    return f" on {sent.day} {sent:%b}"


def _said(v: Verdict, when: str) -> str:
    about = f" for {v.domain}" if v.domain else ""
    sender = f" from {v.ip}" if v.ip else ""
    if v.method == "dkim" and v.result == "none":
        return f"DKIM: the message was not signed, the receiver recorded{when}"
    return f"{v.method.upper()}{about}{sender}: the receiver recorded {v.result}{when}"


def then_and_now(
    verdicts: Sequence[Verdict], results: Sequence[CheckResult], sent: str | None = None
) -> tuple[str, ...]:
    """One sentence per verdict, with the live SPF result beside it where comparable (2, 3)."""
    when = _when(sent)
    spf = next((r for r in results if r.check == "spf" and "result" in r.details), None)
    lines = []
    for v in verdicts:
        line = _said(v, when)
        comparable = (
            v.method == "spf"
            and spf is not None
            and v.domain == spf.target
            and (v.ip is None or v.ip == spf.details.get("ip"))
        )
        if comparable and spf is not None:
            now = str(spf.details["result"])
            ip = spf.details.get("ip")
            # "Posted": this line is written once, with the card; a Re-check updates the checks.
            if v.result in _FAILING and now == "pass":
                line += (
                    f"; when this card was posted it passed for {ip}, so the record was fixed "
                    "after the bounce"
                )
            elif v.result == "pass" and now != "pass":
                line += (
                    f"; when this card was posted it gave {now} for {ip}: the record changed "
                    "after the bounce, so that is not why this message bounced"
                )
            elif now == v.result:
                line += f"; when this card was posted it still gave {now} for {ip}"
            else:
                line += f"; when this card was posted it gave {now} for {ip}"
        lines.append(line + ".")
    return tuple(lines)
