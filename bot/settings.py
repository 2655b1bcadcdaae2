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

# A name that must exist: its NXDOMAIN marks a resolver that lies (handlers.checks.resolver).
DEFAULT_DNS_PROBE = "a.root-servers.net"

__all__ = [
    "DEFAULT_DNS_PROBE",
    "Settings",
    "SettingsError",
    "load_dotenv",
    "parse_nameserver",
    "parse_nameservers",
]

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


def _database(value: str) -> str:
    """``NDRBOT_DB``: an SQLite file path, or a ``postgresql://`` URL (nothing else with a
    scheme: a typo there would otherwise become a folder name)."""
    scheme, sep, _rest = value.partition("://")
    if sep and scheme not in ("postgresql", "postgres"):
        shown = value.split("@")[-1] if "@" in value else value  # never a password
        raise SettingsError(
            f"NDRBOT_DB: {scheme}://...{shown[-40:]!r} is neither a file path nor a"
            " postgresql:// URL"
        )
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


def _secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or default
    for option in allowed:
        if raw.lower() == option.lower():
            return option
    raise SettingsError(f"{name}: {raw!r} is not one of {', '.join(allowed)}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item for item in (part.strip() for part in env.get(name, "").split(",")) if item)


@dataclass(frozen=True)
class Settings:
    """Every setting ndrbot has. Build it with :meth:`from_env`. Secrets never appear in repr."""

    # DNS and reading
    nameservers: tuple[tuple[str, int], ...] = ()  # empty: the system's resolvers
    dns_timeout: float = 3.0  # seconds per query
    check_deadline: float = 10.0  # seconds for one whole check
    # A name that must exist: "no such record" answers count only once it resolves ("": off).
    dns_probe: str = DEFAULT_DNS_PROBE
    log_format: str = "text"  # "text" or "json" (one object per line, for log collectors)
    metrics: bool = False  # serve /metrics (NDRBOT_METRICS=1, or implied by a metrics token)
    metrics_token: str | None = field(default=None, repr=False)
    spamhaus_dqs_key: str | None = field(default=None, repr=False)
    max_paste_bytes: int = DEFAULT_MAX_PASTE_BYTES
    # Server
    host: str = "127.0.0.1"
    port: int = 3978
    db_path: str = field(default="ndrbot.sqlite3", repr=False)  # a URL may carry a password
    # Slack
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)  # Socket Mode when set
    slack_api_url: str = "https://slack.com/api/"
    # Teams (Bot Framework)
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = field(default=None, repr=False)
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    # Commands and alerts
    admins: tuple[str, ...] = ()  # Slack user/user-group ids, Teams AAD object ids
    alert_slack_channel: str | None = None
    alert_teams_conversation: str | None = None
    intake_token: str | None = field(default=None, repr=False)
    ip_watch_interval: int = 30 * 60
    domain_watch_interval: int = 6 * 60 * 60
    watch_concurrency: int = 20
    # seconds a replica's claim on one alert delivery lasts (longer than a post can take: Slack's
    # client gives up after 30 s per call); after a crash, another replica takes over
    outbox_lease: int = 120
    workers: int = 8  # chat answers worked on at once (the rest wait, acknowledged)
    unknown_alert_after: int = 3  # consecutive unknown runs before "cannot check" alerts
    burst_threshold: int = 5  # bounces of one family and sender domain ...
    burst_window: int = 15 * 60  # ... within this many seconds make one trend alert
    commands_per_minute: int = 10
    # /dmarcready's gates (percentages as given, e.g. 98 and 99.5)
    dmarc_min_days: int = 30
    dmarc_min_messages: int = 1000
    dmarc_quarantine_share: float = 98.0
    dmarc_reject_share: float = 99.5
    dmarc_source_share: float = 98.0
    dmarc_quiet_days: int = 14
    # DMARC alerts
    dmarc_new_source_messages: int = 100
    dmarc_drop_points: float = 5.0
    dmarc_keep_raw_days: int = 180  # raw reports kept for audit; their records stay
    dmarc_domains: tuple[str, ...] = ()  # reports taken only for these (and subdomains)
    ip_db: str | None = None  # an MMDB file (IPinfo Lite, DB-IP Lite): networks of sources

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: Path | None = None
    ) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``) over an optional ``.env`` file."""
        merged: dict[str, str] = {}
        if dotenv is not None:
            merged.update(load_dotenv(dotenv))
        merged.update(os.environ if env is None else env)
        settings = cls(
            nameservers=parse_nameservers(merged.get("NDRBOT_NAMESERVERS", "")),
            dns_timeout=_float(merged, "NDRBOT_DNS_TIMEOUT", 3.0, minimum=0.05),
            check_deadline=_float(merged, "NDRBOT_CHECK_DEADLINE", 10.0, minimum=0.1),
            dns_probe=merged.get("NDRBOT_DNS_PROBE", DEFAULT_DNS_PROBE).strip(),
            log_format=_choice(merged, "NDRBOT_LOG_FORMAT", "text", ("text", "json")),
            metrics=merged.get("NDRBOT_METRICS", "").strip().lower() in ("1", "true", "yes")
            or bool(_secret(merged, "NDRBOT_METRICS_TOKEN")),
            metrics_token=_secret(merged, "NDRBOT_METRICS_TOKEN"),
            spamhaus_dqs_key=_secret(merged, "NDRBOT_SPAMHAUS_DQS_KEY"),
            max_paste_bytes=_int(
                merged, "NDRBOT_MAX_PASTE_BYTES", DEFAULT_MAX_PASTE_BYTES, minimum=1024
            ),
            host=merged.get("NDRBOT_HOST", "").strip() or "127.0.0.1",
            port=_int(merged, "NDRBOT_PORT", 3978, minimum=1),
            db_path=_database(merged.get("NDRBOT_DB", "").strip() or "ndrbot.sqlite3"),
            slack_bot_token=_secret(merged, "SLACK_BOT_TOKEN"),
            slack_signing_secret=_secret(merged, "SLACK_SIGNING_SECRET"),
            slack_app_token=_secret(merged, "SLACK_APP_TOKEN"),
            slack_api_url=merged.get("SLACK_API_URL", "").strip() or "https://slack.com/api/",
            microsoft_app_id=_secret(merged, "MICROSOFT_APP_ID"),
            microsoft_app_password=_secret(merged, "MICROSOFT_APP_PASSWORD"),
            microsoft_app_tenant_id=_secret(merged, "MICROSOFT_APP_TENANT_ID"),
            microsoft_app_type=_choice(
                merged,
                "MICROSOFT_APP_TYPE",
                "MultiTenant",
                ("MultiTenant", "SingleTenant", "UserAssignedMSI"),
            ),
            admins=_list(merged, "NDRBOT_ADMINS"),
            alert_slack_channel=_secret(merged, "NDRBOT_ALERT_SLACK_CHANNEL"),
            alert_teams_conversation=_secret(merged, "NDRBOT_ALERT_TEAMS_CONVERSATION"),
            intake_token=_secret(merged, "NDRBOT_INTAKE_TOKEN"),
            ip_watch_interval=_int(merged, "NDRBOT_IP_WATCH_INTERVAL", 30 * 60, minimum=60),
            domain_watch_interval=_int(
                merged, "NDRBOT_DOMAIN_WATCH_INTERVAL", 6 * 60 * 60, minimum=60
            ),
            watch_concurrency=_int(merged, "NDRBOT_WATCH_CONCURRENCY", 20, minimum=1),
            outbox_lease=_int(merged, "NDRBOT_OUTBOX_LEASE", 120, minimum=60),
            workers=_int(merged, "NDRBOT_WORKERS", 8, minimum=1),
            unknown_alert_after=_int(merged, "NDRBOT_UNKNOWN_ALERT_AFTER", 3, minimum=1),
            burst_threshold=_int(merged, "NDRBOT_BURST_THRESHOLD", 5, minimum=2),
            burst_window=_int(merged, "NDRBOT_BURST_WINDOW", 15 * 60, minimum=60),
            commands_per_minute=_int(merged, "NDRBOT_COMMANDS_PER_MINUTE", 10, minimum=1),
            dmarc_min_days=_int(merged, "NDRBOT_DMARC_MIN_DAYS", 30, minimum=1),
            dmarc_min_messages=_int(merged, "NDRBOT_DMARC_MIN_MESSAGES", 1000, minimum=1),
            dmarc_quarantine_share=_float(
                merged, "NDRBOT_DMARC_QUARANTINE_SHARE", 98.0, minimum=50
            ),
            dmarc_reject_share=_float(merged, "NDRBOT_DMARC_REJECT_SHARE", 99.5, minimum=50),
            dmarc_source_share=_float(merged, "NDRBOT_DMARC_SOURCE_SHARE", 98.0, minimum=50),
            dmarc_quiet_days=_int(merged, "NDRBOT_DMARC_QUIET_DAYS", 14, minimum=1),
            dmarc_new_source_messages=_int(
                merged, "NDRBOT_DMARC_NEW_SOURCE_MESSAGES", 100, minimum=1
            ),
            dmarc_drop_points=_float(merged, "NDRBOT_DMARC_DROP_POINTS", 5.0, minimum=0.5),
            dmarc_keep_raw_days=_int(merged, "NDRBOT_DMARC_KEEP_RAW_DAYS", 180, minimum=1),
            dmarc_domains=_list(merged, "NDRBOT_DMARC_DOMAINS"),
            ip_db=merged.get("NDRBOT_IP_DB", "").strip() or None,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Settings that only make sense together; raises :class:`SettingsError` naming them."""
        if not self.slack_api_url.startswith(("https://", "http://")):
            raise SettingsError(f"SLACK_API_URL: {self.slack_api_url!r} must start with https://")
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise SettingsError(
                "SLACK_SIGNING_SECRET is missing: with SLACK_BOT_TOKEN set, ndrbot needs the signing "
                "secret to verify Slack's requests (or SLACK_APP_TOKEN for Socket Mode)"
            )
        if (self.slack_signing_secret or self.slack_app_token) and not self.slack_bot_token:
            raise SettingsError(
                "SLACK_BOT_TOKEN is missing: the other Slack settings are set without it"
            )
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN: an app-level token starts with 'xapp-'")
        if (
            self.microsoft_app_id
            and self.microsoft_app_type != "UserAssignedMSI"
            and not self.microsoft_app_password
        ):
            raise SettingsError(
                "MICROSOFT_APP_PASSWORD is missing: MICROSOFT_APP_ID is set without its secret"
            )
        if (
            self.microsoft_app_type == "SingleTenant"
            and self.microsoft_app_id
            and not self.microsoft_app_tenant_id
        ):
            raise SettingsError(
                "MICROSOFT_APP_TENANT_ID is missing: MICROSOFT_APP_TYPE is SingleTenant"
            )

    @property
    def slack_enabled(self) -> bool:
        """True when Slack credentials are configured."""
        return bool(self.slack_bot_token)

    @property
    def loopback_only(self) -> bool:
        """True when the server listens on a loopback address only (``NDRBOT_HOST``)."""
        host = self.host.strip().strip("[]").lower()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def teams_authenticated(self) -> bool:
        """True when Bot Framework authentication is configured (an app id is set)."""
        return bool(self.microsoft_app_id)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some values replaced (CLI flags override the environment)."""
        return replace(self, **changes)  # type: ignore[arg-type]
