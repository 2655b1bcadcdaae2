"""``check_dkim``: look up DKIM keys under given, seen and common selectors.

Selectors cannot be listed from DNS, so a key not found under a guessed selector says nothing;
a key missing under a selector the user gave (or a bounce showed) is an error.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from handlers.checks.dkim_record import DkimKey, parse_dkim_key
from handlers.checks.names import normalise_domain
from handlers.checks.resolver import DnsAnswer, DnsClient, DnsUnavailable
from handlers.checks.result import (
    CheckResult,
    Finding,
    InvalidTarget,
    Severity,
    Status,
    overall_status,
)

__all__ = ["COMMON_SELECTORS", "check_dkim"]

# Microsoft 365, Google Workspace, then a few widely used services' defaults.
COMMON_SELECTORS = ("selector1", "selector2", "google", "default", "k1", "s1", "s2", "dkim", "mail")
_I, _W, _E, _U = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.UNKNOWN
_SELECTOR = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,61}[a-z0-9_])?$", re.IGNORECASE)
# Microsoft 365 publishes keys behind a CNAME, older tenants under onmicrosoft.com, newer ones
# under dkim.mail.microsoft (Microsoft Learn, "Use DKIM for email in your custom domain").
_M365_OLD = re.compile(r"^(selector[12])-([a-z0-9-]+)\._domainkey\.[a-z0-9-]+\.onmicrosoft\.com$")
_M365_NEW = re.compile(
    r"^(selector[12])-([a-z0-9-]+)\._domainkey\.[a-z0-9.-]+\.dkim\.mail\.microsoft$"
)


def _m365_form(answer: DnsAnswer) -> str | None:
    for target in answer.cname_chain:
        if _M365_OLD.match(target):
            return "onmicrosoft.com"
        if _M365_NEW.match(target):
            return "dkim.mail.microsoft"
    return None


def _key_findings(domain: str, selector: str, key: DkimKey, explicit: bool) -> list[Finding]:
    name = f"{selector}._domainkey.{domain}"
    out: list[Finding] = []
    if key.revoked:
        out.append(
            Finding(
                _E if explicit else _W,
                "dkim.revoked",
                f"{name} has an empty p=: the key is revoked (RFC 6376 section 3.6.1) and every signature with s={selector} fails",
            )
        )
    for problem in key.problems:
        out.append(Finding(_E, "dkim.bad_record", f"{name}: {problem}"))
    if key.key_type == "rsa" and key.bits is not None:
        if key.bits < 1024:
            out.append(
                Finding(
                    _E,
                    "dkim.key_too_short",
                    f"{name} holds a {key.bits}-bit RSA key; receivers reject keys under 1024 bits (RFC 8301 section 3.2). Publish a 2048-bit key",
                )
            )
        elif key.bits < 2048:
            out.append(
                Finding(
                    _W,
                    "dkim.key_weak",
                    f"{name} holds a {key.bits}-bit RSA key; 2048 bits is the recommended size (RFC 8301 section 3.2)",
                )
            )
    if key.testing:
        out.append(
            Finding(
                _W,
                "dkim.testing",
                f"{name} has t=y (testing): receivers may treat its signatures as unsigned",
            )
        )
    return out


def _selector_result(
    domain: str, selector: str, answer: DnsAnswer | BaseException, explicit: bool
) -> tuple[list[Finding], dict[str, Any]]:
    name = f"{selector}._domainkey.{domain}"
    if isinstance(answer, DnsUnavailable):
        return [Finding(_U, "dkim.dns_unavailable", f"DNS did not answer for {name}: {answer}")], {
            "selector": selector,
            "status": "unknown",
            "error": str(answer),
        }
    if isinstance(answer, BaseException):
        raise answer
    info: dict[str, Any] = {
        "selector": selector,
        "name": name,
        "cname_chain": list(answer.cname_chain),
    }
    m365 = _m365_form(answer)
    if m365:
        info["microsoft365"] = m365
    keys = [t for t in answer.txt_strings if "p=" in t or "v=DKIM1" in t]
    if not keys:
        if answer.cname_chain:
            info["status"] = "dangling_cname"
            hint = (
                " Turn DKIM signing on for the domain in Microsoft 365 (Defender portal, or Set-DkimSigningConfig -Enabled $true) so Microsoft publishes the key."
                if m365
                else " Publish the key at the target or remove the CNAME."
            )
            return [
                Finding(
                    _E,
                    "dkim.dangling_cname",
                    f"{name} is a CNAME to {answer.cname_chain[-1]}, which has no DKIM key.{hint}",
                )
            ], info
        info["status"] = "missing"
        if explicit:
            return [
                Finding(
                    _E,
                    "dkim.selector_missing",
                    f"No DKIM key at {name}: signatures with s={selector} fail. Publish the key your mail service gives you",
                )
            ], info
        return [], info
    if len(keys) > 1:
        info["status"] = "multiple"
        return [
            Finding(
                _E,
                "dkim.multiple_keys",
                f"{name} has {len(keys)} key records; verifiers may pick either",
            )
        ], info
    key = parse_dkim_key(keys[0])
    info.update(
        status="revoked" if key.revoked else "found",
        key_type=key.key_type,
        bits=key.bits,
        testing=key.testing,
    )
    findings = _key_findings(domain, selector, key, explicit)
    if not key.revoked and not key.problems:
        via = f" (Microsoft 365, {m365} CNAME)" if m365 else ""
        findings.insert(
            0,
            Finding(
                _I, "dkim.key_found", f"{name}: {key.key_type.upper()} key of {key.bits} bits{via}"
            ),
        )
    return findings, info


async def check_dkim(
    dns: DnsClient, domain: str, selectors: Sequence[str] = (), *, common: bool = True
) -> CheckResult:
    """Check the DKIM keys of ``domain`` under ``selectors`` (and common ones when ``common``)."""
    domain = normalise_domain(domain)
    given = [s.strip().lower() for s in selectors if s.strip()]
    for s in given:
        if not _SELECTOR.match(s):
            raise InvalidTarget(f"{s!r} is not a DKIM selector (letters, digits, '-', '_' and '.')")
    tried = list(dict.fromkeys([*given, *(COMMON_SELECTORS if common else ())]))
    async with dns.deadline():
        answers = await asyncio.gather(
            *(dns.query(f"{s}._domainkey.{domain}", "TXT") for s in tried), return_exceptions=True
        )
    findings: list[Finding] = []
    rows = []
    for selector, answer in zip(tried, answers, strict=True):
        found, info = _selector_result(domain, selector, answer, selector in given)
        findings += found
        rows.append(info)
    usable = [r["selector"] for r in rows if r.get("status") == "found"]
    unknown = [r["selector"] for r in rows if r.get("status") == "unknown"]
    if not usable and not any(f.severity is _E for f in findings):
        if unknown:
            findings.append(
                Finding(
                    _U,
                    "dkim.none_found_partial",
                    f"No DKIM key found for {domain}, but DNS did not answer for {', '.join(unknown)}",
                )
            )
        else:
            findings.append(
                Finding(
                    _W,
                    "dkim.none_found",
                    f"No DKIM key under the selectors tried ({', '.join(tried)}). Give the selector from the s= tag of a DKIM-Signature header to check it",
                )
            )
    status = overall_status(findings)
    if usable:
        summary = f"DKIM keys for {domain} found under {', '.join(usable)}."
    elif status is Status.UNKNOWN:
        summary = f"Could not tell whether {domain} has DKIM keys: DNS did not answer."
    else:
        summary = f"No usable DKIM key found for {domain} under the selectors tried."
    if status is Status.FAIL:
        first = next(f.message for f in findings if f.severity is _E)
        summary = f"{summary[:-1]}. {first}"
    return CheckResult(
        "dkim", domain, status, summary, tuple(findings), {"selectors": rows, "found": usable}
    )
