"""A coarse reason for each failed recipient, in Sisimai's vocabulary.

Sisimai (libsisimai.org) is the reference bounce classifier; giving the same names lets scripts
that already key on them use ndrbot's output. The rules here are our own: each reason is a set of
enhanced status codes (RFC 3463 / IANA registry meanings) and phrases seen in real replies, tried
in a fixed order so that the most specific reason wins (a full mailbox before a generic 5.2.x,
an authentication failure before a generic policy block).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.ndr.automaton import PatternSet
from handlers.ndr.lazyre import lazy
from handlers.ndr.model import FailedRecipient, Kind

__all__ = ["reason_for"]


@dataclass(frozen=True)
class _Rule:
    reason: str
    codes: frozenset[str]
    pattern: re.Pattern[str] | None
    # When True, the rule only applies to failures at or after DATA (content was seen).
    after_data: bool = False
    # When True, a matching code alone is enough; otherwise text must match too.
    code_alone: bool = True


def _rule(reason: str, codes: str = "", phrases: tuple[str, ...] = (), **kw: bool) -> _Rule:
    # Phrases are lower case and run against lower-cased text: without re.IGNORECASE the
    # engine can use its literal-prefix shortcuts, several times faster on long alternations.
    pattern = lazy("|".join(phrases)) if phrases else None
    return _Rule(reason, frozenset(codes.split()), pattern, **kw)


_USER_UNKNOWN = (
    r"user(?:name)? (?:is )?unknown",
    r"unknown (?:user|recipient|local[- ]part|mailbox|address)",
    r"no such (?:user|mailbox|recipient|address|account|person)",
    r"(?:user|recipient|mailbox|address|account)(?: name)? (?:does not|doesn't|dose not) exist",
    r"(?:user|recipient|mailbox|address) (?:was |is )?not (?:found|exist|known|listed|valid)",
    r"recipient not found",
    r"not listed in (?:domino directory|public name & address book)",
    r"invalid (?:recipient|mailbox|user|address)",
    r"(?:mailbox|account) (?:not found|unavailable|is unavailable|does not exist)",
    r"recipnotfound|recipientnotfound|resolver\.adr\.",
    r"(?:is not|isn't) a (?:valid|known) (?:user|mailbox|recipient)",
    r"doesn't have an? \S+ account|does not have an? \S+ account",
    r"no mailbox here by that name",
    r"address rejected: user unknown|user unknown in",
    r"the email account that you tried to reach does not exist",
    r"bad destination mailbox|not our (?:user|customer)",
    r"sorry, no mailbox",
    r"we do not relay|recipient rejected",
    r"no valid recipients",
    r"recipient address rejected: access denied",
    r"invalid final delivery userid|recipient name is not recognized",
    r"please check if address is correct",
    r"address not found",
    r"recipient address rejected\.?$",
)

# Order matters: the first rule that fits wins.
_RULES: tuple[_Rule, ...] = (
    _rule(
        "mailboxfull",
        "4.2.2 5.2.2",
        (
            r"mailbox (?:is )?(?:full|over ?quota|exceeded|size limit)",
            r"(?:over|exceeded?|exceeds) (?:the )?(?:\S+ )?(?:storage |mailbox |disk )?quota",
            r"quota (?:exceeded|full|violation)",
            r"mailbox full|user'?s? (?:mailbox|inbox) is full|inbox is full|account is full",
            r"insufficient (?:storage|space) for (?:the )?(?:user|mailbox)",
            r"(?:number|size) of messages in (?:the )?recipient'?s mailbox exceeded",
            r"out of storage|storage space|mailbox size limit",
            r"recipient'?s? (?:mailbox|account) (?:is )?(?:full|over)",
            r"mailbox exceeds allowed size|mail ?folder is full",
        ),
    ),
    _rule(
        "speeding",
        "",
        (
            r"receiving mail at a rate|too many (?:recipients|messages) (?:this|per) hour",
            r"has sent to too many recipients",
            r"rate that prevents additional messages",
        ),
    ),
    _rule(
        "exceedlimit",
        "5.2.3",
        (r"message (?:length|size) exceeds? limit set by recipient", r"recipsizelimit"),
    ),
    _rule(
        "mesgtoobig",
        "5.3.4 4.3.4",
        (
            r"message (?:is )?too (?:large|big)",
            r"message size (?:exceeds|is too|limit)",
            r"size limit exceeded",
            r"exceeds (?:the )?(?:maximum|fixed maximum) (?:message )?size",
            r"mail size limit",
            r"size exceeds",
        ),
    ),
    _rule(
        "suspend",
        "5.7.13 4.7.13",
        (
            r"account (?:has been |is )?(?:disabled|suspended|locked|inactive|frozen|deactivated|blocked)",
            r"(?:mailbox|user|recipient|account) (?:is |has been )?(?:disabled|suspended|inactive|frozen|deactivated)",
            r"disabled recipient|recipient (?:address )?disabled|temporary locked|temporarily locked",
            r"email account that you tried to reach is (?:disabled|inactive)",
            r"no longer in use|has been disabled or discontinued|compte du destinataire est bloque",
            r"mailbox is frozen|account is locked",
        ),
    ),
    _rule(
        "hasmoved", "5.1.6", (r"no longer on server", r"has moved", r"not our (?:user|customer)")
    ),
    _rule(
        "norelaying",
        "",
        (
            r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)",
            r"unable to relay|relay not permitted|we do not relay|insecure mail relay",
            r"not (?:permitted|allowed) to relay|relaying denied|no relaying",
            r"email address is not verified",
            r"this system is not configured to relay",
            r"relay access denied",
        ),
    ),
    _rule(
        "authfailure",
        "5.7.26 5.7.509 5.7.515 4.7.26 5.7.23",
        (
            r"\bspf\b.{0,40}(?:fail|not pass|did not pass)|(?:fail|failed)\b.{0,20}\bspf\b",
            r"\bdkim\b.{0,40}(?:fail|not pass)",
            r"\bdmarc\b.{0,60}(?:fail|polic|reject)|rejected per dmarc",
            r"unauthenticated email|not authenticated with dkim|authentication checks? did not pass",
            r"multiple authentication checks failed",
            r"sending domain .{0,80}does not pass dmarc",
            r"sender (?:is )?unauthenticated",
            r"due to .{1,60} dmarc",
            r"bad spf|per it'?s spf|spf (?:record|settings|check)|not designate",
            r"not accepted due to domain .{0,80} dmarc",
        ),
    ),
    _rule(
        "requireptr",
        "5.7.25 4.7.25",
        (
            r"reverse (?:dns|hostname|lookup|address)",
            r"mismatches client ip",
            r"cannot find your (?:reverse )?hostname",
            r"\bptr\b(?: record)?",
            r"ip name lookup failed",
            r"no (?:rdns|reverse)",
            r"rdns|hostname lookup failed|dns (?:ptr|reverse)",
            r"client host .{0,60}(?:not resolve|unknown)",
            r"not have a (?:reverse|ptr)",
        ),
    ),
    _rule(
        "filtered",
        "",
        (
            r"message filtered|filtered by|user rules|refuses? to receive|user reject",
            r"only accepting mail from specific|blocked by the recipient|due to recipient preferences",
            r"is not accepting (?:any )?mail",
        ),
    ),
    _rule("userunknown", "5.1.1 5.1.0 4.1.1", _USER_UNKNOWN),
    _rule(
        "notcompliantrfc",
        "",
        (
            r"not rfc ?5322 compliant|rfc ?5322|rfc ?2822",
            r"multiple addresses in from",
            r"duplicate header",
            r"bare line ?feeds?",
        ),
    ),
    _rule(
        "badreputation",
        "4.7.650",
        (
            r"poor reputation|bad reputation|low reputation|ip reputation",
            r"\[tss0\d\]",
            r"temporarily deferred due to unexpected volume or user complaints",
            r"has been temporarily rate limited due to ip reputation",
            r"our system has detected that this message is likely suspicious due to the very low reputation",
        ),
    ),
    _rule(
        "rejected",
        "5.1.7 5.1.8 4.1.8",
        (
            r"sender (?:address )?(?:rejected|refused|denied|blocked|not allowed|verify failed|invalid)",
            r"(?:mail from|envelope sender|from address|sender domain)\b.{0,40}(?:rejected|refused|invalid|not allowed|denied|blacklisted|unknown|not exist)",
            r"sending to/from an address that has been blacklisted",
            r"purported responsible address",
            r"bad (?:outbound )?sender",
            r"domain of sender address .{0,80}does not exist",
            r"sender reject",
            r"not a member of (?:this|the) (?:mailing )?(?:list|group)",
            r"group you tried to contact",
            r"send mail as",
            r"we don't accept mail from",
            r"your address is not (?:allowed|permitted)",
            r"access denied, banned sender|banned sender",
        ),
    ),
    _rule(
        "hostunknown",
        "5.1.2 4.1.2",
        (
            # Postfix's "Host not found, try again" is a resolver that failed, not an answer.
            r"host (?:or domain name )?(?:not found(?!, try again)|unknown)|unknown host",
            r"bad destination system address|couldn't find any host named",
            r"domain (?:does not|doesn't) exist|no such domain|domain not found|invalid domain",
            r"dns lookup failure: host .{1,200} not found",
            r"\b[\w-]+(?:\.[\w-]+)+ does not exist",
            r"illegal host/domain",
            r"unrouteable|unroutable",
            r"domain is not reachable",
            r"domain name not found",
            r"the account or domain may not exist",  # cPanel's Exim
            r"nxdomain",
        ),
    ),
    _rule("virusdetected", "", (r"virus|malware|infected|trojan",)),
    _rule(
        "spamdetected",
        "",
        (
            r"\bspam\b|\bube\b|\bunsolicited\b",
            r"message content rejected|content rejected",
            r"blacklisted url|black-?listed url",
            r"scored as spam|spam classification|likely unsolicited",
            r"mail rejete",
        ),
    ),
    _rule(
        "toomanyconn",
        "4.3.2",
        (
            r"too many (?:connections|recipients|concurrent)",
            r"connection (?:rate|frequency) limit",
            r"(?:ip|connection) frequency limited",
            r"too many sessions",
            r"sender reject",
        ),
    ),
    _rule(
        "blocked",
        "5.7.606 5.7.607 5.7.608 5.7.609 5.7.610 5.7.611 5.7.612 5.7.613 5.7.614 5.7.615 5.7.616 5.7.617 5.7.618 5.7.619 5.7.620 5.7.511 5.7.708",
        (
            r"blocked using|block ?list|black ?list|blacklisted|dnsbl|\brbl\b|spamhaus|spamcop|sorbs|barracuda",
            r"client host .{0,80}(?:rejected|blocked)|client (?:\[[^\]]{1,64}\] )?blocked",
            r"banned sending ip|sending ip .{0,40}(?:banned|blocked|listed)",
            r"(?:ip|address|host|network) .{0,40}(?:is |was |has been )?(?:listed|blocked|banned|black ?listed)",
            r"refused to talk to me|not allowed to send",
            r"please use the smtp server of your isp|dynamic ip|residential|dial-?up",
            r"your network is on our block list|part of their network is on our block list",
            r"\((?:s3150|s3140|s3114|s844|s775)\)",
            r"\b(?:dy|rp|sc|ou)-00\d\b",
            r"may not be mail exchanger|invalid domain name|my name was rejected",
            r"host network not allowed|not allowed by local policy",
            r"service refused|invalid ip for sending",
        ),
        code_alone=True,
    ),
    _rule(
        "policyviolation",
        "5.7.9 5.7.7",
        (
            r"polic(?:y|ies) (?:violation|reasons?|rejection)|violates? .{0,20}policy|denied by policy",
            r"rejected for policy reasons|not accepted for policy reasons|local policy",
            r"header error|protocol violation|message not allowed",
            r"content presents a potential",
            r"email policy violation",
            r"lpn\d{3}",
        ),
        code_alone=False,  # a bare 5.7.9 is a security refusal, not a stated policy
    ),
    _rule(
        "systemerror",
        "5.3.5 4.3.5 4.3.0 5.3.0 5.2.4",
        (
            r"internal (?:system |server )?error|system error|server error|queue file write error",
            r"local error|configuration error|loop(?:ing)? detected",
            r"mail system problem|transaction failed|service (?:currently )?unavailable",
            r"could not load drd|ldap server|duplicated message-id|insufficient permission|upstream error",
        ),
        code_alone=False,
    ),
    _rule(
        "systemfull",
        "4.3.1 5.3.1",
        (r"disk (?:space|full)|insufficient (?:disk|system) (?:space|storage)|system full",),
    ),
    _rule(
        "notaccept",
        "5.3.2 4.3.2 5.1.10 5.7.27",
        (
            r"does not accept mail|not accepting (?:network )?messages|null mx|no smtp service",
            r"no mx (?:record|found)|couldn't find a mail exchanger|could not find a mail exchanger",
        ),
    ),
    _rule(
        "networkerror",
        "4.4.1 4.4.2 5.4.6 4.4.6 5.4.0 4.4.0 4.4.3 5.4.3 5.4.14",
        (
            r"connection (?:timed out|refused|reset)|lost connection|no route to host|network (?:error|unreachable)",
            r"wasn't able to establish an smtp connection|could not connect|failed to connect",
            r"hop count exceeded|too many hops|routing loop|maximum hop",
            r"name service error|host name lookup failure|dns error|temporary lookup failure",
            r"malformed or unexpected name server reply",
            r"connection (?:was )?(?:lost|dropped)|communication failure|host not reachable",
        ),
    ),
    _rule(
        "expired",
        "4.4.7 5.4.7",
        (
            r"expired|retry timeout exceeded|giving up|gave up|could not be delivered for .{1,20} hours",
            r"not delivered within|will be retried|has been delayed|delivery delayed|been in the queue too long",
            r"delivery time expired|message timed out|queue\.expired|could not deliver for the last",
            r"unable to deliver message after multiple retries",
            r"did not accept our requests to connect|all hosts have been failing",
            r"failed \d+ attempts|aborted after",
        ),
    ),
    _rule(
        "failedstarttls",
        "",
        (r"starttls|\btls\b.{0,40}(?:required|fail|negotiat)|(?:not|n't) support tls",),
    ),
    _rule(
        "securityerror",
        "5.7.0 5.7.1 5.7.6 5.7.57 5.7.3 5.7.8 5.7.60",
        (
            r"authentication (?:required|failed|unsuccessful)|not authenticated|unauthenticated sender",
            r"turn on smtp authentication|authrequired|client was not authenticated",
            r"sendasdenied|not (?:permitted|allowed) to send as",
        ),
        code_alone=False,
    ),
    _rule(
        "mailererror",
        "",
        (
            r"mailer error|procmail|pipe to |command output|exit (?:code|status)|unknown mailer",
            r"temporary failure",
        ),
    ),
    _rule(
        "syntaxerror",
        "5.5.2 5.5.4",
        (r"syntax error|improper sequence|command parameter not implemented|malformed address",),
    ),
)

_CODE_FALLBACK = {"5.4.4": "hostunknown", "4.4.4": "networkerror"}
_CLASS_FALLBACK = {
    "5.6": "contenterror",
    "4.6": "contenterror",
    "5.7": "securityerror",
    "4.7": "securityerror",
}
_SENDER_SIDE = frozenset(("userunknown", "filtered", "hostunknown", "onhold", "securityerror"))
_GROUP_DOMAINS = ("googlegroups.com",)
_BEFORE_DATA = frozenset(("MAIL", "HELO", "EHLO", "CONN", "STARTTLS", "AUTH"))


def reason_for(recipient: FailedRecipient, kind: Kind = Kind.BOUNCE) -> str:
    """The Sisimai-vocabulary reason for one failed recipient."""
    if kind is Kind.FEEDBACK or kind is Kind.DMARC_REPORT:
        return "feedback"
    if kind is Kind.AUTO_REPLY:
        return "vacation"
    status = recipient.status or ""
    if status.startswith("2.") or recipient.action in ("delivered", "relayed", "expanded"):
        return "delivered"
    if (recipient.address or "").lower().endswith(_GROUP_DOMAINS) and status != "5.1.1":
        return "rejected"  # a list or group refused the post: the sender may not post there
    reason = _by_rules(recipient, status)
    if (recipient.diagnostic_type or "").startswith("x-unix") and reason != "mailboxfull":
        return "mailererror"  # a local delivery program (procmail, a pipe) failed
    transient = (
        status.startswith("4.")
        or (not status and (recipient.reply_code or "").startswith("4"))
        or recipient.action in ("delayed", "expired")
        or kind is Kind.DELAY
    )
    text = recipient.diagnostic[:3000]
    codeless = not status and not recipient.reply_code  # the reporter's own words, no reply
    if reason == "networkerror" and (
        ((transient or codeless) and _TIMED_OUT.search(text)) or _MESSAGE_EXPIRED.search(text)
    ):
        # The reporter retried until it gave up: the outcome is an expiry, the timeout its cause.
        return "expired"
    if reason == "hostunknown" and transient:
        return "networkerror"  # a temporary DNS failure, not a domain known not to exist
    if recipient.command == "MAIL" and reason in _SENDER_SIDE:
        return "rejected"  # refused at MAIL FROM: the sender (address or domain) was the problem
    return reason


_TIMED_OUT = lazy(r"timed? ?out|timeout|not reachable|did not accept our requests", re.IGNORECASE)
_MESSAGE_EXPIRED = lazy(r"message expired(?!, dns)", re.IGNORECASE)


# A mail system's own directory lookup, in its fixed words (Exchange 2003, Notes/Domino, IMail):
# the name is unknown whatever the SMTP stage, so never a content filter.
_DIRECTORY_VERDICT = lazy(
    r"recipient name is not recognized"
    r"|not listed in (?:domino directory|public name & address book)"
    r"|invalid final delivery userid"
)


# Every rule's pattern, looked for in one pass over a text where RE2 can answer for them.
_RULE_SET = PatternSet(tuple((r.pattern.pattern, r.pattern.flags) for r in _RULES if r.pattern))


def _by_rules(recipient: FailedRecipient, status: str) -> str:
    text = recipient.diagnostic[:3000].lower()
    found = _RULE_SET.matching(text)
    numbered = 0
    for rule in _RULES:
        code_hit = status in rule.codes
        if rule.pattern is None:
            text_hit = False
        elif found is not None:
            text_hit, numbered = numbered in found, numbered + 1
        else:
            text_hit = bool(rule.pattern.search(text))
        if rule.reason == "userunknown" and (code_hit or text_hit):
            if _DIRECTORY_VERDICT.search(text):
                return "userunknown"  # the receiver's own directory said so: not a filter
            # Sisimai's reading, kept for interoperability: "user unknown" is `userunknown` when
            # the code is an addressing one (x.1.y) or it answered RCPT TO; said at another or an unknown stage
            # it is `filtered`. (The family, recipient_not_found, says what a helpdesk needs.)
            if code_hit or recipient.command == "RCPT" or status[1:3] == ".1":
                return "userunknown"
            if recipient.command in _BEFORE_DATA:
                continue
            return "filtered"
        if text_hit or (code_hit and (rule.code_alone or not rule.pattern)):
            return rule.reason
    if recipient.action in ("delayed", "expired"):
        return "expired"
    fallback = _CODE_FALLBACK.get(status) or _CLASS_FALLBACK.get(status[:3])
    if fallback:
        return fallback
    if recipient.command in ("HELO", "EHLO", "CONN"):
        return "blocked"
    return "onhold" if text.strip() else "undefined"
