"""The database: it opens, takes a write, its migrations are current, and it is not an SQLite
file on a network filesystem (which SQLite's locking does not survive)."""

from __future__ import annotations

from pathlib import Path

from bot.doctor import Finding, Verdict
from bot.store.sqlite import NETWORK_FILESYSTEMS, filesystem_of

__all__ = ["NETWORK_FILESYSTEMS", "check_storage", "filesystem_of"]


def check_storage(db_path: str, *, mounts: str | None = None) -> list[Finding]:
    """Open (and create) the database as ``ndrbot serve`` would and prove it takes a write,
    changing nothing in it: pending migrations are reported, left for ``ndrbot serve``."""
    from bot.store import StoreUnavailable, is_postgres_url, open_database, redact_url
    from bot.store.alerts import MIGRATIONS as ALERT_MIGRATIONS
    from bot.store.chat import MIGRATIONS as CHAT_MIGRATIONS
    from bot.store.dmarc import MIGRATIONS as DMARC_MIGRATIONS

    out: list[Finding] = []
    postgres = is_postgres_url(db_path)
    where = redact_url(db_path)  # a URL's password never reaches a finding
    if db_path != ":memory:" and not postgres:
        folder = str(Path(db_path).resolve().parent)
        if mounts is None:
            try:
                mounts = Path("/proc/mounts").read_text(encoding="utf-8")
            except OSError:
                mounts = ""
        kind = filesystem_of(folder, mounts)
        if kind in NETWORK_FILESYSTEMS:
            return [
                Finding(
                    "storage",
                    "local filesystem",
                    Verdict.FAIL,
                    f"{db_path} is on a network filesystem ({kind}); SQLite's locks do not hold there",
                    "put NDRBOT_DB on a local disk (one host), or use PostgreSQL for replicas",
                )
            ]
        out.append(Finding("storage", "local filesystem", Verdict.PASS, kind or "local"))
    try:
        db = open_database(db_path, timeout=5.0) if postgres else open_database(db_path)
        done = db.applied()
        pending = [
            name
            for name, _sql in (*CHAT_MIGRATIONS, *ALERT_MIGRATIONS, *DMARC_MIGRATIONS)
            if name not in done
        ]
        # A write that is rolled back: proves the database takes writes, changes nothing.
        try:
            with db.transaction() as conn:
                conn.execute("CREATE TABLE ndrbot_doctor_probe (at TEXT)")
                raise _RolledBack
        except _RolledBack:
            pass
        finally:
            db.close()
    except Exception as error:  # any failure to open or write is the finding
        fix = (
            "check NDRBOT_DB: the server must answer, and its user may create tables"
            if postgres
            else "check NDRBOT_DB: the folder must exist or be creatable, and be writable"
        )
        return [
            *out,
            Finding(
                "storage",
                "database opens and takes a write",
                Verdict.FAIL,
                redact_url(
                    str(error)
                    if isinstance(error, StoreUnavailable)
                    else f"{where}: {type(error).__name__}: {error}"
                )[:400],
                fix,
            ),
        ]
    out.append(Finding("storage", "database opens and takes a write", Verdict.PASS, where))
    out.append(
        Finding(
            "storage",
            "migrations current",
            Verdict.PASS,
            f"{len(pending)} to apply at the next start: {', '.join(pending)}"
            if pending
            else "all applied",
        )
    )
    return out


class _RolledBack(Exception):
    """Ends the doctor's probe transaction (so nothing it wrote stays)."""
