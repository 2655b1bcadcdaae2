"""Run tests/render/render.mjs (Microsoft's adaptivecards renderer in headless Chromium) from Python.

``available()`` says whether node, the pinned npm packages and a Chromium are here, and if not,
the exact command that installs what is missing. ``run()`` renders card files and returns the
parsed measurements (one dict per card x host config x width; see render.mjs for the fields).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = HERE / "render.mjs"
NODE_MODULES = HERE / "node_modules"
GOLDEN = ROOT / "tests" / "teams" / "golden"
HOSTS = ("teams-light", "teams-dark")
WIDTHS = (450, 340)

APT_CHROMIUM = "apt-get install -y chromium fonts-liberation"
APT_NODE = "apt-get install -y nodejs npm"
NPM_CI = "npm ci --prefix tests/render"

# What render.mjs loads at run time; the designer package is only the source of the Teams host
# configs and the Teams host CSS.
REQUIRED_FILES = (
    "adaptivecards/dist/adaptivecards.min.js",
    "playwright-core/package.json",
    "adaptivecards-designer/lib/hostConfigs/microsoft-teams-light.json",
    "adaptivecards-designer/lib/hostConfigs/microsoft-teams-dark.json",
    "adaptivecards-designer/dist/containers/teams-container-light.css",
    "adaptivecards-designer/dist/containers/teams-container-dark.css",
)
# Teams draws Segoe UI; Liberation Sans (Arial's widths) stands in for it. Without it Chromium
# falls back to the much wider DejaVu Sans and every width measurement is pessimistic.
FONT_GLOBS = ("/usr/share/fonts/**/LiberationSans-Regular.ttf",)


def find_node() -> str | None:
    return shutil.which("node")


def find_chromium() -> str | None:
    explicit = os.environ.get("NDRBOT_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _node_major(node: str) -> int:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def _modules_match_package_json() -> bool:
    """Every file render.mjs needs is there, in the exact versions package.json pins."""
    if not all((NODE_MODULES / f).is_file() for f in REQUIRED_FILES):
        return False
    pins = json.loads((HERE / "package.json").read_text(encoding="utf-8"))["dependencies"]
    for name, version in pins.items():
        installed = NODE_MODULES / name / "package.json"
        if not installed.is_file():
            return False
        if json.loads(installed.read_text(encoding="utf-8")).get("version") != version:
            return False
    return True


def _font_installed() -> bool:
    return any(any(Path("/").glob(g.lstrip("/"))) for g in FONT_GLOBS)


def available() -> tuple[bool, str]:
    """(True, "") when render.mjs can run; else (False, the exact command that installs the rest)."""
    steps: list[str] = []
    if find_chromium() is None or not _font_installed():
        steps.append(APT_CHROMIUM)
    node = find_node()
    if node is None or shutil.which("npm") is None or _node_major(node) < 20:
        steps.append(APT_NODE)  # playwright-core needs node >= 20
    if not _modules_match_package_json():
        steps.append(NPM_CI)
    return (not steps, " && ".join(steps))


@dataclass
class RenderRun:
    meta: dict[str, Any]
    results: list[dict[str, Any]]
    done: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""

    def for_config(self, host: str, width: int) -> list[dict[str, Any]]:
        return [r for r in self.results if r["host"] == host and r["width"] == width]


class RenderError(RuntimeError):
    pass


def run(
    cards: Path | Iterable[Path],
    hosts: Sequence[str] = HOSTS,
    widths: Sequence[int] = WIDTHS,
    png_dir: Path | None = None,
    png_cards: Iterable[str] | None = None,
    timeout: float = 600,
) -> RenderRun:
    """Render card files (or every *.json in a folder) once per host config and width.

    One node process, one browser and one page serve the whole batch.
    """
    node = find_node()
    chromium = find_chromium()
    if node is None or chromium is None:
        raise RenderError(f"renderer not available; install with: {available()[1]}")
    inputs = [str(cards)] if isinstance(cards, Path) else [str(c) for c in cards]
    cmd = [node, str(SCRIPT), "--host", ",".join(hosts), "--width", ",".join(map(str, widths))]
    cmd += ["--chromium", chromium]
    if png_dir is not None:
        cmd += ["--png", str(png_dir)]
        if png_cards is not None:
            cmd += ["--png-cards", ",".join(png_cards)]
    proc = subprocess.run(
        [*cmd, *inputs], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    meta: dict[str, Any] = {}
    done: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if "meta" in obj:
            meta = obj["meta"]
        elif "done" in obj:
            done = obj["done"]
        else:
            results.append(obj)
    if proc.returncode != 0 or not done:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RenderError(f"render.mjs exited {proc.returncode}:\n{tail}")
    return RenderRun(meta=meta, results=results, done=done, stderr=proc.stderr)
