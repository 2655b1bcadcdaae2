"""Zone data for the watch tests: a healthy domain and a clean IP, plus the edits that break them."""

from __future__ import annotations

from handlers.checks.dnsbl_lists import DEFAULT_IP_LISTS
from tests.dns.conftest import blocklist_zone
from tests.dns.server import ZONES, Zone, load_zone_file

DOMAIN = "contoso.test"
IP = "203.0.113.5"
LISTING = "5.113.0.203.zen.spamhaus.org"  # RFC 5782 section 2.1: reversed octets + zone
_KEY = load_zone_file(ZONES / "checks.yaml")[
    "selector1-good-test._domainkey.goodtenant.onmicrosoft.com"
]


def healthy_domain() -> Zone:
    """contoso.test: SPF with one include, DMARC p=reject, a DKIM key at selector1, one MX."""
    return {
        DOMAIN: [
            ("TXT", "v=spf1 include:_spf.contoso.test -all"),
            ("MX", [10, "mx1.contoso.test"]),
        ],
        "_spf.contoso.test": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")],
        "mx1.contoso.test": [("A", "192.0.2.25")],
        "mx2.contoso.test": [("A", "192.0.2.26")],
        "_dmarc.contoso.test": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@contoso.test")],
        "selector1._domainkey.contoso.test": list(_KEY),
    }


def spf_over_the_limit(zone: Zone) -> None:
    """Someone adds eleven includes: 11 lookups, over the 10 of RFC 7208 section 4.6.4."""
    first = " ".join(f"include:i{n}.contoso.test" for n in range(6))
    second = " ".join(f"include:i{n}.contoso.test" for n in range(6, 11))
    # Two strings (a TXT string holds 255 octets), joined without a separator (RFC 7208 3.3).
    record = [f"v=spf1 {first} ", f"{second} -all"]
    zone[DOMAIN] = [("TXT", record), ("MX", [10, "mx1.contoso.test"])]
    for n in range(11):
        zone[f"i{n}.contoso.test"] = [("TXT", f"v=spf1 ip4:198.51.100.{n} -all")]


def clean_ip() -> Zone:
    """203.0.113.5 on no list (every default list answering its RFC 5782 test points), with a
    forward-confirmed PTR."""
    zone = blocklist_zone(list(DEFAULT_IP_LISTS))
    zone["5.113.0.203.in-addr.arpa"] = [("PTR", "mail.contoso.test")]
    zone["mail.contoso.test"] = [("A", IP)]
    return zone
