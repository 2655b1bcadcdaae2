"""Print how the reader agrees with Sisimai's labels on the shared bounce corpus.

    .venv/bin/python benchmarks/corpus_accuracy.py [--misses]

Reads ../shared/corpus/bounces in place (it may not be copied into this repository).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import load_catalogue
from tests.corpus_eval import corpus_available, evaluate, table


def main() -> int:
    """Print the agreement table (and every disagreement with --misses)."""
    if not corpus_available():
        print("../shared/corpus/bounces is absent: nothing to measure")
        return 0
    catalogue = load_catalogue()

    def read_and_classify(data: bytes) -> tuple[object, list[str]]:
        bounce = read(data)
        return bounce, list(diagnose(bounce, catalogue).reasons)

    report = evaluate(read_and_classify)
    print(table(report))
    if "--misses" in sys.argv:
        for name in ("detection_bounce", "false_bounce", "status", "reply", "recipient", "reason"):
            tally = getattr(report, name)
            print(f"\n--- {name}: {len(tally.misses)} disagreements")
            for miss in tally.misses:
                print(f"  {miss}")
    for error in report.errors:
        print(f"CRASH {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
