"""``ndrbot preview``: the page an admin opens to see a card as Teams and Slack show it.

The page itself is checked without a browser (what it carries, and that nothing from a paste can
run or link); then it is opened in Chromium with Microsoft's renderer, as an admin would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from bot.render.adaptive import render_adaptive
from bot.render.blockkit import render_blockkit
from bot.render.preview import _INTEGRITY, preview_page
from handlers.card import Card, Fact, LinkItem, Tone
from tests.render import harness

SAMPLE = harness.ROOT / "tests" / "ndr" / "samples" / "restricted_sender_quoted.txt"
EVIL = "</script><script>alert(1)</script> <https://evil.example|click> <img src=x onerror=1>"


def _card_json(page: str) -> object:
    match = re.search(r'<script type="application/json" id="card">(.*?)</script>', page, re.S)
    assert match, "the page carries the card"
    return json.loads(match.group(1))


def test_the_page_carries_the_card_and_nothing_from_a_paste_can_run_or_link() -> None:
    card = Card(
        EVIL,
        Tone.ERROR,
        summary=EVIL,
        facts=(Fact("Sender", EVIL),),
        quote=EVIL,
        links=(LinkItem("Portal", "https://admin.exchange.microsoft.com/"),),
    )
    adaptive = render_adaptive(card)
    page = preview_page(adaptive, render_blockkit(card), title=EVIL, modules=None)
    assert _card_json(page) == adaptive
    # Only the page's own scripts: the card JSON, two host config blocks, the renderer, the call.
    assert page.count("<script") == 5 and "alert(1)</script>" not in page
    assert "<img" not in page.lower()  # the paste's tag only as \u003c-escaped JSON or &lt;
    links = re.findall(r'<a href="([^"]+)"', page)
    assert links == ["https://admin.exchange.microsoft.com/"]
    # Without a local copy of the renderer the browser fetches the pinned version.
    assert "https://unpkg.com/adaptivecards@3.0.6/dist/adaptivecards.min.js" in page
    assert 'integrity="sha384-' in page and '"integrity": "sha384-' in page


def test_the_pinned_integrity_is_that_of_the_pinned_packages() -> None:
    if not harness.NODE_MODULES.is_dir():
        pytest.skip(harness.NPM_CI)
    for path, expected in _INTEGRITY.items():
        package = "adaptivecards" if path.startswith("dist/") else "adaptivecards-designer"
        data = (harness.NODE_MODULES / package / path).read_bytes()
        digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert expected == f"sha384-{digest}", path


def _require_browser() -> str:
    ok, install = harness.available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the preview check cannot run under CI; missing: {install}")
        pytest.skip(install)
    chromium = harness.find_chromium()
    assert chromium is not None
    return chromium


def test_ndrbot_preview_draws_the_card_for_teams_and_slack(tmp_path: Path) -> None:
    chromium = _require_browser()
    page = tmp_path / "preview.html"
    status = main(
        [
            "preview",
            str(SAMPLE),
            "--no-checks",
            "--assets",
            str(harness.NODE_MODULES),
            "-o",
            str(page),
        ]
    )
    assert status == 0
    # With --assets the renderer and host configs are inline: the page works offline.
    assert "unpkg.com/adaptivecards" not in page.read_text(encoding="utf-8")
    out = subprocess.run(
        ["node", str(harness.HERE / "page.mjs"), str(page), chromium],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    seen = json.loads(out)
    assert seen["errors"] == []
    title = "Microsoft 365 has blocked this account from sending"
    for theme in ("light", "dark"):
        assert seen[theme]["drawn"], theme
        assert title in seen[theme]["text"] and "Checklist" in seen[theme]["text"]
        assert seen[theme]["over"] <= 0, f"{theme}: {seen[theme]['over']} px past the card"
    assert title in seen["slack"]
