"""Compare the reader with Sisimai's labels on the shared bounce corpus (read in place).

Used by the corpus test (floors) and by ``benchmarks/corpus_accuracy.py`` (the full table).
The corpus may not be copied into this repository; where ``../shared`` is absent, callers skip.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "bounces"
MANIFEST = CORPUS / "manifest.tsv"

# Sisimai's own pseudo-codes (5.0.9xx, 5.9.xxx) never appear on the wire; a reader of the text
# cannot be expected to produce them.
_INTERNAL = re.compile(r"^[45]\.0\.9\d\d$|^[45]\.9\.\d+$")


def corpus_available() -> bool:
    """True when the shared corpus is present beside this checkout."""
    return MANIFEST.is_file()


@dataclass
class Row:
    """One manifest row, with multi-result columns split."""

    file: str
    mta: str
    is_bounce: bool
    statuses: list[str]
    replies: list[str]
    reasons: list[str]
    recipients: list[str]
    notes: str


def rows() -> Iterator[Row]:
    """The manifest's rows."""
    with MANIFEST.open(encoding="utf-8") as handle:
        for raw in csv.DictReader(handle, delimiter="\t"):
            yield Row(
                file=raw["file"],
                mta=raw["mta"],
                is_bounce=raw["is_bounce"] == "yes",
                statuses=raw["expected_status"].split("|"),
                replies=raw["expected_replycode"].split("|"),
                reasons=raw["expected_reason"].split("|"),
                recipients=[r.lower() for r in raw["expected_recipient"].split("|")],
                notes=raw["notes"],
            )


@dataclass
class Tally:
    """Agreement counts for one measure, with the disagreements kept for reading."""

    agree: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, note: str) -> None:
        """Count one comparison."""
        self.total += 1
        if ok:
            self.agree += 1
        else:
            self.misses.append(note)

    @property
    def rate(self) -> float:
        """Agreement as a fraction (1.0 when nothing was compared)."""
        return self.agree / self.total if self.total else 1.0


@dataclass
class Report:
    """All measures over the corpus."""

    detection_bounce: Tally = field(default_factory=Tally)  # bounces read as NDRs
    false_bounce: Tally = field(default_factory=Tally)  # non-bounces NOT read as NDRs
    status: Tally = field(default_factory=Tally)  # wire codes only
    status_internal: Tally = field(
        default_factory=Tally
    )  # Sisimai pseudo-code rows: we give no code
    reply: Tally = field(default_factory=Tally)
    recipient: Tally = field(default_factory=Tally)
    reason: Tally = field(default_factory=Tally)
    errors: list[str] = field(default_factory=list)


def evaluate(read_and_classify: Callable[[bytes], tuple[object, list[str]]]) -> Report:
    """Run ``read_and_classify`` over every corpus file and compare with the manifest.

    The callable returns ``(bounce, reasons)``: the Bounce and one reason per recipient.
    """
    report = Report()
    for row in rows():
        data = (CORPUS / row.file).read_bytes()
        try:
            bounce, reasons = read_and_classify(data)
        except Exception as error:
            report.errors.append(f"{row.file}: {type(error).__name__}: {error}")
            continue
        is_ndr = bool(getattr(bounce, "is_ndr", False))
        if not row.is_bounce:
            report.false_bounce.add(not is_ndr, f"{row.file}: non-bounce read as NDR")
            continue
        report.detection_bounce.add(is_ndr, f"{row.file}: bounce not recognised")
        recipients = list(getattr(bounce, "recipients", ()))
        for index, expected in enumerate(row.recipients):
            got = _match(recipients, expected, index)
            address = _address_of(got)
            report.recipient.add(
                address == expected, f"{row.file}: recipient {expected!r} got {address!r}"
            )
            status = getattr(got, "status", None) if got is not None else None
            want_status = row.statuses[index] if index < len(row.statuses) else ""
            if want_status and _INTERNAL.match(want_status):
                report.status_internal.add(True, "")
            elif want_status:
                report.status.add(
                    status == want_status, f"{row.file}: status {want_status} got {status}"
                )
            want_reply = row.replies[index] if index < len(row.replies) else ""
            if want_reply:
                reply = getattr(got, "reply_code", None) if got is not None else None
                report.reply.add(reply == want_reply, f"{row.file}: reply {want_reply} got {reply}")
            want_reason = row.reasons[index] if index < len(row.reasons) else ""
            if want_reason:
                position = recipients.index(got) if got in recipients else -1
                reason = reasons[position] if 0 <= position < len(reasons) else None
                report.reason.add(
                    reason == want_reason, f"{row.file}: reason {want_reason} got {reason}"
                )
    return report


def _address_of(recipient: object | None) -> str:
    """The address a recipient was read as; for one the text masked (``xxxx@xxxx.fr``, which the
    reader reports as hidden, not as an address), what the text showed."""
    if recipient is None:
        return ""
    address = getattr(recipient, "address", None) or getattr(recipient, "hidden_address", None)
    return (address or "").lower()


def _match(recipients: list[object], expected: str, index: int) -> object | None:
    for recipient in recipients:
        if _address_of(recipient) == expected:
            return recipient
    return recipients[index] if index < len(recipients) else None


def table(report: Report) -> str:
    """The report as a plain-text table."""
    lines = [f"{'measure':<34} {'agree':>6} {'total':>6} {'rate':>7}"]
    for name, tally in (
        ("bounces recognised as NDRs", report.detection_bounce),
        ("non-bounces not called NDRs", report.false_bounce),
        ("status code (wire codes)", report.status),
        ("reply code", report.reply),
        ("recipient", report.recipient),
        ("reason (Sisimai vocabulary)", report.reason),
    ):
        lines.append(f"{name:<34} {tally.agree:>6} {tally.total:>6} {tally.rate:>7.1%}")
    lines.append(f"rows with Sisimai pseudo-codes (not compared): {report.status_internal.total}")
    if report.errors:
        lines.append(f"CRASHES: {len(report.errors)}")
    return "\n".join(lines)
