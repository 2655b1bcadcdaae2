"""Cards to render: one diagnosis card per catalogue variant, and hostile ones."""

from __future__ import annotations

from handlers.card import Card
from handlers.cards import diagnosis_card
from handlers.checklist import TickRecord
from handlers.checks.result import CheckResult, Finding, Severity, Status
from handlers.diagnosis import Diagnosis
from handlers.ndr.model import Bounce, FailedRecipient, Kind, Mta
from knowledge import Catalogue, Facts, Variant

HOSTILE = (
    "<!channel> @here @channel @everyone <!here|here> <@U123> <#C123|general> "
    "<https://evil.example|click> https://evil.example *bold* _it_ ~s~ `tick` ``` fence ``` "
    "&amp; &lt;!channel&gt; \u202eevil"
)

_STATUSES = (Status.FAIL, Status.WARN, Status.PASS, Status.UNKNOWN)


def sample_diagnosis(
    variant: Variant, *, sender: str = "pat@contoso.com", diagnostic: str = ""
) -> Diagnosis:
    """A bounce of ``variant`` with every fact a card shows."""
    delay = variant.severity == "transient"
    recipient = FailedRecipient(
        address="kim@fabrikam.com",
        status="4.4.7" if delay else "5.7.1",
        reply_code="450" if delay else "550",
        diagnostic=diagnostic or f"{variant.title} (sample)",
        remote_mta=Mta("mx.fabrikam.com", "198.51.100.7"),
    )
    bounce = Bounce(
        kind=Kind.DELAY if delay else Kind.BOUNCE,
        recipients=(recipient, FailedRecipient(address="lee@fabrikam.com")),
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
        status=recipient.status,
        reply_code=recipient.reply_code,
    )
    return Diagnosis(bounce, variant, (variant.reason,), "high", ("sample",), facts)


def sample_checks(variant: Variant, target: str = "contoso.com") -> list[CheckResult]:
    """One result per check the variant asks for, in every status."""
    return [
        CheckResult(
            check=name,
            target=target,
            status=_STATUSES[n % len(_STATUSES)],
            summary=f"{name.upper()} for {target}: sample result.",
            findings=(Finding(Severity.WARNING, f"{name}.sample", f"A {name} finding."),),
        )
        for n, name in enumerate(variant.checks)
    ]


def variant_card(
    catalogue: Catalogue, variant: Variant, ticks: dict[str, TickRecord] | None = None
) -> Card:
    """The diagnosis card ndrbot posts for a bounce of ``variant``."""
    return diagnosis_card(
        sample_diagnosis(variant),
        catalogue,
        sample_checks(variant),
        card_id=f"card-{variant.key}",
        ticks=ticks,
    )


def hostile_card(catalogue: Catalogue, text: str = HOSTILE) -> Card:
    """A restricted-sender card whose every pasted value is ``text``."""
    variant = catalogue.get("exo_bad_outbound_sender_restricted")
    diagnosis = sample_diagnosis(variant, sender=text, diagnostic=text)
    checks = [CheckResult("spf", text, Status.FAIL, text, (Finding(Severity.ERROR, "x", text),))]
    return diagnosis_card(diagnosis, catalogue, checks, card_id="card-hostile")
