"""The golden Teams cards as Teams users see them: Microsoft's adaptivecards renderer in Chromium.

Every card in tests/teams/golden is rendered with the Teams light and dark host configs (from the
Adaptive Cards designer package) at 450 px (desktop) and 340 px (narrow window / mobile), and
checked for text or boxes past the card's right edge, cut button labels, text runs under WCAG's
4.5:1 contrast, and the Teams message size limit. One node process renders everything once.

Needs node, `npm ci --prefix tests/render` and Debian's chromium; the tests skip without them,
and fail under CI (CI=true), where .ci/run installs them. PNGs of a few key cards and the full
measurements (results.jsonl) are written to $NDRBOT_RENDER_ARTIFACTS or tests/render/artifacts/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.render import harness

TEAMS_SIZE_LIMIT = 28_000  # bytes of card JSON; Teams refuses bot messages over about 28 KB
MIN_CONTRAST = 4.5
KEY_CARDS = (
    "exo_client_host_blocked_spamhaus",
    "exo_bad_outbound_sender_restricted",
    "checklist_ticked",
    "check_card",
    "delisting_draft",
    "dmarc_report",
    "dmarc_ready",
)
CONFIGS = [(h, w) for h in harness.HOSTS for w in harness.WIDTHS]
MAX_ITEMS_PER_CARD = 3
ARTIFACTS = Path(os.environ.get("NDRBOT_RENDER_ARTIFACTS") or harness.HERE / "artifacts")

Result = dict[str, Any]


def _require_renderer() -> None:
    ok, install = harness.available()
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"the Teams render check cannot run under CI; missing: {install}", pytrace=False
        )
    pytest.skip(install)


@pytest.fixture(scope="module")
def rendered() -> harness.RenderRun:
    _require_renderer()
    assert sorted(harness.GOLDEN.glob("*.json")), f"no golden cards in {harness.GOLDEN}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run = harness.run(harness.GOLDEN, png_dir=ARTIFACTS, png_cards=KEY_CARDS)
    with (ARTIFACTS / "results.jsonl").open("w", encoding="utf-8") as out:
        out.write(json.dumps({"meta": run.meta, "done": run.done}) + "\n")
        for r in run.results:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    return run


def _report(
    results: list[Result],
    key: str,
    what: str,
    config: tuple[str, int],
    fmt: Callable[[Any], str],
    severity: Callable[[Any], float],
) -> str:
    """'' when no card has a `key` finding; else one compact line per card, worst card first."""
    bad = [r for r in results if r[key]]
    if not bad:
        return ""
    host, width = config
    lines = [f"{host} @ {width}px: {len(bad)} of {len(results)} cards have {what}"]
    for r in sorted(bad, key=lambda r: (-max(map(severity, r[key])), r["card"])):
        found = sorted(r[key], key=severity, reverse=True)
        items = [fmt(i) for i in found[:MAX_ITEMS_PER_CARD]]
        more = len(found) - MAX_ITEMS_PER_CARD
        lines.append(
            f"  {r['card']}: " + "; ".join(items) + (f"; +{more} more" if more > 0 else "")
        )
    return "\n".join(lines)


def _px(finding: dict[str, Any]) -> float:
    return float(finding["px"])


def _fail_if(message: str) -> None:
    if message:
        pytest.fail(message, pytrace=False)  # the grouped list is the whole story; no traceback


def _quote(text: str, n: int = 50) -> str:
    return json.dumps(text if len(text) <= n else text[: n - 1] + "…", ensure_ascii=False)


def _config(rendered: harness.RenderRun, host: str, width: int) -> list[Result]:
    results = rendered.for_config(host, width)
    assert len(results) == len(list(harness.GOLDEN.glob("*.json"))), "render.mjs skipped cards"
    return results


def _overflow(o: dict[str, Any]) -> str:
    where = {"text": "past the edge", "box": "box past the edge"}.get(o["kind"], o["kind"])
    return f"{_quote(o['text'])} {where} +{o['px']:g}px"


def _cut(b: dict[str, Any]) -> str:
    how = "ellipsis" if b["ellipsis"] else "cut"
    return f"{_quote(b['text'])} {how} -{b['px']:g}px"


def _contrast(c: dict[str, Any]) -> str:
    return f"{_quote(c['text'], 30)} {c['color']} on {c['background']} {c['ratio']:.2f}:1"


# What a reader trips on: the measurement's key, how it is named, one item said, worst first.
TRIPS: dict[str, tuple[str, Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], float]]] = {
    "overflow": ("overflowing content", _overflow, _px),
    "truncated_buttons": ("cut button labels", _cut, _px),
    "low_contrast": (f"text under {MIN_CONTRAST}:1 contrast", _contrast, lambda c: -c["ratio"]),
    "errors": ("renderer warnings", str, lambda _: 0),
}


@pytest.mark.parametrize("trip", list(TRIPS))
@pytest.mark.parametrize(("host", "width"), CONFIGS)
def test_no_golden_card_trips_a_reader(
    rendered: harness.RenderRun, host: str, width: int, trip: str
) -> None:
    what, fmt, worst = TRIPS[trip]
    results = _config(rendered, host, width)
    _fail_if(_report(results, trip, what, (host, width), fmt, worst))


def test_every_golden_card_is_under_the_teams_size_limit(rendered: harness.RenderRun) -> None:
    # size_bytes is json.dumps(card) as the bot sends it; the same for every host config and width
    results = _config(rendered, *CONFIGS[0])
    big = sorted(
        (r for r in results if r["size_bytes"] >= TEAMS_SIZE_LIMIT), key=lambda r: -r["size_bytes"]
    )
    message = "\n".join(
        [f"{len(big)} cards are at or over {TEAMS_SIZE_LIMIT:,} bytes"]
        + [
            f"  {r['card']}: {r['size_bytes']:,} bytes (+{r['size_bytes'] - TEAMS_SIZE_LIMIT:,})"
            for r in big
        ]
    )
    _fail_if(message if big else "")


def test_key_cards_are_saved_as_png(rendered: harness.RenderRun) -> None:
    present = [c for c in KEY_CARDS if (harness.GOLDEN / f"{c}.json").exists()]
    assert present, "none of the key cards has a golden file any more; update KEY_CARDS"
    wanted = [ARTIFACTS / f"{c}--{h}--{w}.png" for c in present for h, w in CONFIGS]
    missing = [p.name for p in wanted if not (p.is_file() and p.stat().st_size > 0)]
    assert not missing, f"PNGs not written to {ARTIFACTS}: {missing}"
