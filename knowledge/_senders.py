"""Reading ``senders:`` entries (data/senders.yaml) into :class:`SendingService` values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import _fields as f
from ._model import SENDER_KINDS, SendingService

__all__ = ["sending_service"]

_KEY = re.compile(r"[a-z0-9_]{2,40}")
# Lower-case labels of letters, digits, '-' and '_' (SPF names such as _spf.google.com and
# us-_netblocks.mimecast.com), at least two of them, the last alphabetic: never a bare TLD.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?"
_NAME = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")
_MATCH_FIELDS = ("ptr_suffixes", "spf_includes", "dkim_domains", "envelope_domains")
_MAX_FIX = 240


def sending_service(
    file: str, raw: Mapping[str, Any], sources: Mapping[str, str]
) -> SendingService:
    """One service, validated: known fields, DNS names, a known source, a one-line fix."""
    entry = f.Entry(file, str(raw.get("key")), raw)
    entry.check_keys(("key", "name", "kind", "fix", "source"), _MATCH_FIELDS)
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise entry.fail("key must be 2 to 40 characters of a-z, 0-9 and _")
    kind = entry.choice("kind", SENDER_KINDS)
    matched = {field: _names(entry, field) for field in _MATCH_FIELDS}
    if not any(matched.values()):
        raise entry.fail(f"a service needs at least one of: {', '.join(_MATCH_FIELDS)}")
    fix = raw.get("fix")
    if isinstance(fix, str) and len(fix.strip().splitlines()) > 1:
        raise entry.fail("fix must be one line")
    source = raw.get("source")
    if not isinstance(source, str) or source not in sources:
        raise entry.fail(f"source {source!r} is not a known source (see the sources: sections)")
    return SendingService(
        key=key,
        name=entry.text("name", max_len=80),
        ptr_suffixes=matched["ptr_suffixes"],
        spf_includes=matched["spf_includes"],
        dkim_domains=matched["dkim_domains"],
        envelope_domains=matched["envelope_domains"],
        kind=kind,
        fix=entry.text("fix", max_len=_MAX_FIX),
        source=source,
    )


def _names(entry: f.Entry, field: str) -> tuple[str, ...]:
    """A list of lower-case DNS names; a reverse-DNS suffix starts with '.'."""
    values = entry.strings(field)
    for value in values:
        bare = value
        if field == "ptr_suffixes":
            if not value.startswith("."):
                raise entry.fail(f"{field}: {value!r} must start with '.' (a host-name suffix)")
            bare = value[1:]
        if value != value.lower() or len(bare) > 253 or not _NAME.fullmatch(bare):
            raise entry.fail(f"{field}: {value!r} is not a lower-case DNS name")
    if len(set(values)) != len(values):
        raise entry.fail(f"{field} lists a name twice")
    return values
