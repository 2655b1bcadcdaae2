"""Table-driven: each file in samples/ is a bounce as people paste or upload it, and the .json
beside it says what a mail administrator reads from it. A new bounce from a user is one file
pair plus the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.diagnosis import diagnose
from handlers.ndr import read
from knowledge import Catalogue

SAMPLES = Path(__file__).parent / "samples"
# samples/ holds whole bounces; samples/shapes/ the other shapes people paste (log lines, SMTP
# sessions, application errors, forum-damaged and translated notices, masked values, and the
# look-alikes that are not bounces).
CASES = sorted(p for p in SAMPLES.rglob("*") if p.suffix in (".txt", ".eml"))


@pytest.mark.parametrize(
    "path", CASES, ids=[str(p.relative_to(SAMPLES).with_suffix("")) for p in CASES]
)
def test_sample(path: Path, catalogue: Catalogue) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    bounce = read(path.read_bytes())
    diagnosis = diagnose(bounce, catalogue)
    first = bounce.first

    assert bounce.is_ndr is expected["is_ndr"]
    if "kind" in expected:
        assert str(bounce.kind) == expected["kind"]
    assert diagnosis.family == expected.get("family", diagnosis.family)
    assert [r.address for r in bounce.recipients] == expected["recipients"]
    for key in ("status", "reply_code", "command"):
        if key in expected:
            assert getattr(first, key) == expected[key], key
    for key in ("sending_ip", "sender", "reporting_mta", "system", "permanent", "hidden_ip"):
        if key in expected:
            assert getattr(bounce, key) == expected[key], key
    if "hidden_addresses" in expected:
        assert [r.hidden_address for r in bounce.recipients] == expected["hidden_addresses"]
    if "sender_domain" in expected:
        assert diagnosis.facts.sender_domain == expected["sender_domain"]
    if "diagnostic" in expected:
        assert first is not None and first.diagnostic == expected["diagnostic"]
    if "remote_mta" in expected:
        assert first is not None and first.remote_mta.to_json() == expected["remote_mta"]
    if "recipient_statuses" in expected:
        assert [r.status for r in bounce.recipients] == expected["recipient_statuses"]
    if "reasons" in expected:
        assert list(diagnosis.reasons) == expected["reasons"]
    if "checklist" in expected:
        remediation = catalogue.render(diagnosis.variant, diagnosis.facts)  # type: ignore[arg-type]
        assert remediation.checklist is not None
        assert remediation.checklist.key == expected["checklist"]
    if "auth" in expected:
        assert bounce.original is not None
        got = {a.method: a.result for a in bounce.original.auth_results}
        assert {k: got.get(k) for k in expected["auth"]} == expected["auth"]
    if "connecting_ip" in expected:
        assert (
            bounce.original is not None
            and bounce.original.connecting_ip == expected["connecting_ip"]
        )
    if "check_targets" in expected:
        targets = diagnosis.targets
        assert {k: getattr(targets, k) for k in expected["check_targets"]} == expected[
            "check_targets"
        ]
