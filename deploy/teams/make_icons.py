"""Draw the Teams app icons with the standard library only (zlib + struct PNG writer).

    python deploy/teams/make_icons.py      # rewrites color.png and outline.png beside this file

Teams wants a 192x192 full-colour icon and a 32x32 outline icon that is white on a transparent
background. Both show an envelope with a return arrow (a bounced mail). Drawing is deterministic,
so the committed PNGs are exactly what this script writes; a test checks that.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (0x1F, 0x4E, 0x79)  # the manifest's accentColor
WHITE = (255, 255, 255)

Point = tuple[float, float]
Segment = tuple[Point, Point]

# The drawing, in a unit square (x right, y down).
ENVELOPE: tuple[Segment, ...] = (
    ((0.18, 0.34), (0.82, 0.34)),
    ((0.82, 0.34), (0.82, 0.76)),
    ((0.82, 0.76), (0.18, 0.76)),
    ((0.18, 0.76), (0.18, 0.34)),
    ((0.18, 0.34), (0.50, 0.58)),
    ((0.50, 0.58), (0.82, 0.34)),
)
ARROW: tuple[Segment, ...] = (
    ((0.70, 0.22), (0.34, 0.22)),  # the shaft, pointing back (left)
    ((0.34, 0.22), (0.43, 0.14)),  # the head
    ((0.34, 0.22), (0.43, 0.30)),
)


def png(width: int, height: int, rgba: Sequence[int]) -> bytes:
    """An 8-bit RGBA PNG (RFC 2083): signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(rgba[y * width * 4 : (y + 1) * width * 4]) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _distance(p: Point, segment: Segment) -> float:
    (ax, ay), (bx, by) = segment
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def _nearest(segments: Sequence[Segment]) -> Callable[[Point], float]:
    return lambda p: min(_distance(p, s) for s in segments)


def coverage(size: int, distance: Callable[[Point], float], half_width: float) -> list[float]:
    """How much of each pixel lies within ``half_width`` of the drawing, supersampled 4 x 4
    where a pixel straddles an edge (pixels far inside or outside are decided at their centre)."""
    samples, reach = 4, math.sqrt(0.5) / size  # reach: centre to corner of a pixel
    out = []
    for y in range(size):
        for x in range(size):
            centre = distance(((x + 0.5) / size, (y + 0.5) / size))
            if centre > half_width + reach:
                out.append(0.0)
            elif centre < half_width - reach:
                out.append(1.0)
            else:
                hits = sum(
                    distance(((x + (i + 0.5) / samples) / size, (y + (j + 0.5) / samples) / size))
                    <= half_width
                    for i in range(samples)
                    for j in range(samples)
                )
                out.append(hits / (samples * samples))
    return out


def color_icon(size: int = 192) -> bytes:
    """White envelope and arrow on the accent colour, full bleed."""
    pixels: list[int] = []
    for c in coverage(size, _nearest(ENVELOPE + ARROW), 0.0275):
        pixels += [round(a + (w - a) * c) for a, w in zip(ACCENT, WHITE, strict=True)] + [255]
    return png(size, size, pixels)


def outline_icon(size: int = 32) -> bytes:
    """White envelope and arrow on transparency (alpha carries the shape)."""
    pixels: list[int] = []
    for c in coverage(size, _nearest(ENVELOPE + ARROW), 0.04):
        pixels += [*WHITE, round(255 * c)]
    return png(size, size, pixels)


def main() -> None:
    """Write color.png and outline.png next to this script."""
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())


if __name__ == "__main__":
    main()
