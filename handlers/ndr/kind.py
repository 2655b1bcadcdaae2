"""What a piece of text is, when it is not (or may not be) a bounce.

Recognises ARF feedback reports (RFC 5965), DMARC aggregate and failure reports (RFC 7489),
auto-replies (RFC 3834) in the languages people paste, delivery receipts, challenge-response and
whitelist requests, mailing-list moderation notices, delisting confirmations, headers of delivered
mail, and plain chat. None of these gets a remediation card or counts towards a trend alert.

Challenge-response requests, list notices and delisting confirmations are recognised before any
failure wording: they say "your message was not delivered (yet)" by design.
"""

from __future__ import annotations

import re

from handlers.ndr.codes import has_code
from handlers.ndr.lazyre import lazy
from handlers.ndr.mime import Document
from handlers.ndr.model import Kind
from handlers.ndr.phrases import AUTO_REPLY_PHRASES, REPORT_PHRASES

__all__ = ["BOUNCE_PHRASES", "looks_mail_related", "non_bounce_kind"]

# Headlines and fixed sentences of delivery-failure notices, in the languages people paste.
BOUNCE_PHRASES = REPORT_PHRASES
_AUTO_REPLY_SUBJECT = AUTO_REPLY_PHRASES
_AUTO_REPLY_TEXT = lazy(
    r"\b(?:I am|I'm|I will be) (?:currently )?(?:out of (?:the )?office|away|on (?:annual )?leave|on vacation)"
    r"|\bout of office\b|\bautomatic reply\b|\bautomated response\b"
    r"|\bich bin (?:bis .{1,40} )?(?:nicht im b.ro|abwesend|im urlaub)"
    r"|\bje suis (?:actuellement )?absente?\b|\bestoy (?:fuera de la oficina|de vacaciones|ausente)"
    r"|\bestou (?:fora do escrit.rio|ausente|de f.rias)|\bik ben (?:.{1,40} )?(?:afwezig|niet aanwezig)"
    r"|\bsono (?:fuori ufficio|assente|in ferie)",
    re.IGNORECASE,
)
# "Please confirm you are a human" / "add me to your whitelist" requests (Boxbe, SpamArrest,
# Mailwasher-style challenge-response filters).
_CHALLENGE = lazy(
    r"\bboxbe\b|spamarrest|challenge[- ]response|(?:confirm|verify|prove) (?:that )?you(?: are|'re) (?:a )?(?:human|real|not a (?:robot|spammer))"
    r"|\b(?:add|put) (?:me|this address|my address) (?:to|on) your (?:white ?list|allow ?list|address book|approved senders)"
    r"|(?:whitelist|white-list|allowlist) request|request to be (?:added to|whitelisted)"
    r"|\bto (?:get|have) your (?:e-?mail|message) delivered,? (?:please )?(?:click|reply|verify|confirm)"
    r"|I(?: am|'m) protecting myself from (?:receiving )?(?:junk|spam)"
    r"|(?:is|are) (?:waiting|held) (?:for )?(?:your )?(?:verification|approval) (?:by|from) the sender",
    re.IGNORECASE,
)
_CHALLENGE_WORDS = (
    "boxbe",
    "spamarrest",
    "challenge",
    "confirm that you",
    "confirm you",
    "verify you",
    "prove you",
    "white list",
    "whitelist",
    "white-list",
    "allowlist",
    "allow list",
    "approved senders",
    "address book",
    "protecting myself",
    "get your",
    "have your",
    "by the sender",
)
_DELIST_WORDS = ("delist", "de-list", "removed from", "unblocked", "removal", "listed")
# The long list as one search (RE2's, one pass over the text) instead of an "in" test per word.
# (Six words stay "in" tests: the pattern would only run those tests first, and then itself.)
_ANY_CHALLENGE_WORD = lazy("|".join(map(re.escape, _CHALLENGE_WORDS)))
# A list holding a post for its moderator (Mailman, Google Groups, Sympa, LISTSERV).
_LIST_NOTICE = lazy(
    r"is being held until the list moderator|awaits? (?:the )?moderator(?:'s)? approval"
    r"|(?:pending|awaiting|held for) (?:moderator |moderation|approval by the moderator)"
    r"|post(?:ing)? to (?:a )?moderated list|message has been held for moderation"
    r"|requires? (?:the )?approval of (?:the )?(?:list )?moderator",
    re.IGNORECASE,
)
# A blocklist or provider confirming a removal.
_DELIST = lazy(
    r"(?:has|have) been (?:de-?listed|removed from (?:our|the) (?:block|black|deny) ?list|unblocked)"
    r"|de-?listing (?:request )?(?:has been |was )?(?:completed|approved|processed|successful)"
    r"|removal (?:request )?(?:has been |was )?(?:completed|approved|processed|successful)"
    r"|(?:is|are) no longer listed (?:on|in) (?:our|the|any) (?:block|black|deny|spam|dnsbl|rbl)",
    re.IGNORECASE,
)
# A paste that says a message was delivered, queued or read (with no failure in it).
_DELIVERED_TEXT = lazy(
    r"successfully delivered|delivered to (?:the )?(?:mailbox|destination)|\bwas read by\b"
    r"|\b(?:read|return) receipt\b|Message sent:\s*250|\b250 (?:2\.\d\.\d )?(?:Ok:? )?queued\b"
    r"|\bstatus=sent\b|^[^\n]{0,80} => \S+@\S+",
    re.IGNORECASE | re.MULTILINE,
)
# Header lines of a delivered message: a paste that is mostly these, with no failure, is headers.
_HEADER_LINE = lazy(
    r"^[ \t>]*(?:Received|Authentication-Results|ARC-[\w-]+|DKIM-Signature|Received-SPF|Return-Path"
    r"|X-[\w-]+|Message-ID|Delivered-To|Date|From|To|Subject|MIME-Version|Content-[\w-]+):",
    re.IGNORECASE | re.MULTILINE,
)

_DMARC_SUBJECT = lazy(
    r"report[ -]domain:.{1,300}submitter:|dmarc (?:aggregate )?report", re.IGNORECASE
)
_DMARC_XML = lazy(
    r"<feedback>\s*(?:<version>[^<]{0,20}</version>\s*)?<report_metadata>", re.IGNORECASE
)
_FEEDBACK_TYPE = lazy(r"^Feedback-Type:\s*([\w-]{1,40})", re.IGNORECASE | re.MULTILINE)


def looks_mail_related(data: bytes | str) -> bool:
    """True when a text too large to read still reads as a bounce (a report heading or an
    enhanced status code in its first 64 KB): worth telling its sender why it was not read."""
    head = data[:65536] if isinstance(data, str) else data[:65536].decode("utf-8", "replace")
    return bool(BOUNCE_PHRASES.search(head) or _ENHANCED_CODE.search(head))


_ENHANCED_CODE = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")


def non_bounce_kind(doc: Document, report_text: str, has_failure: bool) -> Kind | None:
    """The kind of a document that is not a delivery failure, or None when it may be one."""
    subject = doc.header("subject")
    declared = (
        doc.report_type == "feedback-report" or "message/feedback-report" in doc.content_types
    )
    # A Feedback-Type: field makes a report of a text that does not say it failed (looked for
    # only there, or to name a declared report's type).
    feedback = (
        _FEEDBACK_TYPE.search("\n".join(doc.dsn_texts) + "\n" + report_text[:20000])
        if declared or not has_failure
        else None
    )
    if declared or (feedback and not has_failure):
        kind = (feedback.group(1).lower() if feedback else "").strip()
        return Kind.DMARC_REPORT if kind == "auth-failure" else Kind.FEEDBACK
    if doc.report_type == "disposition-notification":
        return Kind.DELIVERED
    head = subject + "\n" + report_text[:4000]
    low = head.lower()  # cheap word tests on what the patterns search: most texts are none of these
    if _ANY_CHALLENGE_WORD.search(low) and _CHALLENGE.search(head):
        return Kind.CHALLENGE
    if ("moderat" in low or "approval" in low) and _LIST_NOTICE.search(head):
        return Kind.LIST_NOTICE
    if (
        any(w in low for w in _DELIST_WORDS)
        and _DELIST.search(head)
        and (not has_failure or not has_code(report_text[:20_000]))
        and not BOUNCE_PHRASES.search(head)
    ):
        return Kind.DELIST_NOTICE
    if not has_failure:
        if _DMARC_SUBJECT.search(subject) or _DMARC_XML.search(report_text[:20000]):
            return Kind.DMARC_REPORT
        if _is_auto_reply(doc, subject, report_text):
            return Kind.AUTO_REPLY
        if _mostly_headers(report_text) and not doc.is_message:
            return Kind.HEADERS
        if doc.is_message and not report_text.strip() and doc.header("received"):
            return Kind.HEADERS  # only the headers of a message were pasted
        if _DELIVERED_TEXT.search(head):
            return Kind.DELIVERED
    return None


def _mostly_headers(text: str) -> bool:
    lines = [line for line in text[:20_000].split("\n") if line.strip() and line[:1] not in " \t"]
    headers = len(_HEADER_LINE.findall(text[:20_000]))
    return headers >= 1 and headers * 2 >= len(lines)


def _is_auto_reply(doc: Document, subject: str, text: str) -> bool:
    auto = doc.header("auto-submitted").lower()
    if doc.header("x-autoreply") or doc.header("x-autorespond") or auto.startswith("auto-replied"):
        return not BOUNCE_PHRASES.search(subject)
    if _AUTO_REPLY_SUBJECT.search(subject):
        return True
    return bool(
        doc.header("precedence").lower() == "auto_reply" or _AUTO_REPLY_TEXT.search(text[:4000])
    )
