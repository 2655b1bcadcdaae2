"""The packaged catalogue loads, is complete, and bad data fails at load naming the entry."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from knowledge import (
    CHECKS,
    FAMILIES,
    REASONS,
    SYSTEMS,
    WHO,
    CatalogueError,
    CodeRange,
    load_catalogue,
)
from knowledge._loader import DATA_DIR

FAMILY_CONTRACT = [
    "exo_unable_to_relay",
    "exo_client_host_blocked",
    "exo_banned_sending_ip",
    "exo_client_not_authenticated",
    "exo_sender_not_authorized",
    "exo_restricted_sender",
    "exo_tenant_attribution_relay_denied",
    "exo_throttled_new_sender",
    "dmarc_reject",
    "spf_fail",
    "gmail_unauthenticated",
    "ptr_missing",
    "yahoo_deferred_reputation",
    "recipient_not_found",
    "recipient_access_denied_dbeb",
    "mailbox_full",
    "message_delayed",
    "mail_loop",
    "other_policy",
    "other",
]


def test_family_names_are_the_public_contract() -> None:
    assert list(FAMILIES) == FAMILY_CONTRACT


def test_packaged_catalogue_reaches_every_family() -> None:
    catalogue = load_catalogue()
    assert {v.family for v in catalogue.variants} == set(FAMILIES)
    for v in catalogue.variants:
        assert v.system in SYSTEMS and v.who in WHO and v.reason in REASONS
        assert set(v.checks) <= set(CHECKS)


def test_the_only_unconditional_variant_is_the_catch_all() -> None:
    unconditional = [v for v in load_catalogue().variants if not v.codes and not v.has_text_rules]
    assert [v.family for v in unconditional] == ["other"]


def test_default_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()


def test_get_unknown_key_raises_key_error() -> None:
    with pytest.raises(KeyError):
        load_catalogue().get("no_such_variant")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("5.7.612", True), ("5.7.606", True), ("5.7.649", True), ("5.7.650", False),
     ("4.7.612", False), ("5.7.6120", False), ("5.7", False), ("", False), ("x.7.612", False)],
)  # fmt: skip
def test_code_range_contains(code: str, expected: bool) -> None:
    assert CodeRange((5, 7, 606), (5, 7, 649)).contains(code) is expected


def test_fresh_load_is_fast() -> None:
    """A fresh, uncached load (parse, validate, render every variant twice) stays quick."""
    load_catalogue(DATA_DIR)  # warm imports and the OS file cache
    start = time.perf_counter()
    load_catalogue(DATA_DIR)
    assert time.perf_counter() - start < 1.0  # generous for slow CI; ~0.1 s on a laptop


# --- broken data fails at load, naming file and entry ----------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(data_dir: Path) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_dir)
    return str(info.value)


def test_bad_family_names_file_and_key(data_copy: Path) -> None:
    _edit(
        data_copy / "exchange_online.yaml",
        "family: exo_unable_to_relay\n",
        "family: exo_relay_refused\n",
    )
    message = _error(data_copy)
    assert "exchange_online.yaml" in message
    assert "exo_unable_to_relay_no_connector" in message
    assert "exo_relay_refused" in message


def test_duplicate_key_fails(data_copy: Path) -> None:
    _edit(
        data_copy / "exchange_online.yaml",
        "key: exo_client_not_authenticated\n",
        "key: exo_unable_to_relay_no_connector\n",
    )
    message = _error(data_copy)
    assert "exo_unable_to_relay_no_connector" in message and "twice" in message


def test_bad_regex_fails(data_copy: Path) -> None:
    _edit(
        data_copy / "exchange_online.yaml",
        "blocked using Spamhaus'",
        "blocked using Spamhaus (unclosed'",
    )
    message = _error(data_copy)
    assert "exo_client_host_blocked_spamhaus" in message and "does not compile" in message


def test_catastrophic_regex_fails(data_copy: Path) -> None:
    _edit(
        data_copy / "exchange_online.yaml",
        "blocked using Spamhaus'",
        "blocked using Spamhaus (a+)+b'",
    )
    assert "linear-time" in _error(data_copy)


def test_bad_step_template_fails(data_copy: Path) -> None:
    _edit(
        data_copy / "exchange_online.yaml",
        "{{ sending_ip | txt('') }}",
        "{{ sending_ipp | txt('') }}",
    )
    message = _error(data_copy)
    assert "exo_unable_to_relay_no_connector" in message and "sending_ipp" in message


def test_misspelt_field_fails(data_copy: Path) -> None:
    _edit(
        data_copy / "exchange_online.yaml", "    severity: permanent\n", "    severty: permanent\n"
    )
    message = _error(data_copy)
    assert "exo_unable_to_relay_no_connector" in message and "severty" in message


def test_bad_enum_value_fails(data_copy: Path) -> None:
    _edit(data_copy / "exchange_online.yaml", "reason: norelaying", "reason: no_relaying")
    message = _error(data_copy)
    assert "exo_unable_to_relay_no_connector" in message and "no_relaying" in message


@pytest.mark.parametrize("bad", ["5.7.649-5.7.606", "4.7.1-5.7.1", "5.7", "5.7.1-"])
def test_malformed_code_range_fails(data_copy: Path, bad: str) -> None:
    _edit(data_copy / "exchange_online.yaml", 'codes: ["5.7.1"]', f'codes: ["{bad}"]')
    message = _error(data_copy)
    assert "exo_unable_to_relay_no_connector" in message and bad in message


def test_unknown_command_fails(data_copy: Path) -> None:
    _edit(data_copy / "exchange_online.yaml", "[inbound_connectors,", "[inbound_conectors,")
    assert "inbound_conectors" in _error(data_copy)


def _minimal_variant(key: str, family: str) -> str:
    conditions = "" if family == "other" else f'    match_text: ["text for {key}"]\n'
    return (
        f"  - key: {key}\n    family: {family}\n{conditions}"
        "    severity: permanent\n    who: sender_admin\n    reason: undefined\n"
        "    title: T\n    summary: S.\n    meaning: M.\n    steps: [Do it.]\n"
        "    evidence: inferred\n    sources: [https://example.com/doc]\n"
    )


def test_minimal_catalogue_loads_and_a_missing_family_fails(tmp_path: Path) -> None:
    variants = "".join(_minimal_variant(f"v_{fam}", fam) for fam in FAMILIES)
    (tmp_path / "generic.yaml").write_text(f"system: generic\nvariants:\n{variants}")
    assert len(load_catalogue(tmp_path)) == len(FAMILIES)

    variants = "".join(_minimal_variant(f"v_{fam}", fam) for fam in FAMILIES if fam != "mail_loop")
    (tmp_path / "generic.yaml").write_text(f"system: generic\nvariants:\n{variants}")
    assert "no variant for family: mail_loop" in _error(tmp_path)


def test_unconditional_variant_outside_other_fails(tmp_path: Path) -> None:
    variants = "".join(_minimal_variant(f"v_{fam}", fam) for fam in FAMILIES)
    variants = variants.replace('    match_text: ["text for v_mail_loop"]\n', "")
    (tmp_path / "generic.yaml").write_text(f"system: generic\nvariants:\n{variants}")
    message = _error(tmp_path)
    assert "v_mail_loop" in message and "every bounce" in message


# --- command templates are proven safe at load ------------------------------------------------


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    from knowledge._loader import TEMPLATES_DIR

    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, target)
    return target


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        # a fact printed without the quoting filter
        ("-SenderAddress {{ sender | ps('sender address') }} -Start",
         "-SenderAddress {{ sender }} -Start", "without an escaping filter"),
        # quoted, but inside double quotes where PowerShell expands $(...)
        ("-SenderAddress {{ sender | ps('sender address') }} -Start",
         '-SenderAddress "{{ sender | ps(\'sender address\') }}" -Start', "escapes its quotes"),
        # plain-text filter in a command
        ("-SenderAddress {{ sender | ps('sender address') }} -Start",
         "-SenderAddress {{ sender | txt('x') }} -Start", "escapes its quotes"),
        # a misspelt fact
        ("-SenderAddress {{ sender | ps('sender address') }} -Start",
         "-SenderAddress {{ sendr | ps('sender address') }} -Start", "sendr"),
        # broken syntax
        ("{% block message_trace %}", "{% block message_trace %}{{ oops(", "does not compile"),
    ],
)  # fmt: skip
def test_unsafe_or_broken_command_template_fails(
    templates_copy: Path, old: str, new: str, problem: str
) -> None:
    _edit(templates_copy / "powershell.j2", old, new)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(DATA_DIR, templates_copy)
    message = str(info.value)
    assert problem in message
    assert "sender_trace" in message or "does not compile" in message


def test_command_without_a_template_block_fails(templates_copy: Path) -> None:
    _edit(templates_copy / "sh.j2", "{% block dig_spf %}", "{% block dig_spf_renamed %}")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(DATA_DIR, templates_copy)
    assert "dig_spf" in str(info.value) and "no block" in str(info.value)


def test_unblock_item_must_come_last(data_copy: Path) -> None:
    text = (data_copy / "checklists.yaml").read_text(encoding="utf-8")
    text = text.replace("        is_unblock: true\n", "        required_before_unblock: true\n")
    text = text.replace(
        "      - id: revoke_sessions\n", "      - id: revoke_sessions\n        is_unblock: true\n"
    )
    (data_copy / "checklists.yaml").write_text(text, encoding="utf-8")
    message = _error(data_copy)
    assert "checklists.yaml" in message and "compromise" in message and "last" in message
