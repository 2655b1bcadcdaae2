"""The packaged catalogue's YAML, parsed once per content: the parse (plain data) is kept as JSON
in the user's cache folder under the file's SHA-256, so a start-up reads JSON (C, milliseconds)
instead of building YAML nodes in Python. A changed file has another hash and is parsed again;
no cache folder, or one that is not the user's own (0700), means parsing every time."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["cached_parse", "user_cache_dir"]


def user_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/ndrbot`` (or ``~/.cache/ndrbot``), created 0700; None when it cannot
    be, or is not this user's alone."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "ndrbot"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except (OSError, RuntimeError):
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def cached_parse(text: bytes, parse: Any, folder: Path | None) -> Any:
    """``parse(text)``, or the JSON of an earlier parse of the same bytes from ``folder``."""
    if folder is None:
        return parse(text)
    path = folder / f"catalogue-{hashlib.sha256(text).hexdigest()}.json"
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        pass
    doc = parse(text)
    try:
        encoded = json.dumps(doc, ensure_ascii=False)
        if json.loads(encoded) != doc:  # a type JSON cannot carry: keep parsing this one
            return doc
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as out:
            out.write(encoded)
        os.replace(out.name, path)
    except (OSError, TypeError, ValueError):
        pass
    return doc
