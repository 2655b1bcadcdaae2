"""DMARC aggregate reports, read as they stream: the report's head, then one record at a time.

Both formats receivers send are read by the same code: RFC 7489's appendix C (no namespace, or
dmarc.org's) and RFC 9990's (``urn:ietf:params:xml:ns:dmarc-2.0``, with ``np``, ``testing``,
``discovery_method``, ``generator``). Element names are matched without their namespace, and
elements a reader does not know are skipped, so extensions never break a report.

Any DTD is refused before parsing: a report never needs one, and a DTD is the only way entity
expansion ("billion laughs") and external entities get in (an entity cannot be declared
anywhere else, and an undeclared one is a syntax error). With that rule the standard library's
C parser is safe here, and six times faster than defusedxml's pure-Python one. Each record's
elements are dropped as soon as the record is read, so a 50 MB report is never a 50 MB tree.

    head, records = open_report(stream)   # ReportError: not a report, and why
    for record in records: ...            # ReportError mid-way: the XML broke off
"""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from xml.etree.ElementTree import fromstring, iterparse

from handlers.refusals import Refusal

__all__ = [
    "AuthResult",
    "PolicyPublished",
    "Record",
    "ReportError",
    "ReportHead",
    "open_report",
]

RFC9990_NS = "urn:ietf:params:xml:ns:dmarc-2.0"
MAX_TEXT = 512  # longest value kept from any element (a domain, a comment)
MAX_COUNT = 10**9  # messages in one record, more than any receiver reports for a day
STREAM_ABOVE = 1024 * 1024  # XML bytes above which a report is streamed, not read as one tree
_DOMAIN = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9])?\.?")


class ReportError(Refusal):
    """Not a DMARC aggregate report, or a broken one; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class PolicyPublished:
    """The DMARC record the receiver found for the domain (as the report states it)."""

    domain: str
    p: str = ""
    sp: str = ""
    np: str = ""  # RFC 9990 (RFC 9091 before it)
    adkim: str = ""
    aspf: str = ""
    testing: str = ""  # RFC 9990: "y" when the policy is in test mode (t=y)
    discovery_method: str = ""  # RFC 9990: "psl" or "treewalk"
    pct: str = ""  # RFC 7489 only (removed by RFC 9989)
    fo: str = ""


@dataclass(frozen=True, slots=True)
class ReportHead:
    """Who sent the report, about which domain and period, and the policy published."""

    format: str  # "rfc9990" or "rfc7489"
    org_name: str
    org_email: str
    report_id: str
    begin: datetime
    end: datetime
    policy: PolicyPublished
    generator: str = ""
    errors: tuple[str, ...] = ()

    @property
    def domain(self) -> str:
        return self.policy.domain

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What makes a report the same report when it arrives twice."""
        return (
            self.org_name,
            self.report_id,
            self.domain,
            self.begin.isoformat(),
            self.end.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One raw DKIM or SPF result, before alignment."""

    method: str  # "dkim" or "spf"
    domain: str
    result: str
    selector: str = ""
    scope: str = ""  # SPF: "mfrom" or "helo"


@dataclass(frozen=True, slots=True)
class Record:
    """One row: messages from one source IP with the same results."""

    source_ip: str
    count: int
    disposition: str
    dkim: str  # DMARC's evaluation: "pass" only when an aligned DKIM signature passed
    spf: str  # likewise for SPF
    header_from: str
    envelope_from: str = ""
    envelope_to: str = ""
    overrides: tuple[str, ...] = ()  # reason types: forwarded, mailing_list, local_policy...
    auth: tuple[AuthResult, ...] = ()

    @property
    def aligned(self) -> bool:
        """DMARC passed: SPF or DKIM passed and aligned with the From domain."""
        return self.dkim == "pass" or self.spf == "pass"


def _name(tag: str) -> str:
    return tag[tag.find("}") + 1 :]  # "{namespace}name" or "name"


def _text(element: Any) -> str:
    return (element.text or "").strip()[:MAX_TEXT]


def _kids(element: Any) -> dict[str, Any]:
    """An element's children by name (the first of each name)."""
    out: dict[str, Any] = {}
    if element is not None:
        for child in element:
            out.setdefault(_name(child.tag), child)
    return out


def _child(element: Any, name: str) -> Any:
    return _kids(element).get(name)


def _value(element: Any, name: str) -> str:
    child = _child(element, name) if element is not None else None
    return _text(child) if child is not None else ""


def _word(element: Any, name: str) -> str:
    return _value(element, name).lower()


def _get(kids: dict[str, Any], name: str) -> str:
    child = kids.get(name)
    return _text(child) if child is not None else ""


_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY")
_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_ENCODING = re.compile(r"^(<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']")


def _prolog_checked(data: bytes) -> bytes:
    """``data`` as UTF-8-compatible bytes, or ReportError when it declares a DTD."""
    if data[:2] in _UTF16 or b"\x00" in data[:64]:
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReportError("the report is neither UTF-8 nor valid UTF-16") from None
        data = _ENCODING.sub(r"\1", text.lstrip("\ufeff"), count=1).encode("utf-8")
    # Anywhere, not just before the root: a comment could hide where the root seems to start,
    # and no report has a reason to spell these out.
    if _DOCTYPE.search(data):
        raise ReportError("the XML declares a DTD or entities, which a report never needs")
    return data


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    return value if _DOMAIN.fullmatch(value) else ""


def _when(value: str, what: str) -> datetime:
    try:
        seconds = int(value.strip())
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise ReportError(f"the report's {what} date is not a Unix time: {value[:40]!r}") from None


def _head(metadata: Any, policy: Any, namespace: str) -> ReportHead:
    if metadata is None:
        raise ReportError("the report has no <report_metadata>")
    if policy is None:
        raise ReportError("the report has no <policy_published>")
    meta, published_kids = _kids(metadata), _kids(policy)
    domain = _domain(_get(published_kids, "domain"))
    if not domain:
        raise ReportError("the report names no valid domain in <policy_published>")
    if "date_range" not in meta:
        raise ReportError("the report has no <date_range>")
    dates = _kids(meta["date_range"])
    begin, end = _when(_get(dates, "begin"), "begin"), _when(_get(dates, "end"), "end")
    org, report_id = _get(meta, "org_name"), _get(meta, "report_id")
    if not org or not report_id:
        raise ReportError("the report has no <org_name> or no <report_id>")
    published = PolicyPublished(
        domain=domain,
        **{
            name: _get(published_kids, name).lower()[:20]
            for name in ("p", "sp", "np", "adkim", "aspf", "testing", "discovery_method", "pct")
        },
        fo=_get(published_kids, "fo")[:20],
    )
    is_9990 = namespace == RFC9990_NS or bool(published.np or published.testing)
    return ReportHead(
        format="rfc9990" if is_9990 else "rfc7489",
        org_name=org,
        org_email=_get(meta, "email"),
        report_id=report_id,
        begin=begin,
        end=end,
        policy=published,
        generator=_get(meta, "generator"),
        errors=tuple(_text(e) for e in metadata if _name(e.tag) == "error")[:20],
    )


def _record(element: Any) -> Record | None:
    """A record, or None when it is unusable (no valid IP or count): skipped, not fatal."""
    parts = _kids(element)
    row = _kids(parts.get("row"))
    try:
        ip = str(ipaddress.ip_address(_get(row, "source_ip")))
        count = int(_get(row, "count"))
    except ValueError:
        return None
    if not 0 <= count <= MAX_COUNT:
        return None  # a count no receiver could have seen in a day: forged or broken
    evaluated = row.get("policy_evaluated")
    verdicts = _kids(evaluated)
    overrides = tuple(
        _word(reason, "type")[:40]
        for reason in (evaluated if evaluated is not None else ())
        if _name(reason.tag) == "reason"
    )
    identifiers = _kids(parts.get("identifiers"))
    auth: list[AuthResult] = []
    results = parts.get("auth_results")
    for result in results if results is not None else ():
        method = _name(result.tag)
        if method in ("dkim", "spf") and len(auth) < 50:
            fields = _kids(result)
            auth.append(
                AuthResult(
                    method=method,
                    domain=_domain(_get(fields, "domain")),
                    result=_get(fields, "result").lower()[:20],
                    selector=_get(fields, "selector")[:100],
                    scope=_get(fields, "scope").lower()[:10],
                )
            )
    return Record(
        source_ip=ip,
        count=count,
        disposition=_get(verdicts, "disposition").lower()[:20],
        dkim=_get(verdicts, "dkim").lower()[:20],
        spf=_get(verdicts, "spf").lower()[:20],
        header_from=_domain(_get(identifiers, "header_from")),
        envelope_from=_domain(_get(identifiers, "envelope_from")),
        envelope_to=_domain(_get(identifiers, "envelope_to")),
        overrides=tuple(o for o in overrides if o),
        auth=tuple(auth),
    )


def _whole(data: bytes) -> tuple[ReportHead, Iterator[Record]]:
    """A small report (most are) read as one tree: one call into the C parser."""
    try:
        root = fromstring(data)  # noqa: S314 (any DTD was refused by _prolog_checked)
    except SyntaxError as error:
        if not data.strip():
            raise ReportError("the input is empty or is not XML") from None
        raise ReportError(f"the XML is broken ({_where(error)})") from None
    if _name(root.tag) != "feedback":
        raise ReportError(f"the XML is not a DMARC aggregate report (<{_name(root.tag)[:40]}>)")
    sections = _kids(root)
    namespace = root.tag[1:].partition("}")[0] if root.tag[0] == "{" else ""
    head = _head(sections.get("report_metadata"), sections.get("policy_published"), namespace)
    rows = (_record(e) for e in root if _name(e.tag) == "record")
    return head, (r for r in rows if r is not None)


def open_report(stream: IO[bytes]) -> tuple[ReportHead, Iterator[Record]]:
    """Read up to the first record and return the head and an iterator over the records.

    Raises :class:`ReportError` when the input is not a DMARC aggregate report (or breaks off
    before its head); the iterator raises it when the XML breaks off later."""
    data = _prolog_checked(stream.read())
    if len(data) <= STREAM_ABOVE:
        return _whole(data)
    events = iterparse(io.BytesIO(data), events=("start", "end"))  # noqa: S314 (as above)
    root: Any = None
    metadata: Any = None
    policy: Any = None
    pending: Any = None  # the first record's element, read while looking for the head
    depth = 0  # of the element an event is about: 1 is a section of the report
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                    if _name(element.tag) != "feedback":
                        name = _name(element.tag)[:40]
                        raise ReportError(f"the XML is not a DMARC aggregate report (<{name}>)")
                continue
            depth -= 1
            if depth != 1:
                continue
            name = _name(element.tag)
            if name == "report_metadata":
                metadata = element
            elif name == "policy_published":
                policy = element
            elif name == "record":
                pending = element
                break
            else:
                root.remove(element)  # a version, an extension: not kept
    except SyntaxError as error:  # ElementTree.ParseError
        if root is None:
            raise ReportError("the input is empty or is not XML") from None
        raise ReportError(f"the XML is broken ({_where(error)})") from None
    if root is None:
        raise ReportError("the input is empty")
    namespace = root.tag[1:].partition("}")[0] if root.tag[0] == "{" else ""
    head = _head(metadata, policy, namespace)
    record_tag = f"{{{namespace}}}record" if namespace else "record"

    def records() -> Iterator[Record]:
        element = pending
        level = 1  # the depth of the next event's element, as above (the record just ended)
        try:
            while element is not None:
                record = _record(element)
                root.clear()  # drop what was read: memory stays bounded by one record
                if record is not None:
                    yield record
                element = None
                for event, found in events:
                    if event == "start":
                        level += 1
                        continue
                    level -= 1
                    if level != 1:
                        continue
                    if found.tag == record_tag:
                        element = found
                        break
                    root.clear()  # anything else at the top: dropped as it ends
        except SyntaxError as error:
            raise ReportError(f"the XML is broken ({_where(error)})") from None

    return head, records()


def _where(error: SyntaxError) -> str:
    position = getattr(error, "position", None)
    if isinstance(position, tuple) and len(position) == 2:
        return f"line {position[0]}, column {position[1]}"
    return "not well-formed"
