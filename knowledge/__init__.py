"""The NDR variant catalogue: known bounce variants, what they mean and how to fix them.

Data lives in ``knowledge/data/*.yaml`` (one file per rejecting system, plus the tool library and
the checklists) and commands in ``knowledge/templates/*.j2``. :func:`load_catalogue` reads and
validates all of it, so a typo fails at start-up with a :class:`CatalogueError` that names the
file and entry. Nothing here does I/O beyond reading those files.

    catalogue = load_catalogue()
    variant = catalogue.get("exo_unable_to_relay_no_connector")
    remediation = catalogue.render(variant, Facts(sender="pat@contoso.com"))
"""

from ._catalogue import Catalogue
from ._loader import load_catalogue
from ._model import (
    CHECKS,
    DELIST_NAMES,
    EVIDENCE,
    FAMILIES,
    MICROSOFT_FAMILIES,
    REASONS,
    SEVERITIES,
    SYSTEMS,
    WHO,
    CatalogueError,
    Checklist,
    ChecklistItem,
    CodeRange,
    Command,
    DelistRoute,
    Facts,
    Link,
    Remediation,
    SendingService,
    Variant,
    parse_code,
)

__all__ = [
    "CHECKS",
    "DELIST_NAMES",
    "EVIDENCE",
    "FAMILIES",
    "MICROSOFT_FAMILIES",
    "REASONS",
    "SEVERITIES",
    "SYSTEMS",
    "WHO",
    "Catalogue",
    "CatalogueError",
    "Checklist",
    "ChecklistItem",
    "CodeRange",
    "Command",
    "DelistRoute",
    "Facts",
    "Link",
    "Remediation",
    "SendingService",
    "Variant",
    "load_catalogue",
    "parse_code",
]
