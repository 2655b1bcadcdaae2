"""Which checks to run on what: a :class:`CheckPlan`. Pure: values in, a plan out.

Every path that runs checks plans here and runs the plan with :func:`handlers.checks.run.run_plan`:
a diagnosed bounce, a slash command, the console, ``ndrbot check`` and the watch scheduler.

The rules:

- The vocabulary is the catalogue's: ``spf``, ``dkim``, ``dmarc``, ``dnsbl``, ``rdns``, ``mx``.
  A name outside it is a bug (a catalogue typo) and raises ``ValueError``.
- A check whose target a bounce does not give (no sending IP, say), or gives masked, is not run
  and says so: an ``unknown`` result with ``details.skipped = true`` and the reason, so a reader
  sees what was not checked rather than silence.
- A malformed target is :class:`InvalidTarget`. From a bounce it is a skipped check with the
  reason; from a person (a command, the CLI) it refuses the whole plan, so they can fix it.
- Any other exception inside a check is a bug in ndrbot, not a DNS answer: it becomes an
  ``unknown`` result naming the check and the error class (``details.error``), and is logged with
  its traceback. A card is always posted; the other checks keep their results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from handlers.checks.names import normalise_domain

__all__ = [
    "KNOWN_CHECKS",
    "CheckPlan",
    "CheckTargets",
    "Step",
    "plan_for_bounce",
    "plan_for_domain",
    "plan_for_ip",
    "single",
]

KNOWN_CHECKS = ("spf", "dkim", "dmarc", "dnsbl", "rdns", "mx")
_RESULT_NAME = {"dnsbl": "blocklist"}


@dataclass(frozen=True)
class CheckTargets:
    """What the automated checks of a diagnosed bounce would look at."""

    sender_domain: str | None = None
    sending_ip: str | None = None
    from_domain: str | None = None
    spf_domain: str | None = None
    dkim_domains: tuple[str, ...] = ()
    dkim_selectors: tuple[tuple[str, str], ...] = ()
    mx_domain: str | None = None  # whose MX matters: the recipient's, or the sender's
    sending_ip_hidden: str | None = None  # what the paste showed where it masked the sending IP


@dataclass(frozen=True)
class Step:
    """One check on one target, with the options that check takes.

    ``skip`` set means the check is not run: the result is ``unknown`` with that reason.
    """

    check: str  # the catalogue's vocabulary (KNOWN_CHECKS)
    target: str = ""
    skip: str | None = None
    ip: str | None = None  # spf: evaluate the record for this client IP
    sender: str | None = None  # spf: MAIL FROM for macros
    helo: str | None = None  # spf: HELO name for macros
    selectors: tuple[str, ...] = ()  # dkim
    common_selectors: bool = True  # dkim: also try the common selectors
    spf_domain: str | None = None  # dmarc: judge alignment against these
    dkim_domains: tuple[str, ...] = ()
    lists: tuple[str, ...] | None = None  # dnsbl: these lists instead of the defaults

    @property
    def result_name(self) -> str:
        """The name the result carries (``blocklist`` for ``dnsbl``)."""
        return _RESULT_NAME.get(self.check, self.check)


@dataclass(frozen=True)
class CheckPlan:
    """The checks to run, in the order their results are shown."""

    steps: tuple[Step, ...] = ()
    from_person: bool = False  # a malformed target refuses the plan instead of being skipped

    def __post_init__(self) -> None:
        unknown = [s.check for s in self.steps if s.check not in KNOWN_CHECKS]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(KNOWN_CHECKS)}")

    def __bool__(self) -> bool:
        return bool(self.steps)

    @property
    def runnable(self) -> bool:
        """True when at least one step would query DNS (not every one is skipped)."""
        return any(step.skip is None for step in self.steps)

    def to_json(self) -> str:
        """The plan as JSON, to store with a card so a Re-check runs the same checks."""
        return json.dumps(
            {
                "steps": [asdict(step) for step in self.steps],
                "from_person": self.from_person,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> CheckPlan:
        """The plan :meth:`to_json` stored (ValueError if it is not one)."""
        data = json.loads(text)
        steps = []
        for raw in data["steps"]:
            step = dict(raw)
            for key in ("selectors", "dkim_domains"):
                step[key] = tuple(step.get(key) or ())
            if step.get("lists") is not None:
                step["lists"] = tuple(step["lists"])
            steps.append(Step(**step))
        return cls(tuple(steps), from_person=bool(data.get("from_person")))


# -- planning (pure) ---------------------------------------------------------------------------


def plan_for_bounce(checks: Sequence[str], targets: CheckTargets) -> CheckPlan:
    """The plan for a diagnosed bounce: the variant's ``checks`` on what the bounce gave."""
    steps = tuple(_bounce_step(check, targets) for check in dict.fromkeys(checks))
    return CheckPlan(steps)


def _bounce_step(check: str, t: CheckTargets) -> Step:
    author = t.from_domain or t.sender_domain
    no_sender = "the bounce does not show the sender's domain"
    if check in ("dnsbl", "rdns"):
        if t.sending_ip:
            return Step(check, t.sending_ip)
        if t.sending_ip_hidden:
            shown = t.sending_ip_hidden[:45]
            return Step(
                check,
                skip=f"the paste hides the sending IP (shown as {shown}); run this check "
                "with the real address",
            )
        return Step(check, skip="the bounce does not show the sending IP")
    if check == "spf":
        domain = t.spf_domain or t.sender_domain
        return Step(check, domain, ip=t.sending_ip) if domain else Step(check, skip=no_sender)
    if check == "mx" and t.mx_domain:
        return Step(check, t.mx_domain)
    if not author:
        return Step(check, skip=no_sender)
    if check == "dmarc":
        return Step(check, author, spf_domain=t.spf_domain, dkim_domains=t.dkim_domains)
    if check == "mx":
        return Step(check, author)
    selectors = tuple(s for d, s in t.dkim_selectors if d.lower().rstrip(".") == author.lower())
    return Step(check, author, selectors=selectors)


def plan_for_domain(
    domain: str,
    *,
    selectors: Sequence[str] = (),
    common_selectors: bool = True,
    blocklists: bool = True,
) -> CheckPlan:
    """Everything for one domain (``/mailcheck``, a domain watch): SPF, DMARC, DKIM, MX and,
    with ``blocklists``, the domain blocklists. A malformed name raises InvalidTarget now."""
    domain = normalise_domain(domain)
    steps = [
        Step("spf", domain),
        Step("dmarc", domain),
        Step("dkim", domain, selectors=tuple(selectors), common_selectors=common_selectors),
        Step("mx", domain),
    ]
    if blocklists:
        steps.append(Step("dnsbl", domain))
    return CheckPlan(tuple(steps), from_person=True)


def plan_for_ip(ip: str) -> CheckPlan:
    """An IP address's checks (an IP watch): blocklists and reverse DNS."""
    return CheckPlan((Step("dnsbl", ip), Step("rdns", ip)), from_person=True)


def single(step: Step) -> CheckPlan:
    """One check a person asked for by name (``/spfcheck``, ``ndrbot check spf``)."""
    return CheckPlan((step,), from_person=True)
