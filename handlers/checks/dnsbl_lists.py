"""The blocklists ndrbot knows: zones, answer codes, refusal codes, test points, delisting.

Answer codes come from each operator's published documentation (Spamhaus: "DNSBL return
codes"; RFC 5782 section 5 for the test points every list must carry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DEFAULT_DOMAIN_LISTS", "DEFAULT_IP_LISTS", "KNOWN_LISTS", "Blocklist", "blocklist_for"]

_SPAMHAUS_DELIST = "https://check.spamhaus.org/ (look the IP or domain up; it says which list and how to be removed)"
_SPAMHAUS_REFUSALS = {
    "127.255.255.252": "Spamhaus says the list name in the query is mistyped",
    "127.255.255.254": "Spamhaus refuses queries that come through a public or open resolver (8.8.8.8, 1.1.1.1, 9.9.9.9 and the like)",
    "127.255.255.255": "Spamhaus refuses this resolver: it sent too many queries",
}
SPAMHAUS_FIX = (
    "Query through a resolver of your own (NDRBOT_NAMESERVERS or --nameserver) rather than a public one, "
    "or get a free Spamhaus Data Query Service (DQS) key and set NDRBOT_SPAMHAUS_DQS_KEY; ndrbot then asks "
    "<reversed-ip>.<key>.zen.dq.spamhaus.net, which works from any resolver"
)


@dataclass(frozen=True)
class Blocklist:
    """One DNS blocklist (RFC 5782)."""

    zone: str
    name: str
    kind: str = "ip"  # "ip" or "domain"
    ipv6: bool = False
    codes: Mapping[str, str] = field(default_factory=dict)  # answer -> meaning
    refusals: Mapping[str, str] = field(default_factory=dict)  # answer -> why the list refused
    refusal_fix: str = ""
    delist: str = ""
    test_listed: str = ""  # RFC 5782 section 5: 127.0.0.2 / "test"
    test_clean: str = ""  # 127.0.0.1 / "invalid"
    dqs_zone: str | None = None  # Spamhaus DQS form: <key>.<dqs_zone>

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", MappingProxyType(dict(self.codes)))
        object.__setattr__(self, "refusals", MappingProxyType(dict(self.refusals)))
        if not self.test_listed:
            object.__setattr__(self, "test_listed", "127.0.0.2" if self.kind == "ip" else "test")
        if not self.test_clean:
            object.__setattr__(self, "test_clean", "127.0.0.1" if self.kind == "ip" else "invalid")

    def zone_for(self, dqs_key: str | None) -> str:
        """The zone to query: the DQS zone with the key when one is given and supported."""
        return f"{dqs_key}.{self.dqs_zone}" if dqs_key and self.dqs_zone else self.zone


ZEN = Blocklist(
    "zen.spamhaus.org",
    "Spamhaus ZEN",
    ipv6=True,
    dqs_zone="zen.dq.spamhaus.net",
    codes={
        "127.0.0.2": "SBL: a known spam source or spam operation (Spamhaus Block List)",
        "127.0.0.3": "SBL CSS: low-reputation sending, typically snowshoe spam or a compromised server",
        "127.0.0.4": "XBL: the IP is infected or exploited (botnet, open proxy); clean the host first",
        "127.0.0.5": "XBL: the IP is infected or exploited",
        "127.0.0.6": "XBL: the IP is infected or exploited",
        "127.0.0.7": "XBL: the IP is infected or exploited",
        "127.0.0.9": "SBL DROP/EDROP: the whole netblock is hijacked or run by criminals",
        "127.0.0.10": "PBL (ISP-maintained): an end-user range that should not send mail directly; send through your provider's relay",
        "127.0.0.11": "PBL (Spamhaus-maintained): an end-user range that should not send mail directly; a real mail server can self-remove",
    },
    refusals=_SPAMHAUS_REFUSALS,
    refusal_fix=SPAMHAUS_FIX,
    delist=_SPAMHAUS_DELIST,
)
DBL = Blocklist(
    "dbl.spamhaus.org",
    "Spamhaus DBL",
    kind="domain",
    dqs_zone="dbl.dq.spamhaus.net",
    codes={
        "127.0.1.2": "DBL: spam domain",
        "127.0.1.4": "DBL: phishing domain",
        "127.0.1.5": "DBL: malware domain",
        "127.0.1.6": "DBL: botnet command-and-control domain",
        "127.0.1.102": "DBL: abused legitimate domain used for spam",
        "127.0.1.103": "DBL: abused legitimate spammed redirector or URL shortener",
        "127.0.1.104": "DBL: abused legitimate domain used for phishing",
        "127.0.1.105": "DBL: abused legitimate domain used for malware",
        "127.0.1.106": "DBL: abused legitimate domain used for botnet C&C",
        **{
            f"127.0.2.{n}": "ZRD: a newly observed domain (zero reputation), listed for its first 24 hours"
            for n in range(2, 25)
        },
    },
    refusals={
        **_SPAMHAUS_REFUSALS,
        "127.0.1.255": "the DBL was asked about an IP address; it lists domains only",
    },
    refusal_fix=SPAMHAUS_FIX,
    delist=_SPAMHAUS_DELIST,
    test_listed="dbltest.com",
)
_URIBL_REFUSAL = {
    "127.0.0.1": "the list refuses queries from this resolver (public or high-volume resolvers are blocked)"
}
_OWN_RESOLVER = "Query through a resolver of your own (NDRBOT_NAMESERVERS or --nameserver)"

KNOWN_LISTS: tuple[Blocklist, ...] = (
    ZEN,
    Blocklist(
        "b.barracudacentral.org",
        "Barracuda BRBL",
        codes={"127.0.0.2": "listed by Barracuda Reputation"},
        delist="https://www.barracudacentral.org/rbl/removal-request",
    ),
    Blocklist(
        "bl.spamcop.net",
        "SpamCop",
        codes={"127.0.0.2": "reported as a spam source by SpamCop users"},
        delist="https://www.spamcop.net/bl.shtml (entries expire 24 hours after the last report)",
    ),
    Blocklist(
        "psbl.surriel.com",
        "PSBL",
        codes={"127.0.0.2": "sent mail to PSBL spam traps"},
        delist="https://psbl.org/remove",
    ),
    Blocklist(
        "bl.mailspike.net",
        "Mailspike",
        codes={"127.0.0.2": "listed by Mailspike for spam"},
        delist="https://mailspike.org/anubis/lookup.html",
    ),
    Blocklist(
        "dnsbl-1.uceprotect.net",
        "UCEPROTECT level 1",
        codes={"127.0.0.2": "sent mail to UCEPROTECT spam traps"},
        delist="https://www.uceprotect.net/en/rblcheck.php (expires after 7 days without new hits)",
    ),
    Blocklist(
        "all.s5h.net",
        "s5h",
        codes={"127.0.0.2": "listed by s5h.net"},
        delist="https://www.usenix.org.uk/content/rbl.html",
    ),
    Blocklist(
        "dnsbl.dronebl.org",
        "DroneBL",
        ipv6=True,
        delist="https://dronebl.org/lookup",
        codes={
            "127.0.0.3": "IRC drone",
            "127.0.0.6": "unknown spambot or drone",
            "127.0.0.7": "DDoS drone",
            "127.0.0.8": "SOCKS proxy",
            "127.0.0.9": "HTTP proxy",
            "127.0.0.10": "proxy chain",
            "127.0.0.13": "brute-force attacker",
            "127.0.0.14": "open Wingate proxy",
            "127.0.0.15": "compromised router",
            "127.0.0.17": "automatically detected botnet IP",
        },
    ),
    Blocklist(
        "all.spamrats.com",
        "SpamRATS",
        delist="https://www.spamrats.com/removal.php",
        codes={
            "127.0.0.36": "RATS-Dyna: a dynamic/residential IP sending mail",
            "127.0.0.37": "RATS-NoPtr: no reverse DNS",
            "127.0.0.38": "RATS-Spam: sent spam",
            "127.0.0.43": "RATS-Auth: brute-force authentication attempts",
        },
    ),
    Blocklist(
        "ips.backscatterer.org",
        "Backscatterer",
        codes={"127.0.0.2": "sends backscatter (bounces to forged senders)"},
        delist="https://www.backscatterer.org/?target=test",
    ),
    DBL,
    Blocklist(
        "multi.surbl.org",
        "SURBL",
        kind="domain",
        test_listed="test.surbl.org",
        refusals=_URIBL_REFUSAL,
        refusal_fix=_OWN_RESOLVER,
        delist="https://surbl.org/surbl-analysis",
    ),
    Blocklist(
        "multi.uribl.com",
        "URIBL",
        kind="domain",
        test_listed="test.uribl.com",
        refusals=_URIBL_REFUSAL,
        refusal_fix=_OWN_RESOLVER,
        delist="https://admin.uribl.com/",
    ),
)
DEFAULT_IP_LISTS = tuple(b.zone for b in KNOWN_LISTS if b.kind == "ip")
DEFAULT_DOMAIN_LISTS = tuple(b.zone for b in KNOWN_LISTS if b.kind == "domain")
_BY_ZONE = {b.zone: b for b in KNOWN_LISTS}


def blocklist_for(zone: str, kind: str = "ip") -> Blocklist:
    """The known list for ``zone``, or a generic one (any 127.0.0.x answer is a listing)."""
    zone = zone.strip().rstrip(".").lower()
    return _BY_ZONE.get(zone) or Blocklist(zone, zone, kind=kind, ipv6=True)
