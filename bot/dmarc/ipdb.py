"""Who owns an IP address, from a local IP database file (``NDRBOT_IP_DB``): its network (AS
number and name) and country. Read with MaxMind's ``maxminddb`` reader, which opens any MMDB
file: IPinfo Lite, DB-IP Lite, MaxMind GeoLite. Nothing is fetched: the operator downloads the
file (and refreshes it) under the provider's licence. The file is opened once, at start:
replace it by renaming a new file over it (never by writing into it), then restart.

Field names differ between providers; both common layouts are read:
``asn``/``as_name``/``country_code`` (IPinfo) and ``autonomous_system_number``/
``autonomous_system_organization``/``country.iso_code`` (MaxMind, DB-IP).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["IpDatabase"]

log = logging.getLogger("ndrbot.dmarc")


def _text(value: Any, limit: int = 80) -> str:
    return " ".join(str(value).split())[:limit] if value not in (None, "") else ""


class IpDatabase:
    """An open MMDB file; :meth:`network` never raises for a bad address or record."""

    def __init__(self, path: str) -> None:
        import maxminddb

        self.path = path
        self._reader = maxminddb.open_database(path, maxminddb.MODE_FILE)  # not memory-mapped

    def network(self, ip: str) -> str:
        """``"AS8075 Microsoft Corporation, US"`` (the parts known), or ""."""
        try:
            record = self._reader.get(ip)
        except Exception:  # not an address, IPv6 in an IPv4-only file, a corrupt record
            return ""
        if not isinstance(record, dict):
            return ""
        asn = record.get("asn") or record.get("autonomous_system_number")
        name = record.get("as_name") or record.get("autonomous_system_organization")
        country: Any = record.get("country_code")
        nested = record.get("country")
        if not country and isinstance(nested, dict):
            country = nested.get("iso_code")
        number = _text(asn, 20)
        if number and not number.upper().startswith("AS"):
            number = f"AS{number}"
        who = " ".join(p for p in (number.upper(), _text(name)) if p)
        return ", ".join(p for p in (who, _text(country, 2).upper()) if p)

    def close(self) -> None:
        self._reader.close()
