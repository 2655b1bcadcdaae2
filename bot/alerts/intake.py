"""NDR intake: a bounce from a mail system, a mailbox forwarder or ``ndrbot ingest``, diagnosed,
counted for trends, and kept raw whatever happens.

Outcomes (:class:`IntakeResult.status`):

``diagnosed``     a delivery failure ndrbot recognised; counted for trends.
``not_a_bounce``  an auto-reply, a feedback or DMARC report, a delivery receipt, a challenge or
                  list-moderation notice, a delisting confirmation, headers of delivered mail:
                  kept, not counted.
``duplicate``     the same bytes arrived within a day (a forwarder retrying); not counted again.
``unreadable``    mail-like, but ndrbot could not read it as a bounce (or the reader failed):
                  kept, and an alert says so (at most one per trend window; the next one
                  counts the others).
``garbage``       text that is not mail at all; kept, refused (HTTP 400), no alert.

Input over the size cap raises :class:`~handlers.ndr.InputTooLarge` and nothing is stored: the
sender still holds it and is told why.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.trends import TrendWatcher
from bot.store.alerts import AlertStore, NewAlert
from handlers.diagnosis import Diagnosis, diagnose
from handlers.failures import log_failure
from handlers.ndr import Bounce, InputTooLarge, Kind, read
from handlers.ports import Clock
from handlers.refusals import Refusal
from handlers.watch.cards import unreadable_card
from knowledge import Catalogue

__all__ = ["Intake", "IntakeResult", "NotText", "Reading", "check_text"]

log = logging.getLogger("ndrbot.alerts.intake")

DUPLICATE_WINDOW = timedelta(days=1)
_NOT_BOUNCES = (
    Kind.AUTO_REPLY,
    Kind.FEEDBACK,
    Kind.DMARC_REPORT,
    Kind.DELIVERED,
    Kind.CHALLENGE,
    Kind.LIST_NOTICE,
    Kind.DELIST_NOTICE,
    Kind.HEADERS,
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\x0c\x1b")


class NotText(Refusal):
    """The input is empty or binary: there is no message to keep (the text says what to send)."""


def check_text(raw: bytes) -> None:
    """Raise :class:`NotText` unless ``raw`` could be a message or a pasted text."""
    if not raw.strip():
        raise NotText("The body is empty: send the bounce (the raw message, or its text).")
    sample = raw[:65536]
    controls = sum(1 for b in sample if b < 0x20 and b not in _TEXT_CONTROLS)
    if b"\x00" in sample or controls > len(sample) // 100:
        raise NotText(
            "The body is binary, not a message: send the raw message (message/rfc822) or "
            "the bounce text, not an attachment or an archive."
        )


@dataclass(frozen=True)
class IntakeResult:
    """What intake did with one bounce."""

    status: str
    intake_id: int
    message: str
    family: str | None = None
    variant: str | None = None
    title: str | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON answer of ``POST /api/ndr``."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Reading:
    """A bounce read and diagnosed, or why the reader failed on it (``failure``). Making one
    touches nothing but the bytes and the catalogue, so it may run in a worker thread."""

    bounce: Bounce | None
    diagnosis: Diagnosis | None
    failure: str = ""


class Intake:
    """Keeps, diagnoses and counts received bounces."""

    def __init__(
        self,
        store: AlertStore,
        catalogue: Catalogue,
        trends: TrendWatcher,
        *,
        clock: Clock,
        max_bytes: int,
        alert_quiet: timedelta,
        destinations: Callable[[], tuple[tuple[str, str], ...]],
        on_alert: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.trends = trends
        self.clock = clock
        self.max_bytes = max_bytes
        self.alert_quiet = alert_quiet
        self.destinations = destinations
        self.on_alert = on_alert

    def read(self, raw: bytes) -> Reading:
        """Read and diagnose ``raw`` without storing anything (CPU work: a worker thread may do
        it). Raises InputTooLarge and NotText, as :meth:`take` does."""
        if len(raw) > self.max_bytes:
            raise InputTooLarge(len(raw), self.max_bytes)
        check_text(raw)
        try:
            bounce = read(raw, max_bytes=self.max_bytes)
            return Reading(bounce, diagnose(bounce, self.catalogue))
        except InputTooLarge:
            raise
        except Exception as exc:  # a reader bug: keep the message, say so, fix the reader
            log_failure(log, "reading an intake bounce", exc)
            return Reading(None, None, f"the reader failed ({type(exc).__name__})")

    def take(
        self,
        raw: bytes,
        *,
        source: str,
        at: datetime | None = None,
        alert: bool = True,
        reading: Reading | None = None,
    ) -> IntakeResult:
        """Keep, read, diagnose and count one bounce (``at``: when it bounced, default now);
        ``reading`` is :meth:`read`'s result when it was made already (off the event loop).

        Raises InputTooLarge (nothing kept) and NotText (nothing to keep).
        """
        if len(raw) > self.max_bytes:
            raise InputTooLarge(len(raw), self.max_bytes)
        check_text(raw)
        now = self.clock()
        digest = hashlib.sha256(raw).hexdigest()
        since = now - DUPLICATE_WINDOW
        claimed = self.store.claim_intake(digest, at=now, since=since)
        seen = self.store.intake_seen(digest, since=since)  # kept before receipts existed, too
        if seen is not None:
            return IntakeResult("duplicate", seen, f"Already received as intake #{seen}.")
        if not claimed:  # the first copy is still being read (here or on another replica)
            return IntakeResult("duplicate", 0, "Already received; it is being read now.")
        try:
            return self._take(raw, digest, source, now, at, alert, reading)
        except BaseException:
            # Nothing kept: a retry must be taken, not called a duplicate (a kept one stays).
            self.store.release_intake(digest, since=since)
            raise

    def _take(
        self,
        raw: bytes,
        digest: str,
        source: str,
        now: datetime,
        at: datetime | None,
        alert: bool,
        reading: Reading | None,
    ) -> IntakeResult:
        reading = reading or self.read(raw)
        bounce, diagnosis = reading.bounce, reading.diagnosis
        if bounce is None or diagnosis is None:
            return self._unreadable(raw, digest, source, None, reading.failure, alert)
        if bounce.kind is Kind.CHAT:
            intake_id = self.store.add_intake(
                at=now, source=source, digest=digest, raw=raw, status="garbage"
            )
            return IntakeResult(
                "garbage",
                intake_id,
                "This does not look like a bounce or an e-mail message (no mail headers, no "
                "delivery-status text). Send the whole bounce as it arrived.",
            )
        if bounce.kind in _NOT_BOUNCES:
            intake_id = self.store.add_intake(
                at=now, source=source, digest=digest, raw=raw, status="not_a_bounce"
            )
            return IntakeResult(
                "not_a_bounce", intake_id, f"Kept, not counted: this is a {bounce.kind}."
            )
        variant = diagnosis.variant
        if not bounce.is_ndr or variant is None:
            why = "it is mail, but not a delivery report ndrbot recognises"
            return self._unreadable(raw, digest, source, bounce.subject, why, alert)
        intake_id = self.store.add_intake(
            at=now,
            source=source,
            digest=digest,
            raw=raw,
            status="diagnosed",
            family=variant.family,
            variant=variant.key,
            sender_domain=diagnosis.targets.sender_domain,
        )
        self.trends.observe(diagnosis, source, at)
        return IntakeResult(
            "diagnosed",
            intake_id,
            "Diagnosed and counted.",
            family=variant.family,
            variant=variant.key,
            title=variant.title,
        )

    def _unreadable(
        self, raw: bytes, digest: str, source: str, subject: str | None, why: str, alert: bool
    ) -> IntakeResult:
        now = self.clock()
        last = self.store.last_alert("unreadable")
        intake_id = self.store.add_intake(
            at=now, source=source, digest=digest, raw=raw, status="unreadable", error=why
        )
        if alert and (last is None or now - last[1] >= self.alert_quiet):
            # At most one such alert per quiet period; the next one counts those in between.
            others = 0
            if last is not None and last[0].rpartition(":")[2].isdigit():
                others = self.store.count_unreadable(after_id=int(last[0].rpartition(":")[2])) - 1
            card = unreadable_card(
                intake_id=intake_id,
                size=len(raw),
                source=source,
                subject=subject,
                reason=why,
                others=max(others, 0),
            )
            self.store.enqueue(
                NewAlert(
                    key=f"unreadable:{intake_id}",
                    kind="unreadable",
                    subject=f"intake #{intake_id}",
                    card=card,
                    destinations=self.destinations(),
                ),
                at=now,
            )
            self.on_alert()
        return IntakeResult(
            "unreadable",
            intake_id,
            f"Kept as intake #{intake_id}, but ndrbot could not read it as a bounce ({why}).",
        )
