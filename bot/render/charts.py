"""Charts for cards, drawn with matplotlib (imported only when a chart is drawn): the DMARC
report's messages per day (passed DMARC or not) and its biggest sources by bucket.

The picture is a small palette PNG (a few kilobytes), so that it fits inside a Teams card with
the text. Source names come from reverse DNS and reports: they are drawn as plain text, cut short.
"""

from __future__ import annotations

import io

from handlers.dmarc.sources import Bucket, DomainSummary

__all__ = ["dmarc_chart"]

_COLOURS = {
    Bucket.ALIGNED: "#2e7d32",
    Bucket.FIXABLE: "#f9a825",
    Bucket.FORWARDER: "#78909c",
    Bucket.UNKNOWN: "#c62828",
}
_SOURCES = 6


def dmarc_chart(summary: DomainSummary) -> bytes:
    """A PNG of ``summary``: messages per day (stacked: passed, failed) and the biggest sources."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from PIL import Image

    figure = Figure(figsize=(6.4, 2.6), dpi=100)
    days, by_source = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    labels = [day[5:] for day, _n, _a in summary.per_day]  # MM-DD
    passed = [a for _d, _n, a in summary.per_day]
    failed = [n - a for _d, n, a in summary.per_day]
    positions = list(range(len(labels)))
    days.bar(positions, passed, color=_COLOURS[Bucket.ALIGNED])
    days.bar(positions, failed, bottom=passed, color=_COLOURS[Bucket.UNKNOWN])
    step = max(1, len(labels) // 6)
    days.set_xticks(positions[::step], labels[::step], fontsize=7)
    days.tick_params(axis="y", labelsize=7)
    days.set_title("Messages per day (green: passed DMARC, red: failed)", fontsize=8)
    top = summary.sources[:_SOURCES][::-1]
    by_source.barh(
        range(len(top)),
        [s.stats.messages for s in top],
        color=[_COLOURS[s.bucket] for s in top],
    )
    by_source.set_yticks(range(len(top)), [s.name[:24] for s in top], fontsize=7)
    by_source.tick_params(axis="x", labelsize=7)
    by_source.set_title("Biggest sources (colour: bucket)", fontsize=8)
    for axes in (days, by_source):
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    figure.tight_layout()
    raw = io.BytesIO()
    figure.savefig(raw, format="png")
    raw.seek(0)
    small = io.BytesIO()
    Image.open(raw).convert("RGB").quantize(colors=32).save(small, format="PNG", optimize=True)
    return small.getvalue()
