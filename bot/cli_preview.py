"""``ndrbot preview FILE|-``: the card for a bounce as Teams and Slack would show it, in a browser.

Writes one HTML page (``-o``, default ``ndrbot-preview.html``) or serves it on loopback
(``--serve``) until Ctrl-C. The Teams panes use Microsoft's own renderer and Teams host
configs: from ``--assets DIR`` (a ``node_modules`` holding ``adaptivecards`` and
``adaptivecards-designer``, e.g. after ``npm ci --prefix tests/render``), found by itself in a
checkout, or else fetched from the unpkg CDN by the browser when the page opens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import sys
from pathlib import Path

from bot.cli_options import add_dns_options, apply_dns_options
from bot.cli_table import help_for
from bot.render.adaptive import render_adaptive
from bot.render.blockkit import render_blockkit
from bot.render.preview import preview_page
from bot.services import build_services
from bot.settings import Settings, SettingsError
from handlers.cards import diagnosis_card
from handlers.checks.run import run_plan
from handlers.diagnosis import diagnose
from handlers.ndr import ReaderError, read

__all__ = ["register"]

# A checkout's render-test packages, if installed: the page then works offline.
_CHECKOUT_MODULES = Path(__file__).resolve().parents[1] / "tests" / "render" / "node_modules"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``preview`` subcommand."""
    parser = sub.add_parser(
        "preview",
        help=help_for("preview"),
        description="Render the card for one bounce as Teams (light and dark) and Slack show it.",
    )
    parser.add_argument("path", metavar="FILE", help="the bounce: a .eml or text file, '-' stdin")
    parser.add_argument(
        "-o", "--output", default="ndrbot-preview.html", help="where to write the page"
    )
    parser.add_argument(
        "--serve", action="store_true", help="serve the page on 127.0.0.1 instead of writing it"
    )
    parser.add_argument("--port", type=int, default=8765, help="port for --serve (loopback)")
    parser.add_argument(
        "--assets", metavar="DIR", help="node_modules with adaptivecards and its designer"
    )
    parser.add_argument("--no-checks", action="store_true", help="do not run DNS/blocklist checks")
    add_dns_options(parser)
    parser.set_defaults(func=run)


def _modules(assets: str | None) -> Path | None:
    if assets:
        return Path(assets)
    return _CHECKOUT_MODULES if _CHECKOUT_MODULES.is_dir() else None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the page; 0 when written or served, 1 when the bounce cannot be read, 2 on usage."""
    try:
        settings = apply_dns_options(args, settings)
        data = sys.stdin.buffer.read() if args.path == "-" else Path(args.path).read_bytes()
    except SettingsError as error:
        print(f"ndrbot preview: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"ndrbot preview: cannot read {args.path}: {error.strerror}", file=sys.stderr)
        return 1
    services = build_services(settings)
    try:
        bounce = read(data, max_bytes=settings.max_paste_bytes)
    except ReaderError as refusal:
        print(f"ndrbot preview: {refusal}", file=sys.stderr)
        return 1
    diagnosis = diagnose(bounce, services.catalogue)
    checks = (
        []
        if args.no_checks
        else asyncio.run(run_plan(services.dns, diagnosis.plan, dqs_key=settings.spamhaus_dqs_key))
    )
    card = diagnosis_card(diagnosis, services.catalogue, checks, card_id="preview")
    page = preview_page(
        render_adaptive(card),
        render_blockkit(card),
        title=card.title,
        modules=_modules(args.assets),
    )
    if args.serve:
        return _serve(page, args.port)
    Path(args.output).write_text(page, encoding="utf-8")
    print(f"Wrote {args.output}: open it in a browser.")
    return 0


def _serve(page: str, port: int) -> int:
    body = page.encode("utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # the page is the same for every request; nothing worth logging

    with http.server.HTTPServer(("127.0.0.1", port), Handler) as server:
        print(f"Serving the preview on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0
