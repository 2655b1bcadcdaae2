"""What a piece of text is, when it is not (or may not be) a bounce.

Recognises ARF feedback reports (RFC 5965), DMARC aggregate and failure reports (RFC 7489),
auto-replies (RFC 3834), delivery receipts, and plain chat.
"""

from __future__ import annotations

import re

from handlers.ndr.mime import Document
from handlers.ndr.model import Kind
from handlers.ndr.phrases import AUTO_REPLY_PHRASES, REPORT_PHRASES

__all__ = ["BOUNCE_PHRASES", "non_bounce_kind"]

# Headlines and fixed sentences of delivery-failure notices, in the languages people paste.
BOUNCE_PHRASES = REPORT_PHRASES
_AUTO_REPLY_SUBJECT = AUTO_REPLY_PHRASES
_AUTO_REPLY_TEXT = re.compile(
    r"\b(?:I am|I'm|I will be) (?:currently )?(?:out of (?:the )?office|away|on (?:annual )?leave|on vacation)"
    r"|\bout of office\b|\bautomatic reply\b|\bautomated response\b"
    r"|\bich bin (?:bis .{1,40} )?(?:nicht im b.ro|abwesend|im urlaub)"
    r"|\bje suis (?:actuellement )?absente?\b|\bestoy (?:fuera de la oficina|de vacaciones|ausente)"
    r"|\bestou (?:fora do escrit.rio|ausente|de f.rias)|\bik ben (?:.{1,40} )?(?:afwezig|niet aanwezig)"
    r"|\bsono (?:fuori ufficio|assente|in ferie)",
    re.IGNORECASE,
)
_DMARC_SUBJECT = re.compile(
    r"report[ -]domain:.{1,300}submitter:|dmarc (?:aggregate )?report", re.IGNORECASE
)
_DMARC_XML = re.compile(
    r"<feedback>\s*(?:<version>[^<]{0,20}</version>\s*)?<report_metadata>", re.IGNORECASE
)
_FEEDBACK_TYPE = re.compile(r"^Feedback-Type:\s*([\w-]{1,40})", re.IGNORECASE | re.MULTILINE)


def non_bounce_kind(doc: Document, report_text: str, has_failure: bool) -> Kind | None:
    """The kind of a document that is not a delivery failure, or None when it may be one."""
    subject = doc.header("subject")
    feedback = _FEEDBACK_TYPE.search("\n".join(doc.dsn_texts) + "\n" + report_text[:20000])
    if (
        doc.report_type == "feedback-report"
        or "message/feedback-report" in doc.content_types
        or (feedback and not has_failure)
    ):
        kind = (feedback.group(1).lower() if feedback else "").strip()
        return Kind.DMARC_REPORT if kind == "auth-failure" else Kind.FEEDBACK
    if doc.report_type == "disposition-notification":
        return Kind.DELIVERED
    if not has_failure:
        if _DMARC_SUBJECT.search(subject) or _DMARC_XML.search(report_text[:20000]):
            return Kind.DMARC_REPORT
        if _is_auto_reply(doc, subject, report_text):
            return Kind.AUTO_REPLY
    return None


def _is_auto_reply(doc: Document, subject: str, text: str) -> bool:
    auto = doc.header("auto-submitted").lower()
    if doc.header("x-autoreply") or doc.header("x-autorespond") or auto.startswith("auto-replied"):
        return not BOUNCE_PHRASES.search(subject)
    if _AUTO_REPLY_SUBJECT.search(subject):
        return True
    return bool(
        doc.header("precedence").lower() == "auto_reply" or _AUTO_REPLY_TEXT.search(text[:4000])
    )
