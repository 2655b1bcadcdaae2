"""Fixtures for the Teams tests."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.conftest import SHARED

SCHEMA_PATH = SHARED / "reference" / "adaptive-card-1.5.schema.json"


@pytest.fixture(scope="session")
def card_schema() -> jsonschema.Draft6Validator:
    """A validator for the Adaptive Card 1.5 schema (skips when the reference is absent)."""
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"Adaptive Card schema not found at {SCHEMA_PATH}")
    return jsonschema.Draft6Validator(json.loads(SCHEMA_PATH.read_text("utf-8")))
