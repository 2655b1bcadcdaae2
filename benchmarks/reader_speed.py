"""Reader and classifier speed: the whole corpus in one process, and a 2 MB paste.

    .venv/bin/python benchmarks/reader_speed.py

Prints messages per second over the corpus (read + classify, one core), the slowest message, and
the time for a 2 MB paste. The baselines in the same run: the standard library's own MIME parser
over the same bytes (the share of our time that is parsing we could not avoid), and, when Debian's
libsisimai-perl is installed, Sisimai through ../shared/peers/sisimai-as-ndrbot on the same files
(its net rate: one process over all files, minus one over a single file, i.e. without start-up).

Ours is net of start-up too: the reader's patterns and the catalogue's index are prepared before
the clock starts, as ``ndrbot serve`` prepares them at start (``compile_all``, ``prepare_index``);
nothing is cached between rounds but what a server keeps from one bounce to the next.
"""

from __future__ import annotations

import email
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.diagnosis import diagnose
from handlers.ndr import DEFAULT_MAX_BYTES, read
from handlers.ndr.lazyre import compile_all
from handlers.variants import prepare_index
from knowledge import load_catalogue
from tests.corpus_eval import CORPUS, corpus_available

ROUNDS = 5
SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "ndr" / "samples"
SISIMAI = Path(__file__).resolve().parents[2] / "shared" / "peers" / "sisimai-as-ndrbot"


def _sisimai_seconds(paths: list[Path]) -> float | None:
    """Sisimai's net time for ``paths`` (best of ROUNDS), or None when it is not installed."""
    perl = shutil.which("perl")
    if perl is None or not SISIMAI.is_file():
        return None
    probe = subprocess.run([perl, "-MSisimai", "-e", "1"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None

    def run(files: list[Path]) -> float:
        start = time.perf_counter()
        subprocess.run(
            [perl, str(SISIMAI), "diagnose", "--json", "--no-checks", *map(str, files)],
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - start

    whole = min(run(paths) for _ in range(ROUNDS))
    start_up = min(run(paths[:1]) for _ in range(ROUNDS))
    return whole - start_up


def main() -> int:
    """Run the measurements and print them."""
    catalogue = load_catalogue()
    compile_all()  # start-up, as the server does it: not part of the reading rate
    prepare_index(catalogue)
    if corpus_available():
        files = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.eml"))]
        total_bytes = sum(len(d) for _, d in files)
        best_ours = best_stdlib = float("inf")
        per_file: dict[str, float] = {}
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for name, data in files:
                t0 = time.perf_counter()
                diagnose(read(data), catalogue)
                per_file[name] = min(per_file.get(name, float("inf")), time.perf_counter() - t0)
            best_ours = min(best_ours, time.perf_counter() - start)
            start = time.perf_counter()
            for _, data in files:
                email.message_from_bytes(data)
            best_stdlib = min(best_stdlib, time.perf_counter() - start)
        slowest = max(per_file, key=per_file.__getitem__)
        theirs = _sisimai_seconds(sorted(CORPUS.glob("*.eml")))
        print(
            f"corpus: {len(files)} messages, {total_bytes / 1024:.0f} KiB, best of {ROUNDS} rounds"
        )
        print(f"  read + classify: {best_ours:.3f} s = {len(files) / best_ours:,.0f} messages/s")
        print(
            f"  baseline (email.message_from_bytes only): {best_stdlib:.3f} s = {len(files) / best_stdlib:,.0f} messages/s"
        )
        if theirs is None:
            print("  Sisimai: not installed (apt-get install -y libsisimai-perl) - no ratio")
        else:
            rate = (len(files) - 1) / theirs
            print(
                f"  Sisimai, net of start-up: {theirs:.3f} s = {rate:,.0f} messages/s; "
                f"ndrbot / Sisimai = {len(files) / best_ours / rate:.2f}x (target >= 2x)"
            )
        print(f"  median per message: {statistics.median(per_file.values()) * 1000:.2f} ms")
        print(
            f"  slowest: {slowest} ({per_file[slowest] * 1000:.1f} ms, {len(dict(files)[slowest]) / 1024:.0f} KiB)"
        )
    else:
        print("corpus absent: skipping the corpus run")

    samples = [p.read_bytes() for p in sorted(SAMPLES.glob("*.txt"))]
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(50):
            for data in samples:
                diagnose(read(data), catalogue)
        best = min(best, time.perf_counter() - start)
    count = 50 * len(samples)
    print(
        f"typical pastes (tests/ndr/samples/*.txt, {len(samples)} texts x 50): {count / best:,.0f} pastes/s"
    )

    filler = "This is a line from a long quoted thread that someone pasted with the bounce.\n"
    paste = "Remote Server returned '550 5.7.1 Unable to relay'\n" + filler * (
        (DEFAULT_MAX_BYTES - 200) // len(filler)
    )
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        diagnose(read(paste), catalogue)
        timings.append(time.perf_counter() - start)
    print(
        f"2 MB paste ({len(paste.encode()) / 1024 / 1024:.2f} MB): best {min(timings):.3f} s (target <= 0.100 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
