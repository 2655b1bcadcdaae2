"""The reader against real helpdesk pastes: ../shared/corpus/pastes, read in place.

Log lines, application errors, SMTP sessions, forum-damaged and translated notices, and the
look-alikes that are not bounces, as people posted them. Floors, not targets: each is a little
under what the reader measures today, so a change that reads pastes worse fails here.
``benchmarks/paste_accuracy.py --misses`` prints the table and every disagreement; the labels we
believe are wrong are listed in ``tests/ndr/README.md``.
"""

from __future__ import annotations

import pytest

from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import Catalogue
from tests.paste_eval import Report, evaluate, pastes_available, reading_of

pytestmark = pytest.mark.skipif(
    not pastes_available(),
    reason="the paste set is read in place from ../shared/corpus/pastes, which is absent here",
)


@pytest.fixture(scope="module")
def report(catalogue: Catalogue) -> Report:
    return evaluate(lambda data: reading_of(diagnose(read(data), catalogue)))


def test_no_paste_crashes_the_reader(report: Report) -> None:
    assert report.errors == []


def test_no_placeholder_is_read_as_an_address_or_ip(report: Report) -> None:
    assert report.placeholders == []


def test_no_look_alike_is_called_a_bounce(report: Report) -> None:
    assert report.false_bounce.misses == []


def test_bounces_are_recognised(report: Report) -> None:
    assert report.detection.rate >= 0.99, report.detection.misses


@pytest.mark.parametrize(
    ("measure", "floor"),
    [
        ("status", 0.98),
        ("reply", 0.97),
        ("recipient", 0.93),
        ("sending_ip", 0.96),
        ("family", 0.95),
    ],
)
def test_fields_agree(report: Report, measure: str, floor: float) -> None:
    tally = getattr(report.all, measure)
    assert tally.rate >= floor, tally.misses
