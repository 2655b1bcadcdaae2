"""``ndrbot db copy --from FILE --to URL``: move a single host's state into the PostgreSQL that
replicas will share (or back), all or nothing, into an empty database only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli_table import help_for
from bot.settings import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``db`` with its action ``copy``."""
    db = sub.add_parser("db", help=help_for("db"))
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "copy", help="copy every row from one store into an empty one (SQLite file or URL)"
    )
    p.add_argument("--from", dest="source", required=True, metavar="FILE_OR_URL")
    p.add_argument("--to", dest="target", required=True, metavar="URL_OR_FILE")
    p.set_defaults(func=_copy)


def _copy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store import StoreUnavailable, is_postgres_url, open_database, redact_url
    from bot.store.copy import CopyRefused, copy_store

    del settings  # both ends are named on the command line
    if not is_postgres_url(args.source) and not Path(args.source).is_file():
        print(f"ndrbot db copy: {args.source}: no such SQLite file", file=sys.stderr)
        return 2
    if redact_url(args.source) == redact_url(args.target):
        print("ndrbot db copy: --from and --to name the same database", file=sys.stderr)
        return 2
    lock = None
    if not is_postgres_url(args.source):
        from bot.store.sqlite import ServeLock

        lock = ServeLock(args.source)
        if not lock.acquire():  # a running server would write rows the copy never sees
            print(
                f"ndrbot db copy: ndrbot serve (pid {lock.other}) is using {args.source}:"
                " stop it first, then copy",
                file=sys.stderr,
            )
            return 2
    try:
        source, target = open_database(args.source), open_database(args.target)
    except StoreUnavailable as error:
        print(f"ndrbot db copy: {error}", file=sys.stderr)
        if lock is not None:
            lock.release()
        return 2
    try:

        def shown(table: str, count: int) -> None:
            if count:
                print(f"  {table}: {count} rows")

        print(f"copying {redact_url(args.source)} -> {redact_url(args.target)}")
        copied = copy_store(source, target, progress=shown)
    except CopyRefused as error:
        print(f"ndrbot db copy: nothing copied: {error}", file=sys.stderr)
        return 1
    finally:
        source.close()
        target.close()
        if lock is not None:
            lock.release()
    print(f"done: {copied.total} rows in {sum(1 for n in copied.rows.values() if n)} tables")
    print("point NDRBOT_DB of every replica at the target, then start them")
    return 0
