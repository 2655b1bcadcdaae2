"""Compare the reader with the labels of the shared real-paste set (read in place).

Used by the paste test (floors) and by ``benchmarks/paste_accuracy.py`` (the full table).
``../shared/corpus/pastes`` holds texts people pasted into public discussions, with
``labels.tsv``; they may not be copied into this repository. Where it is absent, callers skip.

Scoring rules (the same as the issue that set the targets):
- a recipient is scored only where the label is a plausible address (not a redaction such as
  ``***@***.***``, ``xxx@gmail.com`` or ``CENSORED@CENSORED``); each such address must be among
  the recipients read;
- a sending IP is scored only where the label is a valid IP;
- status, reply code and family are scored on positives whose label gives them;
- a placeholder read as an address or an IP (``xx.xx.xx.xx``, ``***@gmail.com``) is counted apart:
  it should never happen.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from handlers.diagnosis import Diagnosis
from tests.corpus_eval import Tally

ROOT = Path(__file__).resolve().parent.parent
PASTES = ROOT.parent / "shared" / "corpus" / "pastes"
LABELS = PASTES / "labels.tsv"

_ADDRESS = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
# Local parts or domain labels made only of masking characters: "xxx", "***", "???", "-----".
_MASK_LABEL = re.compile(r"^[x*?#_-]+$", re.IGNORECASE)


def pastes_available() -> bool:
    """True when the shared paste set is present beside this checkout."""
    return LABELS.is_file()


def plausible_address(value: str) -> bool:
    """True for an address that could be real: not a redaction or a masked placeholder."""
    if not _ADDRESS.match(value):
        return False
    local, _, domain = value.rpartition("@")
    if _MASK_LABEL.match(local) or not local.strip("x*?#_-."):
        return False
    return not any(_MASK_LABEL.match(label) for label in domain.split("."))


def valid_ip(value: str) -> bool:
    """True for a syntactically valid IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def looks_masked(value: str) -> bool:
    """True for a value a person typed to hide something (not a real address or IP)."""
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return (
            not local
            or _MASK_LABEL.match(local) is not None
            or any(_MASK_LABEL.match(label) for label in domain.split("."))
        )
    return not valid_ip(value)


@dataclass
class Row:
    """One label row."""

    file: str
    is_ndr: bool
    status: str
    reply: str
    family: str
    recipients: list[str]
    sender: str
    sending_ip: str
    remote_host: str
    notes: str


def rows() -> Iterator[Row]:
    """The label rows, in file order."""
    with LABELS.open(encoding="utf-8") as handle:
        for raw in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield Row(
                file=raw["file"],
                is_ndr=raw["is_ndr"] == "yes",
                status=raw["expected_status"],
                reply=raw["expected_reply_code"],
                family=raw["expected_family"],
                recipients=[r for r in raw["expected_recipients"].split("|") if r],
                sender=raw["expected_sender"],
                sending_ip=raw["expected_sending_ip"],
                remote_host=raw["expected_remote_host"],
                notes=raw["notes"],
            )


@dataclass
class Reading:
    """What the reader and classifier made of one paste (plain values, for comparison)."""

    is_ndr: bool
    kind: str
    status: str | None
    reply: str | None
    family: str | None
    recipients: list[str]
    sender: str | None
    sending_ip: str | None
    remote_host: str | None


@dataclass
class Measures:
    """Agreement per field, over the positives whose label gives that field."""

    status: Tally = field(default_factory=Tally)
    reply: Tally = field(default_factory=Tally)
    recipient: Tally = field(default_factory=Tally)  # per plausible labelled address
    sending_ip: Tally = field(default_factory=Tally)
    family: Tally = field(default_factory=Tally)
    sender: Tally = field(default_factory=Tally)
    remote_host: Tally = field(default_factory=Tally)


@dataclass
class Report:
    """All measures over the paste set."""

    detection: Tally = field(default_factory=Tally)  # positives read as NDRs
    false_bounce: Tally = field(default_factory=Tally)  # negatives NOT read as NDRs
    all: Measures = field(default_factory=Measures)  # every labelled positive
    among_read: Measures = field(default_factory=Measures)  # positives read as NDRs only
    placeholders: list[str] = field(default_factory=list)  # a mask read as a value
    errors: list[str] = field(default_factory=list)


def evaluate(read_and_classify: Callable[[bytes], Reading]) -> Report:
    """Run ``read_and_classify`` over every paste and compare with the labels.

    Every positive counts in every measure its label speaks to, read as a bounce or not (a bounce
    not recognised has no code, recipient or family to show). ``Report.among_read`` keeps the same
    measures over the positives that were recognised, the way the issue first measured them.
    """
    report = Report()
    for row in rows():
        data = (PASTES / row.file).read_bytes()
        try:
            got = read_and_classify(data)
        except Exception as error:
            report.errors.append(f"{row.file}: {type(error).__name__}: {error}")
            continue
        for value in [*got.recipients, got.sending_ip or ""]:
            if value and looks_masked(value):
                report.placeholders.append(f"{row.file}: placeholder read as a value: {value!r}")
        if not row.is_ndr:
            report.false_bounce.add(not got.is_ndr, f"{row.file}: read as {got.kind}")
            continue
        report.detection.add(got.is_ndr, f"{row.file}: read as {got.kind}")
        _compare(row, got, report.all)
        if got.is_ndr:
            _compare(row, got, report.among_read)
    return report


def _compare(row: Row, got: Reading, report: Measures) -> None:
    if row.status:
        report.status.add(got.status == row.status, f"{row.file}: {row.status} got {got.status}")
    if row.reply:
        report.reply.add(got.reply == row.reply, f"{row.file}: {row.reply} got {got.reply}")
    if row.family:
        report.family.add(got.family == row.family, f"{row.file}: {row.family} got {got.family}")
    read_addresses = {r.lower() for r in got.recipients}
    for expected in row.recipients:
        if plausible_address(expected):
            report.recipient.add(
                expected.lower() in read_addresses,
                f"{row.file}: {expected} got {sorted(read_addresses) or None}",
            )
    if row.sending_ip and valid_ip(row.sending_ip):
        report.sending_ip.add(
            got.sending_ip == str(ipaddress.ip_address(row.sending_ip)),
            f"{row.file}: {row.sending_ip} got {got.sending_ip}",
        )
    if row.sender and plausible_address(row.sender):
        report.sender.add(
            (got.sender or "").lower() == row.sender.lower(),
            f"{row.file}: {row.sender} got {got.sender}",
        )
    if row.remote_host:
        report.remote_host.add(
            (got.remote_host or "").lower() == row.remote_host.lower().rstrip("."),
            f"{row.file}: {row.remote_host} got {got.remote_host}",
        )


MEASURES = (
    ("status code", "status"),
    ("reply code", "reply"),
    ("failed recipient named (plausible only)", "recipient"),
    ("sending IP named (valid IPs only)", "sending_ip"),
    ("family", "family"),
    ("sender (plausible only)", "sender"),
    ("rejecting host", "remote_host"),
)


def table(report: Report) -> str:
    """The report as a plain-text table: each measure over all positives, then over those read."""
    lines = [f"{'measure':<42} {'agree':>6} {'total':>6} {'rate':>7}   {'among read':>10}"]
    for name, tally in (
        ("a bounce is recognised as one", report.detection),
        ("a non-bounce is not called a bounce", report.false_bounce),
    ):
        lines.append(f"{name:<42} {tally.agree:>6} {tally.total:>6} {tally.rate:>7.1%}")
    for name, attribute in MEASURES:
        tally = getattr(report.all, attribute)
        read = getattr(report.among_read, attribute)
        lines.append(
            f"{name:<42} {tally.agree:>6} {tally.total:>6} {tally.rate:>7.1%}   {read.rate:>10.1%}"
        )
    lines.append(f"placeholders read as addresses or IPs: {len(report.placeholders)}")
    if report.errors:
        lines.append(f"CRASHES: {len(report.errors)}")
    return "\n".join(lines)


def reading_of(diagnosis: Diagnosis) -> Reading:
    """The plain values of a diagnosis that the labels speak about."""
    bounce = diagnosis.bounce
    first = bounce.first
    return Reading(
        is_ndr=bounce.is_ndr,
        kind=str(bounce.kind),
        status=first.status if first else None,
        reply=first.reply_code if first else None,
        family=diagnosis.family,
        recipients=[r.address for r in bounce.recipients if r.address],
        sender=bounce.sender,
        sending_ip=bounce.sending_ip,
        remote_host=first.remote_mta.host if first else None,
    )
