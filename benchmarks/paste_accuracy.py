"""Print how the reader agrees with the labels of the shared real-paste set.

    .venv/bin/python benchmarks/paste_accuracy.py [--misses]

Reads ../shared/corpus/pastes in place (it may not be copied into this repository). With
``--misses``, every disagreement is listed under its measure.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import load_catalogue
from tests.paste_eval import MEASURES, evaluate, pastes_available, reading_of, table


def main() -> int:
    """Print the agreement table (and every disagreement with --misses)."""
    if not pastes_available():
        print("../shared/corpus/pastes is absent: nothing to measure")
        return 0
    catalogue = load_catalogue()
    report = evaluate(lambda data: reading_of(diagnose(read(data), catalogue)))
    print(table(report))
    if "--misses" in sys.argv:
        measures = [("recognised", report.detection), ("non-bounces", report.false_bounce)]
        measures += [(name, getattr(report.all, attribute)) for name, attribute in MEASURES]
        for name, tally in measures:
            print(f"\n--- {name}: {len(tally.misses)} disagreements")
            for miss in tally.misses:
                print(f"  {miss}")
        print(f"\n--- placeholders: {len(report.placeholders)}")
        for miss in report.placeholders:
            print(f"  {miss}")
    for error in report.errors:
        print(f"CRASH {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
