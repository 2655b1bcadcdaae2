"""Cards to render in the Teams tests: one diagnosis card per catalogue variant, and hostile ones."""

from __future__ import annotations

from handlers.card import Card
from handlers.cards import diagnosis_card
from handlers.checklist import TickRecord
from handlers.checks.result import CheckResult, Finding, Severity, Status
from handlers.diagnosis import Diagnosis
from handlers.ndr.model import Bounce, FailedRecipient, Kind, Mta
from knowledge import Catalogue, Facts, Variant

# What a hostile paste could try in Teams: markdown links and emphasis, mentions, HTML, quotes,
# a script end tag, control characters, bidi overrides and bare links for the auto-linker.
HOSTILE = (
    '[click](https://evil.example) **bold** _it_ ~~s~~ <at>Everyone</at> <at id="0">Pat</at> '
    "# heading\n- item\n1. one\n> quote \"double\" 'single' </script><script>alert(1)</script> "
    "\x00\x07\x1b[31m\u202eevil\u2066 https://evil.example www.evil.example "
    '![img](https://evil.example/x.png) <a href="https://evil.example">a</a> &lt;at&gt;'
)

_STATUSES = (Status.FAIL, Status.WARN, Status.PASS, Status.UNKNOWN)


def _first_code(variant: Variant) -> tuple[str, str]:
    """A status and reply code the variant covers (its first code range), or a generic one."""
    if variant.codes:
        status = ".".join(map(str, variant.codes[0].lo))
    else:
        status = "4.4.7" if variant.severity == "transient" else "5.0.0"
    return status, "450" if status.startswith("4") else "550"


def sample_diagnosis(variant: Variant, *, sender: str = "pat@contoso.com") -> Diagnosis:
    """A bounce of ``variant`` with every fact a card shows."""
    status, reply = _first_code(variant)
    delay = status.startswith("4")
    recipient = FailedRecipient(
        address="kim@fabrikam.com",
        status=status,
        reply_code=reply,
        diagnostic=f"{reply} {status} {variant.title} (sample)",
        remote_mta=Mta("mx.fabrikam.com", "198.51.100.7"),
    )
    bounce = Bounce(
        kind=Kind.DELAY if delay else Kind.BOUNCE,
        recipients=(recipient,),
        sender=sender,
        reporting_mta="mail.contoso.com",
        sending_ip="203.0.113.5",
        system=variant.system,
    )
    facts = Facts(
        sender=sender,
        recipient="kim@fabrikam.com",
        sender_domain=sender.rpartition("@")[2] or None,
        recipient_domain="fabrikam.com",
        sending_ip="203.0.113.5",
        remote_host="mx.fabrikam.com",
        status=status,
        reply_code=reply,
        start_date="2026-11-19",
        end_date="2026-11-20",
    )
    return Diagnosis(bounce, variant, (variant.reason,), "high", ("sample",), facts)


def sample_checks(variant: Variant, target: str = "contoso.com") -> list[CheckResult]:
    """One result per check the variant asks for, cycling through every status."""
    return [
        CheckResult(
            check=name,
            target=target,
            status=_STATUSES[n % len(_STATUSES)],
            summary=f"{name} {_STATUSES[n % len(_STATUSES)]} for {target}",
            findings=(Finding(Severity.WARNING, f"{name}.sample", f"A {name} finding."),),
        )
        for n, name in enumerate(variant.checks)
    ]


def variant_card(catalogue: Catalogue, variant: Variant) -> Card:
    """The diagnosis card a bounce of ``variant`` gets, with its planned checks."""
    diagnosis = sample_diagnosis(variant)
    return diagnosis_card(
        diagnosis, catalogue, sample_checks(variant), card_id=f"golden-{variant.key}"
    )


def security_steps(catalogue: Catalogue) -> tuple[str, ...]:
    """The compromise checklist's steps that must be ticked before the unblock step."""
    items = catalogue.checklists["compromise"].items
    return tuple(item.id for item in items if item.required_before_unblock)


def checklist_card(catalogue: Catalogue, ticked: dict[str, TickRecord] | None = None) -> Card:
    """The restricted-sender card with the compromise checklist, ``ticked`` as given."""
    variant = next(v for v in catalogue.variants if v.checklist == "compromise")
    return diagnosis_card(
        sample_diagnosis(variant), catalogue, card_id="checklist-card", ticks=ticked
    )


def hostile_card(catalogue: Catalogue) -> Card:
    """A diagnosis card whose sender, diagnostic and checks carry :data:`HOSTILE` text."""
    variant = next(v for v in catalogue.variants if v.checklist == "compromise")
    diagnosis = sample_diagnosis(variant, sender=f"{HOSTILE}@contoso.com")
    checks = [
        CheckResult(
            check="spf",
            target=HOSTILE,
            status=Status.FAIL,
            summary=HOSTILE,
            findings=(Finding(Severity.ERROR, "spf.x", HOSTILE),),
        )
    ]
    ticks = {"reset_password": TickRecord(HOSTILE, "2026-11-20T09:15:00+00:00")}
    return diagnosis_card(diagnosis, catalogue, checks, card_id="hostile", ticks=ticks)
