"""The reader against real bounces: Sisimai's public test set, read in place from ../shared.

Floors, not targets: each is a little under what the reader measures today, so a change that
makes reading worse fails here. ``benchmarks/corpus_accuracy.py`` prints the full table and every
disagreement.
"""

from __future__ import annotations

import pytest

from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import Catalogue
from tests.corpus_eval import corpus_available, evaluate

pytestmark = pytest.mark.skipif(
    not corpus_available(),
    reason="the bounce corpus is read in place from ../shared/corpus/bounces, which is absent here",
)

# Non-bounces in the manifest that are in fact bounces for a helpdesk: Sisimai does not parse
# this one, but it says plainly "an email you sent was rejected ... reject reason: Mailbox full".
BOUNCES_SISIMAI_MISSES = {"sisimai-not-rb-issue-368-bug.eml"}


@pytest.fixture(scope="module")
def report(catalogue: Catalogue):  # type: ignore[no-untyped-def]
    def read_and_classify(data: bytes) -> tuple[object, list[str]]:
        bounce = read(data)
        return bounce, list(diagnose(bounce, catalogue).reasons)

    return evaluate(read_and_classify)


def test_no_input_crashes_the_reader(report) -> None:  # type: ignore[no-untyped-def]
    assert report.errors == []


def test_no_non_bounce_is_called_a_bounce(report) -> None:  # type: ignore[no-untyped-def]
    wrongly = {miss.split(":")[0] for miss in report.false_bounce.misses}
    assert wrongly <= BOUNCES_SISIMAI_MISSES


def test_bounces_are_recognised(report) -> None:  # type: ignore[no-untyped-def]
    assert report.detection_bounce.rate >= 0.995, report.detection_bounce.misses


def test_status_codes_agree(report) -> None:  # type: ignore[no-untyped-def]
    assert report.status.rate >= 0.985, report.status.misses


def test_reply_codes_agree(report) -> None:  # type: ignore[no-untyped-def]
    assert report.reply.rate >= 0.945, report.reply.misses


def test_recipients_agree(report) -> None:  # type: ignore[no-untyped-def]
    assert report.recipient.rate >= 0.98, report.recipient.misses


def test_reasons_agree(report) -> None:  # type: ignore[no-untyped-def]
    assert report.reason.rate >= 0.85, report.reason.misses
