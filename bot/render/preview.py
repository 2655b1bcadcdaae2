"""Card -> one HTML page showing it as Teams would (Microsoft's own Adaptive Cards renderer with
the Teams host config) and as Slack would lay it out (a rough drawing of its Block Kit).

For ``ndrbot preview``: an admin sees a card without a Slack or Teams tenant. The page is built
from the same ``render_adaptive`` and ``render_blockkit`` output the bot sends.

The Teams side needs two npm packages: ``adaptivecards`` (the renderer) and
``adaptivecards-designer`` (its Teams host configs). Given a folder holding them (a
``node_modules``), the page carries them inline and works offline; without one it loads the same
pinned versions from the unpkg CDN when opened.

Everything on the page that came from a card is escaped: the card JSON sits in a
``<script type="application/json">`` with every ``<`` written ``\\u003c``, and the Slack drawing is
built from HTML-escaped text. No script on the page but the renderer and the few lines that
call it.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

__all__ = ["ADAPTIVECARDS_VERSION", "DESIGNER_VERSION", "preview_page"]

ADAPTIVECARDS_VERSION = "3.0.6"  # the versions tests/render/package.json pins
DESIGNER_VERSION = "2.4.4"
_RENDERER = ("adaptivecards", "dist/adaptivecards.min.js")
_HOST_CONFIGS = {
    "light": ("adaptivecards-designer", "lib/hostConfigs/microsoft-teams-light.json"),
    "dark": ("adaptivecards-designer", "lib/hostConfigs/microsoft-teams-dark.json"),
}
_CDN = "https://unpkg.com/{package}@{version}/{path}"
# Subresource integrity of the pinned files (sha384 of the npm packages' own files): a CDN that
# serves anything else is refused by the browser. Recompute when the versions change.
_INTEGRITY = {
    _RENDERER[1]: "sha384-M6IdJidOpX9E8ISrXtcfFvFTf4ePKNWDy3pRXxzb/8dro8ceUoIIzcK4higcq/JC",
    _HOST_CONFIGS["light"][1]: (
        "sha384-SyGpxcZql1AdHDG6nYkP2Z52kHtWXDQTQ28buV4hwmCDG8/TwBmggu8wnMfSGPgI"
    ),
    _HOST_CONFIGS["dark"][1]: (
        "sha384-2p3MxnGvwjD8PkGSTTQJkqsfcepErwkbdIl9wXBdwvUkqgdDDaI8LL100sO8zcNm"
    ),
}
_VERSIONS = {"adaptivecards": ADAPTIVECARDS_VERSION, "adaptivecards-designer": DESIGNER_VERSION}


def _json_for_script(value: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _asset(modules: Path | None, package: str, path: str) -> Path | None:
    if modules is None:
        return None
    found = modules / package / path
    return found if found.is_file() else None


def _renderer_tag(modules: Path | None) -> str:
    local = _asset(modules, *_RENDERER)
    if local is not None:
        return (
            "<script>"
            + local.read_text(encoding="utf-8").replace("</script", "<\\/script")
            + ("</script>")
        )
    url = _CDN.format(package=_RENDERER[0], version=ADAPTIVECARDS_VERSION, path=_RENDERER[1])
    sri = _INTEGRITY[_RENDERER[1]]
    return f'<script src="{html.escape(url)}" integrity="{sri}" crossorigin="anonymous"></script>'


def _host_configs(modules: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Inline host configs (from ``modules``) and, for those not found there, their CDN URLs
    with the integrity the browser checks them against."""
    inline: dict[str, Any] = {}
    remote: dict[str, Any] = {}
    for theme, (package, path) in _HOST_CONFIGS.items():
        local = _asset(modules, package, path)
        if local is not None:
            inline[theme] = json.loads(local.read_text(encoding="utf-8"))
        else:
            url = _CDN.format(package=package, version=_VERSIONS[package], path=path)
            remote[theme] = {"url": url, "integrity": _INTEGRITY[path]}
    return inline, remote


# -- Slack, drawn roughly ------------------------------------------------------------------------

_REAL_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>]*)>")
_REAL_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_REAL_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")


_EMOJI = {
    ":red_circle:": "🔴",
    ":warning:": "⚠️",
    ":white_check_mark:": "✅",
    ":heavy_check_mark:": "✔️",
    ":x:": "❌",
    ":grey_question:": "❔",
    ":information_source:": "ℹ️",
}
_SHORTCODE = re.compile("|".join(map(re.escape, _EMOJI)))


def _emoji(text: str) -> str:
    return _SHORTCODE.sub(lambda m: _EMOJI[m.group()], text)


def _unentity(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _mrkdwn(text: str) -> str:
    """Slack's mrkdwn as HTML: links, dates and mentions (Slack's own markup: a raw ``<``; a
    pasted one arrives as ``&lt;`` and stays text), fences, code, bold, italic."""
    kept: list[str] = []

    def keep(piece: str) -> str:
        kept.append(piece)
        return f"\x00{len(kept) - 1}\x00"

    def esc(value: str) -> str:
        return html.escape(_unentity(value))

    text = _REAL_LINK.sub(
        lambda m: keep(f'<a href="{esc(m.group(1))}" rel="noopener">{esc(m.group(2))}</a>'), text
    )
    text = _REAL_DATE.sub(lambda m: keep(esc(m.group(1))), text)
    text = _REAL_MENTION.sub(lambda m: keep(f'<span class="mention">@{m.group(1)}</span>'), text)
    text = _FENCE.sub(lambda m: keep(f"<pre>{esc(m.group(1))}</pre>"), text)
    out = html.escape(_unentity(text), quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<b>\1</b>", out)
    out = _emoji(_ITALIC.sub(r"<i>\1</i>", out)).replace("\n", "<br>")
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], out)


def _slack_block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{_emoji(html.escape(block['text']['text']))}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        texts = " ".join(_mrkdwn(e.get("text", "")) for e in block.get("elements", []))
        return f'<div class="context">{texts}</div>'
    if kind == "actions":
        buttons = "".join(
            f"<button disabled>{html.escape(e['text']['text'])}</button>"
            for e in block.get("elements", [])
        )
        return f'<div class="actions">{buttons}</div>'
    parts = []
    if "text" in block:
        parts.append(f'<div class="text">{_mrkdwn(block["text"]["text"])}</div>')
    if block.get("fields"):
        fields = "".join(f"<div>{_mrkdwn(f['text'])}</div>" for f in block["fields"])
        parts.append(f'<div class="fields">{fields}</div>')
    accessory = block.get("accessory")
    if accessory and accessory.get("type") == "checkboxes":
        ticked = "checked" if accessory.get("initial_options") else ""
        parts.insert(0, f'<input type="checkbox" disabled {ticked}>')
    return f'<div class="section">{"".join(parts)}</div>'


def _slack_html(message: dict[str, Any]) -> str:
    return "\n".join(_slack_block(block) for block in message.get("blocks", []))


_STYLE = """
body { font-family: "Segoe UI", system-ui, sans-serif; margin: 0; background: #f5f5f5; }
main { display: flex; flex-wrap: wrap; gap: 24px; padding: 24px; align-items: flex-start; }
section.pane { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
section.pane h2 { font-size: 14px; margin: 0 0 8px; color: #444; }
#teams-light { width: 450px; } #teams-dark { width: 450px; background: #2d2c2c; }
#teams-dark h2 { color: #ddd; }
#slack { width: 560px; font-family: Lato, "Segoe UI", sans-serif; font-size: 15px; }
#slack .section { margin: 6px 0; display: flex; gap: 8px; align-items: flex-start; }
#slack .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 12px; }
#slack pre { background: #f8f8f8; border: 1px solid #ddd; padding: 6px; white-space: pre-wrap; }
#slack code { background: #f3f3f3; border: 1px solid #ddd; padding: 0 3px; color: #c01343; }
#slack .context { color: #616061; font-size: 13px; margin: 6px 0; }
#slack .mention { background: #e8f5fa; color: #1264a3; }
#slack button { margin-right: 6px; }
"""

_SCRIPT = """
(function () {
  var card = JSON.parse(document.getElementById("card").textContent);
  var inline = JSON.parse(document.getElementById("host-configs").textContent);
  var remote = JSON.parse(document.getElementById("host-config-urls").textContent);
  function draw(theme, config) {
    var target = document.querySelector("#teams-" + theme + " .card");
    var adaptive = new AdaptiveCards.AdaptiveCard();
    adaptive.hostConfig = new AdaptiveCards.HostConfig(config);
    adaptive.parse(card);
    target.appendChild(adaptive.render());
  }
  ["light", "dark"].forEach(function (theme) {
    if (inline[theme]) { draw(theme, inline[theme]); return; }
    fetch(remote[theme].url, { integrity: remote[theme].integrity })
      .then(function (r) { return r.json(); })
      .then(function (config) { draw(theme, config); });
  });
})();
"""


def preview_page(
    adaptive: dict[str, Any], blockkit: dict[str, Any], *, title: str, modules: Path | None
) -> str:
    """The HTML page for one card: Teams light and dark side by side with Slack's layout."""
    inline, remote = _host_configs(modules)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' https://unpkg.com; connect-src https://unpkg.com; style-src 'unsafe-inline'; img-src data:">
<title>ndrbot preview: {html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body><main>
<section class="pane" id="teams-light"><h2>Microsoft Teams (light)</h2><div class="card"></div></section>
<section class="pane" id="teams-dark"><h2>Microsoft Teams (dark)</h2><div class="card"></div></section>
<section class="pane" id="slack"><h2>Slack (approximate layout)</h2>
{_slack_html(blockkit)}
</section>
</main>
<script type="application/json" id="card">{_json_for_script(adaptive)}</script>
<script type="application/json" id="host-configs">{_json_for_script(inline)}</script>
<script type="application/json" id="host-config-urls">{_json_for_script(remote)}</script>
{_renderer_tag(modules)}
<script>{_SCRIPT}</script>
</body></html>
"""
