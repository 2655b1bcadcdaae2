"""The database: it opens, takes a write, its migrations are current, and it is not an SQLite
file on a network filesystem (which SQLite's locking does not survive)."""

from __future__ import annotations

from pathlib import Path

from bot.doctor import Finding, Verdict

__all__ = ["NETWORK_FILESYSTEMS", "check_storage", "filesystem_of"]

NETWORK_FILESYSTEMS = frozenset(
    (
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "fuse.sshfs",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "davfs",
        "fuse.s3fs",
        "fuse.rclone",
    )
)


def filesystem_of(path: str, mounts: str) -> str:
    """The filesystem type of the longest mount point containing ``path`` (``/proc/mounts``)."""
    best, kind = "", ""
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, parts[2]
    return kind


def check_storage(db_path: str, *, mounts: str | None = None) -> list[Finding]:
    """Open (and create) the database as ``ndrbot serve`` would and prove it takes a write,
    changing nothing in it: pending migrations are reported, left for ``ndrbot serve``."""
    from bot.store import open_database
    from bot.store.alerts import MIGRATIONS as ALERT_MIGRATIONS
    from bot.store.chat import MIGRATIONS as CHAT_MIGRATIONS
    from bot.store.dmarc import MIGRATIONS as DMARC_MIGRATIONS

    out: list[Finding] = []
    if db_path != ":memory:":
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
        db = open_database(db_path)
        pending = [
            name
            for name, _sql in (*CHAT_MIGRATIONS, *ALERT_MIGRATIONS, *DMARC_MIGRATIONS)
            if not db.conn.execute(
                "SELECT 1 FROM schema_migrations WHERE name = ?", (name,)
            ).fetchone()
        ]
        # A write that is rolled back: proves the file takes writes, changes nothing.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            db.conn.execute("CREATE TABLE ndrbot_doctor_probe (at TEXT)")
        finally:
            db.conn.execute("ROLLBACK")
        db.close()
    except Exception as error:  # any failure to open or write is the finding
        return [
            *out,
            Finding(
                "storage",
                "database opens and takes a write",
                Verdict.FAIL,
                f"{db_path}: {type(error).__name__}: {error}",
                "check NDRBOT_DB: the folder must exist or be creatable, and be writable",
            ),
        ]
    out.append(Finding("storage", "database opens and takes a write", Verdict.PASS, db_path))
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
