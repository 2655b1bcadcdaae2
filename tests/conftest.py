"""Shared fixtures: the catalogue (loaded once) and the location of the shared corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import Catalogue, load_catalogue

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The real catalogue, validated as at start-up."""
    return load_catalogue()
