"""Settings: read once, from the environment (and an optional ``.env`` file), in one place.

Nothing else in ndrbot reads ``os.environ``. A bad value stops start-up with a message that names
the setting, so an operator never has to guess which one is wrong.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["Settings", "SettingsError", "load_dotenv", "parse_nameserver", "parse_nameservers"]

DEFAULT_MAX_PASTE_BYTES = 2 * 1024 * 1024


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected."""


def parse_nameserver(text: str, *, setting: str = "nameserver") -> tuple[str, int]:
    """Parse ``HOST[:PORT]`` (IPv6 as ``[::1]:53`` or bare ``::1``) into ``(ip, port)``.

    Only IP addresses are accepted: resolving a resolver's own name would need a resolver.
    """
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise SettingsError(f"{setting}: {text!r} has '[' without ']'")
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise SettingsError(f"{setting}: {text!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise SettingsError(
            f"{setting}: {text!r} is not an IP address (expected HOST[:PORT], e.g. 127.0.0.1:5353)"
        ) from None
    port = 53
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"{setting}: {text!r} has a bad port (expected 1-65535)")
        port = int(port_text)
    return str(ip), port


def parse_nameservers(
    text: str, *, setting: str = "NDRBOT_NAMESERVERS"
) -> tuple[tuple[str, int], ...]:
    """Parse a comma-separated list of ``HOST[:PORT]``."""
    items = [item for item in (part.strip() for part in text.split(",")) if item]
    return tuple(parse_nameserver(item, setting=setting) for item in items)


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name}: {raw!r} must be at least {minimum}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise SettingsError(f"{name}: {raw!r} must be a whole number of at least {minimum}")
    return int(raw)


def load_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines from a ``.env`` file (no interpolation; quotes stripped)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :]
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class Settings:
    """Every setting ndrbot has. Build it with :meth:`from_env`."""

    nameservers: tuple[tuple[str, int], ...] = ()  # empty: the system's resolvers
    dns_timeout: float = 3.0  # seconds per query
    check_deadline: float = 10.0  # seconds for one whole check
    spamhaus_dqs_key: str | None = field(default=None, repr=False)
    max_paste_bytes: int = DEFAULT_MAX_PASTE_BYTES

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: Path | None = None
    ) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``) over an optional ``.env`` file."""
        merged: dict[str, str] = {}
        if dotenv is not None:
            merged.update(load_dotenv(dotenv))
        merged.update(os.environ if env is None else env)
        return cls(
            nameservers=parse_nameservers(merged.get("NDRBOT_NAMESERVERS", "")),
            dns_timeout=_float(merged, "NDRBOT_DNS_TIMEOUT", 3.0, minimum=0.05),
            check_deadline=_float(merged, "NDRBOT_CHECK_DEADLINE", 10.0, minimum=0.1),
            spamhaus_dqs_key=merged.get("NDRBOT_SPAMHAUS_DQS_KEY", "").strip() or None,
            max_paste_bytes=_int(
                merged, "NDRBOT_MAX_PASTE_BYTES", DEFAULT_MAX_PASTE_BYTES, minimum=1024
            ),
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some values replaced (CLI flags override the environment)."""
        return replace(self, **changes)  # type: ignore[arg-type]
