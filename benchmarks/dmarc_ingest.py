"""DMARC aggregate report parsing: typical reports per second, and a 50 MB report's peak memory.

    .venv/bin/python benchmarks/dmarc_ingest.py [--reports 3000] [--parsedmarc PYTHON]

Typical reports are generated like the ones big receivers send (RFC 7489 and RFC 9990 formats,
1 to 6 records, half of them gzip-compressed) and read by ``unpack`` + ``open_report`` over every
record, one core. The 50 MB report (about 180,000 records) is read the same way under
tracemalloc, which prints the peak Python memory. The baseline in the same run: the standard
library's ``xml.etree.ElementTree.fromstring`` over the same XML (a whole tree, no checks), and
parsedmarc 11.1's ``parse_aggregate_report_xml`` when ``--parsedmarc`` names a Python that has it
(it is not a dependency: ``python3 -m venv /tmp/pd && /tmp/pd/bin/pip install parsedmarc``).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.dmarc.report import open_report
from handlers.dmarc.unpack import unpack
from tests.dmarc.build import DAY, Row, report_xml

ROUNDS = 3
_PARSEDMARC = """
import sys, time, json
from parsedmarc import parse_aggregate_report_xml
files = json.load(open(sys.argv[1]))
blobs = [open(f, "rb").read().decode() for f in files]
best = 1e9
for _ in range(3):
    start = time.perf_counter()
    for xml in blobs:
        parse_aggregate_report_xml(xml, ip_db_path=None, offline=True, nameservers=None)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def _typical(n: int, rng: random.Random) -> bytes:
    rows = [
        Row(
            f"{rng.choice((40, 167, 209, 198))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            rng.choice((1, 1, 2, 5, 40, 300)),
            dkim=rng.choice(("pass", "pass", "fail")),
            spf=rng.choice(("pass", "fail")),
            dkim_domain=rng.choice(("contoso.com", "sendgrid.net", "")),
        )
        for _ in range(rng.randint(1, 6))
    ]
    xml = report_xml(
        rows,
        org=rng.choice(("google.com", "Enterprise Outlook", "Yahoo")),
        report_id=f"r{n}",
        begin=DAY - 86400 * (n % 30),
        rfc9990=n % 2 == 0,
    )
    return gzip.compress(xml) if n % 2 else xml


def _read_all(blobs: list[bytes]) -> int:
    records = 0
    for blob in blobs:
        for found in unpack(blob):
            _head, rows = open_report(io.BytesIO(found.xml))
            records += sum(1 for _ in rows)
    return records


def _best(work, *args):  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main(args: argparse.Namespace) -> int:
    rng = random.Random(7)
    blobs = [_typical(n, rng) for n in range(args.reports)]
    xmls = [gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in blobs]
    ours = _best(_read_all, blobs)
    stdlib = _best(lambda: [ET.fromstring(x) for x in xmls])
    print(f"typical reports: {args.reports} ({sum(map(len, blobs)) / 1024:.0f} KiB as sent)")
    print(
        f"  ndrbot (unpack + streaming parse, every record): {args.reports / ours:,.0f} reports/s"
    )
    print(
        f"  baseline, ElementTree.fromstring (whole tree, no checks): {args.reports / stdlib:,.0f} reports/s"
    )
    if args.parsedmarc:
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for n, xml in enumerate(xmls):
                path = Path(tmp) / f"{n}.xml"
                path.write_bytes(xml)
                files.append(str(path))
            listing = Path(tmp) / "files.json"
            listing.write_text(json.dumps(files))
            done = subprocess.run(
                [args.parsedmarc, "-c", _PARSEDMARC, str(listing)],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode == 0:
            theirs = float(done.stdout.strip().splitlines()[-1])
            print(
                f"  parsedmarc 11.1 (parse_aggregate_report_xml, offline): "
                f"{args.reports / theirs:,.0f} reports/s; ndrbot / parsedmarc = {theirs / ours:.2f}x"
            )
        else:
            print(f"  parsedmarc: could not run ({done.stderr.strip().splitlines()[-1:]})")
    else:
        print("  parsedmarc: not measured (pass --parsedmarc PYTHON)")

    rows = [Row(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 3) for n in range(180_000)]
    big = report_xml(rows, report_id="big")
    start = time.perf_counter()
    records = _read_all([big])
    took = time.perf_counter() - start
    tracemalloc.start()  # a second read, traced: tracemalloc slows allocation several-fold
    _read_all([big])
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"large report: {len(big) / 2**20:.0f} MB, {records:,} records in {took:.1f} s "
        f"({records / took:,.0f} records/s); peak Python memory while reading: "
        f"{peak / 2**20:.1f} MB beyond the input itself"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--parsedmarc", help="a Python interpreter with parsedmarc installed")
    sys.exit(main(parser.parse_args()))
