"""The Teams app package: ``deploy/teams/manifest.json`` with its placeholders filled in, and the
two icons, zipped flat (Teams wants the three files at the root of the zip).

Placeholders are ``{{NAME}}`` inside JSON strings; values are JSON-escaped before they go in, and
the result is parsed again, so a value can never change the manifest's structure.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_SOURCE", "PackageError", "PackageInfo", "build_package", "manifest"]

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "deploy" / "teams"
FILES = ("manifest.json", "color.png", "outline.png")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same inputs make the same zip


class PackageError(ValueError):
    """The package cannot be built as asked; the message says what to change."""


@dataclass(frozen=True)
class PackageInfo:
    """What goes into the manifest."""

    app_id: str  # the bot's Microsoft App ID (MICROSOFT_APP_ID), also the Teams app id
    version: str  # MAJOR.MINOR.PATCH; raise it for every upload of a changed package
    developer: str = "IT Helpdesk"
    website: str = "https://example.com/ndrbot"
    privacy: str = "https://example.com/ndrbot/privacy"
    terms: str = "https://example.com/ndrbot/terms"

    def check(self) -> None:
        """Raise :class:`PackageError` for values Teams would refuse at upload."""
        if not _GUID.match(self.app_id):
            raise PackageError(
                f"MICROSOFT_APP_ID: {self.app_id!r} is not a GUID; use the Application (client) ID "
                "of the bot's Microsoft Entra app registration"
            )
        if not _SEMVER.match(self.version):
            raise PackageError(f"version {self.version!r} is not MAJOR.MINOR.PATCH (e.g. 1.0.3)")
        for name, url in (
            ("website", self.website),
            ("privacy", self.privacy),
            ("terms", self.terms),
        ):
            if not url.startswith("https://"):
                raise PackageError(f"the {name} URL must start with https:// (got {url!r})")


def manifest(template: str, info: PackageInfo) -> dict[str, Any]:
    """The manifest ``template`` (JSON text) with every placeholder filled in from ``info``."""
    values = {
        "MICROSOFT_APP_ID": info.app_id.lower(),
        "VERSION": info.version,
        "DEVELOPER_NAME": info.developer,
        "WEBSITE_URL": info.website,
        "PRIVACY_URL": info.privacy,
        "TERMS_URL": info.terms,
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise PackageError(f"manifest.json has an unknown placeholder {{{{{name}}}}}")
        return json.dumps(values[name])[1:-1]  # escaped for the inside of a JSON string

    filled: dict[str, Any] = json.loads(_PLACEHOLDER.sub(fill, template))
    return filled


def build_package(info: PackageInfo, output: Path, source: Path = DEFAULT_SOURCE) -> Path:
    """Write the upload zip to ``output`` and return its path."""
    info.check()
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise PackageError(
            f"{source} lacks {', '.join(missing)}; run from a source checkout of ndrbot "
            "or pass --source with the deploy/teams directory"
        )
    filled = manifest((source / "manifest.json").read_text(encoding="utf-8"), info)
    output.parent.mkdir(parents=True, exist_ok=True)
    contents = {
        "manifest.json": (json.dumps(filled, indent=2, ensure_ascii=False) + "\n").encode(),
        **{name: (source / name).read_bytes() for name in FILES[1:]},
    }
    with zipfile.ZipFile(output, "w") as archive:
        for name, data in contents.items():
            entry = zipfile.ZipInfo(name, _ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return output
