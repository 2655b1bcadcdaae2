"""DMARC record parsing and validation (RFC 7489 section 6.3, RFC 9989): pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["DmarcRecord", "ReportUri", "is_dmarc_record", "parse_dmarc"]

_POLICIES = ("none", "quarantine", "reject")
_KNOWN = {"v", "p", "sp", "np", "adkim", "aspf", "pct", "rua", "ruf", "fo", "rf", "ri", "psd", "t"}
_URI = re.compile(r"^mailto:([^@!\s]+)@([^!\s]+?)(?:!(\d+)([kmgt]?))?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReportUri:
    """One ``rua``/``ruf`` destination (RFC 7489 section 6.2)."""

    uri: str
    address: str
    domain: str


@dataclass(frozen=True)
class DmarcRecord:
    """A parsed DMARC record; ``problems`` are (code, message) pairs found while parsing."""

    text: str
    tags: dict[str, str]
    policy: str | None
    subdomain_policy: str | None
    nonexistent_policy: str | None
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100
    psd: str = "u"
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    problems: tuple[tuple[str, str], ...] = field(default=())
    unknown_tags: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """False when receivers would ignore the record (no usable policy)."""
        return self.policy is not None and not any(c == "dmarc.invalid" for c, _m in self.problems)


def is_dmarc_record(text: str) -> bool:
    """True when a TXT string at ``_dmarc`` starts with the ``v=DMARC1`` tag (section 6.3)."""
    return re.match(r"^\s*v\s*=\s*DMARC1\s*(;|$)", text) is not None


def _uris(tag: str, value: str, problems: list[tuple[str, str]]) -> tuple[ReportUri, ...]:
    out = []
    for raw in (u.strip() for u in value.split(",")):
        match = _URI.match(raw)
        if not match:
            problems.append(
                (
                    "dmarc.bad_tag",
                    f"{tag}: {raw!r} is not a 'mailto:' address (RFC 7489 section 6.2)",
                )
            )
            continue
        out.append(
            ReportUri(raw, f"{match.group(1)}@{match.group(2)}", match.group(2).lower().rstrip("."))
        )
    return tuple(out)


def _choice(
    tags: dict[str, str], tag: str, allowed: tuple[str, ...], problems: list[tuple[str, str]]
) -> str | None:
    if tag not in tags:
        return None
    value = tags[tag].lower()
    if value not in allowed:
        problems.append(
            ("dmarc.bad_tag", f"{tag}={tags[tag]!r} is not one of {', '.join(allowed)}")
        )
        return None
    return value


def parse_dmarc(text: str) -> DmarcRecord:
    """Parse a record, collecting every problem rather than stopping at the first."""
    problems: list[tuple[str, str]] = []
    tags: dict[str, str] = {}
    order: list[str] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or not re.fullmatch(r"[a-z0-9_]+", name):
            problems.append(("dmarc.bad_tag", f"{part.strip()!r} is not a tag=value pair"))
            continue
        if name in tags:
            problems.append(("dmarc.bad_tag", f"tag {name!r} appears twice"))
        tags[name] = value.strip()
        order.append(name)
    if not order or order[0] != "v" or tags.get("v") != "DMARC1":
        problems.append(
            ("dmarc.invalid", "the record must start with 'v=DMARC1' (RFC 7489 section 6.4)")
        )
    policy = _choice(tags, "p", _POLICIES, problems)
    if "p" not in tags:
        problems.append(
            ("dmarc.invalid", "the required 'p=' tag is missing (RFC 7489 section 6.3)")
        )
    elif policy is None:
        problems.append(
            ("dmarc.invalid", f"p={tags['p']!r} is not a policy, so receivers ignore the record")
        )
    sp = _choice(tags, "sp", _POLICIES, problems)
    np = _choice(tags, "np", _POLICIES, problems)
    adkim = _choice(tags, "adkim", ("r", "s"), problems) or "r"
    aspf = _choice(tags, "aspf", ("r", "s"), problems) or "r"
    psd = _choice(tags, "psd", ("y", "n", "u"), problems) or "u"
    _choice(tags, "t", ("y", "n"), problems)
    pct = 100
    if "pct" in tags:
        if tags["pct"].isdigit() and 0 <= int(tags["pct"]) <= 100:
            pct = int(tags["pct"])
        else:
            problems.append(
                ("dmarc.bad_tag", f"pct={tags['pct']!r} must be a whole number from 0 to 100")
            )
    if "ri" in tags and not tags["ri"].isdigit():
        problems.append(("dmarc.bad_tag", f"ri={tags['ri']!r} must be a number of seconds"))
    if "fo" in tags and not all(o.strip() in ("0", "1", "d", "s") for o in tags["fo"].split(":")):
        problems.append(
            ("dmarc.bad_tag", f"fo={tags['fo']!r}: options are 0, 1, d and s separated by ':'")
        )
    if "rf" in tags and tags["rf"].lower() != "afrf":
        problems.append(("dmarc.bad_tag", f"rf={tags['rf']!r}: the only format is 'afrf'"))
    rua = _uris("rua", tags["rua"], problems) if "rua" in tags else ()
    ruf = _uris("ruf", tags["ruf"], problems) if "ruf" in tags else ()
    unknown = tuple(t for t in order if t not in _KNOWN)
    return DmarcRecord(
        text=text,
        tags=tags,
        policy=policy,
        subdomain_policy=sp,
        nonexistent_policy=np,
        adkim=adkim,
        aspf=aspf,
        pct=pct,
        psd=psd,
        rua=rua,
        ruf=ruf,
        problems=tuple(problems),
        unknown_tags=unknown,
    )
