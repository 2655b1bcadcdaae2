"""The packaged catalogue's YAML, parsed once per content: the parse (plain data) is kept as JSON
in the user's cache folder, so a start-up reads JSON (C, milliseconds) instead of building YAML
nodes in Python.

Each file's cache is named by the file and the SHA-256 of its bytes and of :data:`FORMAT` (bumped
whenever the parse changes), so a changed file or parser is parsed again, and the older cache of
that file is removed. No cache folder, or one that is not the user's own (a real 0700 folder,
not a link), means parsing every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "cached_parse", "user_cache_dir"]

# Bump when _parse_yaml or what it is given changes; the Python version rides along.
FORMAT = f"yaml-safe-1|py{sys.version_info[0]}.{sys.version_info[1]}"


def user_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/ndrbot`` (or ``~/.cache/ndrbot``), created 0700; None when it cannot
    be, or is not this user's own real folder."""
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "ndrbot"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except (OSError, RuntimeError, KeyError):  # no home, no rights
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as file:
        return file.read()


def cached_parse(name: str, text: bytes, parse: Any, folder: Path | None) -> Any:
    """``parse(text)``, or the JSON of an earlier parse of the same bytes (file ``name``)."""
    if folder is None:
        return parse(text)
    stem = "catalogue-" + hashlib.sha256(name.encode()).hexdigest()[:16]
    digest = hashlib.sha256(FORMAT.encode() + b"\0" + text).hexdigest()
    path = folder / f"{stem}-{digest}.json"
    try:
        return json.loads(_read(path))
    except (OSError, ValueError):
        pass
    doc = parse(text)
    try:
        encoded = json.dumps(doc, ensure_ascii=False)
        if json.loads(encoded) != doc:  # a type JSON cannot carry: keep parsing this one
            return doc
        out = tempfile.NamedTemporaryFile(  # noqa: SIM115 (removed below if it cannot be kept)
            "w", encoding="utf-8", dir=folder, delete=False, suffix=".tmp"
        )
        try:
            with out:
                out.write(encoded)
            os.replace(out.name, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(out.name)
            raise
        for older in folder.glob(f"{stem}-*.json"):  # this file's parses of earlier contents
            if older != path:
                with contextlib.suppress(OSError):
                    older.unlink()
    except (OSError, TypeError, ValueError):
        pass
    return doc
