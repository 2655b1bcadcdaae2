"""The catalogue of sending services (data/senders.yaml): loaded whole, and every mistake in it
refused at load with the file and the entry named."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from knowledge import Catalogue, CatalogueError, SendingService, load_catalogue
from knowledge._loader import DATA_DIR
from knowledge._model import SENDER_KINDS

# A valid entry appended to the packaged senders.yaml; each bad case changes one thing in it.
GOOD = """
  - key: example_esp
    name: Example ESP
    kind: esp
    ptr_suffixes: [.mail.example-esp.net]
    dkim_domains: [example-esp.net]
    fix: "Authenticate the domain in Example ESP."
    source: rfc9989_alignment
"""
_DNS = re.compile(r"[a-z0-9_][a-z0-9_.-]*\.[a-z]{2,63}")


def test_the_packaged_services_are_complete(catalogue: Catalogue) -> None:
    services = catalogue.senders
    assert 15 <= len(services) <= 25
    assert next(iter(services)) == "microsoft365"  # file order is kept
    for key, service in services.items():
        assert isinstance(service, SendingService) and service.key == key
        assert service.name and service.kind in SENDER_KINDS
        assert service.fix and "\n" not in service.fix and len(service.fix) <= 240
        assert service.source
        names = (
            service.ptr_suffixes
            + service.spf_includes
            + service.dkim_domains
            + service.envelope_domains
        )
        assert names and all(n == n.lower() and _DNS.fullmatch(n.lstrip(".")) for n in names)
        assert all(s.startswith(".") for s in service.ptr_suffixes)
    assert {s.kind for s in services.values()} == set(SENDER_KINDS)


def test_the_well_known_values_are_there(catalogue: Catalogue) -> None:
    ms = catalogue.senders["microsoft365"]
    assert ms.ptr_suffixes == (".outbound.protection.outlook.com",)
    assert ms.spf_includes == ("spf.protection.outlook.com",)
    assert ms.dkim_domains == ("onmicrosoft.com",) and "selector1" in ms.fix
    google = catalogue.senders["google_workspace"]
    assert google.spf_includes == ("_spf.google.com",) and google.dkim_domains == ("gappssmtp.com",)
    ses = catalogue.senders["amazon_ses"]
    assert ses.envelope_domains == ("amazonses.com",) and "MAIL FROM" in ses.fix
    assert "servers.mcsv.net" in catalogue.senders["mailchimp"].spf_includes
    assert catalogue.senders["postmark"].ptr_suffixes == (".mtasv.net",)
    assert catalogue.senders["zendesk"].spf_includes == ("mail.zendesk.com",)
    groups = catalogue.senders["google_groups"]
    assert groups.kind == "forwarder" and groups.dkim_domains == ("googlegroups.com",)
    # A service cites a source the loader knows (tools.yaml or senders.yaml).
    assert ms.source == "ms_dkim_configure" and ses.source == "aws_ses_mail_from"


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _append(data: Path, text: str) -> None:
    senders = data / "senders.yaml"
    senders.write_text(senders.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_good_new_service_loads(data_copy: Path) -> None:
    # The entry the bad cases below start from is itself valid, so each of them fails for the
    # one thing it changes.
    _append(data_copy, GOOD)
    service = load_catalogue(data_copy).senders["example_esp"]
    assert service.ptr_suffixes == (".mail.example-esp.net",)
    assert service.dkim_domains == ("example-esp.net",) and service.envelope_domains == ()


@pytest.mark.parametrize(
    ("old", "new", "key", "said"),
    [
        ("name: Example ESP", "name: Example ESP\n    colour: blue", "example_esp", "colour"),
        ("kind: esp", "kind: mailer", "example_esp", "kind 'mailer' is not one of"),
        ("[.mail.example-esp.net]", "[mail.example-esp.net]", "example_esp", "start with '.'"),
        ("[example-esp.net]", "[Example-ESP.net]", "example_esp", "lower-case DNS name"),
        ("[example-esp.net]", "[example esp]", "example_esp", "lower-case DNS name"),
        ("[.mail.example-esp.net]", "[.net]", "example_esp", "lower-case DNS name"),
        ("[example-esp.net]", "[example-esp.net, example-esp.net]", "example_esp", "twice"),
        (
            "    ptr_suffixes: [.mail.example-esp.net]\n    dkim_domains: [example-esp.net]\n",
            "",
            "example_esp",
            "at least one of",
        ),
        (
            'fix: "Authenticate the domain in Example ESP."',
            "fix: |\n      Authenticate the domain.\n      Then publish DKIM.",
            "example_esp",
            "fix must be one line",
        ),
        ("in Example ESP.", "in Example ESP. " + "x" * 240, "example_esp", "longer than 240"),
        ("source: rfc9989_alignment", "source: nowhere", "example_esp", "not a known source"),
        ("key: example_esp", "key: Example-ESP", "Example-ESP", "key must be"),
    ],
    ids=[
        "unknown-field",
        "kind",
        "ptr-without-dot",
        "upper-case",
        "not-a-name",
        "bare-tld",
        "repeated-name",
        "no-match-field",
        "multi-line-fix",
        "long-fix",
        "unknown-source",
        "key",
    ],
)
def test_a_bad_service_is_refused_naming_file_and_entry(
    data_copy: Path, old: str, new: str, key: str, said: str
) -> None:
    assert old in GOOD
    _append(data_copy, GOOD.replace(old, new, 1))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    assert (info.value.file, info.value.key) == ("senders.yaml", key)
    assert said in info.value.problem


def test_a_key_defined_twice_is_refused(data_copy: Path) -> None:
    _append(data_copy, GOOD + GOOD)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    assert (info.value.file, info.value.key) == ("senders.yaml", "example_esp")
    assert "defined twice" in info.value.problem


def test_a_source_in_senders_yaml_may_not_reuse_a_tools_yaml_name(data_copy: Path) -> None:
    senders = data_copy / "senders.yaml"
    text = senders.read_text(encoding="utf-8")
    senders.write_text(
        text.replace("sources:\n", "sources:\n  ms_dkim_configure: https://example.com/\n", 1),
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    assert info.value.key == "ms_dkim_configure" and "defined twice" in info.value.problem
