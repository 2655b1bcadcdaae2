"""Shared fixtures: the catalogue (loaded once) and the location of the shared corpora."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge import Catalogue, load_catalogue

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The real catalogue, validated as at start-up."""
    return load_catalogue()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a store test keeps its state: an SQLite file, then (the same test again) a fresh
    PostgreSQL schema. Opening the same target twice is a restarted process, or a replica."""
    if request.param == "sqlite":
        yield str(tmp_path / "ndrbot.sqlite3")
        return
    from tests.postgres import fresh_schema

    with fresh_schema() as url:
        yield url
