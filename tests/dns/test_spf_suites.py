"""The SPF conformance suites (pyspf / openspf.org) through the real resolver path.

Each scenario's zone data is served by a loopback DNS server; every test case is evaluated by
``handlers.checks.spf_eval.evaluate`` asking that server through dnspython, as in production.
The suites are read in place from ``../shared/corpus/spf`` and never copied into the repository.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.checks.spf_eval import evaluate
from tests.dns.conftest import SHARED, client_for
from tests.dns.server import LoopbackDns, load_zone

pytestmark = pytest.mark.corpus

SUITES = SHARED / "corpus" / "spf"

# Where RFC 7208 changed a rule of RFC 4408, the RFC 4408 suite's preferred result is no longer
# conforming. Its case lists the RFC 7208 result as acceptable too; here we pin that exact result,
# so the exception is deliberate and visible: test name -> (RFC 7208 result, why).
_TYPE99 = "RFC 7208 sections 3.1 and 14.1 retired the SPF RR type (99); only TXT records count"
RFC4408_CHANGED: dict[str, tuple[str, str]] = {
    "spfonly": ("none", _TYPE99 + ", and this name has no SPF TXT record"),
    "spfoverride": ("fail", _TYPE99 + ", so the TXT record decides"),
    "multitxt1": ("permerror", _TYPE99 + "; two TXT SPF records are a permerror (4.5)"),
    "multispf1": ("fail", _TYPE99 + ", so the two type-99 records are not 'multiple records'"),
    "multispf2": ("pass", _TYPE99 + ", so the type-99 records are not 'multiple records'"),
    "txttimeout": ("temperror", "RFC 7208 4.4: a TXT timeout is temperror (no type-99 fallback)"),
    "exists-dnserr": ("temperror", "RFC 7208 section 5: a DNS error in a lookup is temperror"),
    "mx-limit": ("permerror", "RFC 7208 4.6.4: more than 10 MX names is a permerror"),
    "invalid-domain-empty-label": ("fail", "RFC 7208 4.3/5: an unqueryable name is non-existent"),
    "invalid-domain-long": ("fail", "RFC 7208 4.3/5: an unqueryable name is non-existent"),
    "invalid-domain-long-via-macro": (
        "fail",
        "RFC 7208 4.3/5: an unqueryable name is non-existent",
    ),
}


def _cases(path: Path) -> list[Any]:
    if not path.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"{path} is absent"))]
    cases = []
    for index, scenario in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
        for name, case in scenario["tests"].items():
            cases.append(pytest.param(index, scenario, case, id=f"{index}-{name}"))
    return cases


_SERVERS: dict[tuple[str, int], LoopbackDns] = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Any:
    yield
    for server in _SERVERS.values():
        server.stop()
    _SERVERS.clear()


def _server(suite: str, index: int, scenario: dict[str, Any]) -> LoopbackDns:
    key = (suite, index)
    if key not in _SERVERS:
        zone = load_zone(scenario.get("zonedata") or {}, spf_to_txt=True)
        _SERVERS[key] = LoopbackDns(zone).start()
    return _SERVERS[key]


async def _run(suite: str, index: int, scenario: dict[str, Any], case: dict[str, Any]) -> Any:
    server = _server(suite, index, scenario)
    dns = client_for(server, timeout=0.3)
    return await evaluate(
        dns,
        ipaddress.ip_address(case["host"]),
        case.get("mailfrom") or "",
        case.get("helo") or "",
        default_explanation="DEFAULT",  # what the suites' drivers set
    )


def _expected(case: dict[str, Any]) -> list[str]:
    result = case["result"]
    return result if isinstance(result, list) else [result]


@pytest.mark.parametrize(("index", "scenario", "case"), _cases(SUITES / "rfc7208-tests.yml"))
async def test_rfc7208(index: int, scenario: dict[str, Any], case: dict[str, Any]) -> None:
    """Every RFC 7208 suite case gives an accepted result (and the expected explanation)."""
    got = await _run("7208", index, scenario, case)
    assert str(got.result) in _expected(case), got.reason
    if "explanation" in case:
        assert got.explanation == case["explanation"]


@pytest.mark.parametrize(("index", "scenario", "case"), _cases(SUITES / "rfc4408-tests.yml"))
async def test_rfc4408(
    request: pytest.FixtureRequest, index: int, scenario: dict[str, Any], case: dict[str, Any]
) -> None:
    """RFC 4408 suite cases, except where RFC 7208 changed the rule (listed above)."""
    got = await _run("4408", index, scenario, case)
    name = request.node.callspec.id.split("-", 1)[1]
    if name in RFC4408_CHANGED:
        expected, why = RFC4408_CHANGED[name]
        assert str(got.result) in _expected(case)  # the 4408 suite accepts it too
        assert str(got.result) == expected, f"{why}: {got.reason}"
        return
    assert str(got.result) in _expected(case), got.reason
    if "explanation" in case:
        assert got.explanation == case["explanation"]
