"""``ndrbot teams-package``: build the Teams app package (zip) to upload, with the bot's app id
from ``MICROSOFT_APP_ID`` filled into the manifest."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

from bot.cli_table import help_for
from bot.settings import Settings

__all__ = ["register", "run"]


def _default_version() -> str:
    try:
        return installed_version("ndrbot")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0.1.0"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``teams-package`` subcommand."""
    parser = sub.add_parser(
        "teams-package",
        help=help_for("teams-package"),
    )
    parser.add_argument(
        "--output", "-o", type=Path, default=Path("ndrbot-teams.zip"), help="the zip to write"
    )
    parser.add_argument(
        "--app-version",
        default=None,
        help="the app's version, MAJOR.MINOR.PATCH (default: ndrbot's); raise it for each upload",
    )
    parser.add_argument("--developer", default="IT Helpdesk", help="publisher name shown in Teams")
    parser.add_argument("--website", default="https://example.com/ndrbot", help="https URL")
    parser.add_argument("--privacy-url", default="https://example.com/ndrbot/privacy")
    parser.add_argument("--terms-url", default="https://example.com/ndrbot/terms")
    parser.add_argument(
        "--source", type=Path, default=None, help="the deploy/teams directory (manifest, icons)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the zip; exit 2 with a message when it cannot be built."""
    from bot.teams.package import DEFAULT_SOURCE, PackageError, PackageInfo, build_package

    if not settings.microsoft_app_id:
        print(
            "ndrbot: MICROSOFT_APP_ID is not set: the Teams package needs the bot's app id "
            "(the Application (client) ID of its Azure Bot registration)",
            file=sys.stderr,
        )
        return 2
    info = PackageInfo(
        app_id=settings.microsoft_app_id,
        version=args.app_version or _default_version(),
        developer=args.developer,
        website=args.website,
        privacy=args.privacy_url,
        terms=args.terms_url,
    )
    try:
        path = build_package(info, args.output, args.source or DEFAULT_SOURCE)
    except (PackageError, OSError) as error:
        print(f"ndrbot: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {path} (app id {info.app_id}, version {info.version}).")
    print("Upload it in Teams: Apps > Manage your apps > Upload an app.")
    return 0
