"""PostgreSQL for the tests: each test gets its own schema in the ``test`` database, dropped after.

Where no PostgreSQL answers (a newcomer's laptop) these tests skip and say how to run them;
under CI (``CI=true``) an unreachable PostgreSQL fails them instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import quote

import pytest

URL = os.environ.get("NDRBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
HOW = (
    "PostgreSQL is not reachable at {url} ({why}); start one (README, 'Two or more replicas') "
    "or point NDRBOT_TEST_POSTGRES at one to run these tests"
)


@cache
def unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None: it can)."""
    try:
        import psycopg

        with psycopg.connect(URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        return HOW.format(url=URL, why=f"{type(error).__name__}: {error}".strip()[:200])
    return None


def require() -> None:
    """Skip (or, under CI, fail) the calling test when PostgreSQL is not there."""
    why = unavailable()
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(why + "; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(why)


def with_schema(url: str, schema: str) -> str:
    """``url`` with its connections' search path set to ``schema``."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose tables land in a new, empty schema, dropped (with everything in it) after."""
    import psycopg

    require()
    schema = f"ndrbot_test_{secrets.token_hex(6)}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(URL, schema)
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
