"""Bounce replies as they reach the classifier, and the variant the data should lead to.

Replies are synthetic (documentation addresses and IPs) in the shapes of
../shared/reference/ndr-format-notes.md. The classifier itself lives in handlers/; these tests
apply its documented scoring (tests/knowledge/_knowledge_matching.py) to prove the data fits it,
above all for the traps where one code or one phrase means different things.
"""

from __future__ import annotations

from typing import Any

import pytest
from _knowledge_matching import classify, classify_additive

from knowledge import FAMILIES, load_catalogue

CASES = [
    # (system, status, diagnostic text, expected variant key)
    # -- the four 5.7.1 variants of the mission
    ("exchange_online", "5.7.1", "550 5.7.1 Unable to relay", "exo_unable_to_relay_no_connector"),
    ("exchange_online", "5.7.1",
     "550 5.7.1 Service unavailable, Client host [192.0.2.80] blocked using Spamhaus. To request "
     "removal from this list see https://www.spamhaus.org/query/ip/192.0.2.80 AS(1450) "
     "[XX0PR00MB0000.namprd00.prod.outlook.com]", "exo_client_host_blocked_spamhaus"),
    ("outlook_com", "5.7.1",
     "550 5.7.1 Unfortunately, messages from [192.0.2.44] weren't sent. Please contact your "
     "Internet service provider since part of their network is on our block list (S3150). You "
     "can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.",
     "outlookcom_network_on_block_list"),
    ("exchange_online", "5.7.1", "530 5.7.1 Client was not authenticated",
     "exo_client_not_authenticated"),
    ("exchange_online", "5.7.1",
     "mail.contoso.com #<exchange.contoso.com #5.7.1 smtp;530 5.7.1 Client was not "
     "authenticated> #SMTP#", "exo_client_not_authenticated"),
    ("exchange_online", "5.7.1", "550 5.7.1 Sender is not authorized to send to destination",
     "exo_sender_not_authorized_policy"),
    ("exchange_online", "5.7.1", "550 5.7.1 Delivery not authorized, message refused",
     "exo_delivery_not_authorized"),
    ("exchange_online", "5.7.1",
     "#5.7.1 smtp;550 5.7.1 RESOLVER.RST.AuthRequired; authentication required "
     "[Stage: CreateMessage]", "exo_public_folder_auth_required"),
    ("exchange_online", "5.7.1", "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized",
     "exo_resolver_not_authorized"),
    ("exchange_online", "5.7.1", "550 5.7.1 Unable To Relay: Blocked by Customer Allow list",
     "exo_unable_to_relay_customer_allow_list"),
    # -- same words, different codes
    ("exchange_online", "5.7.502", "550 5.7.502 Access denied, banned sender",
     "exo_banned_sender_account"),
    ("exchange_online", "5.7.511",
     "550 5.7.511 Access denied, banned sender[192.0.2.1]. To request removal from this list "
     "please forward this message to delist@microsoft.com", "exo_banned_sender_ip"),
    ("exchange_online", "5.7.800", "550 5.7.800 Access denied, banned sender",
     "exo_banned_sender_domain"),
    ("exchange_online", "5.7.510", "550 5.7.510 Access denied, [fabrikam.com] does not accept "
     "email over IPv6", "exo_no_ipv6_accept"),
    ("exchange_online", "4.7.512", "451 4.7.512 Access denied, please try again later (AS761)",
     "exo_new_sender_ip_throttling"),
    ("exchange_online", "4.7.855", "451 4.7.855 Access denied, please try again later",
     "exo_ip_temporarily_restricted"),
    # -- same code, different meanings
    ("exchange_online", "5.2.2",
     "554 5.2.2 mailbox full; STOREDRV.Deliver: mailbox full", "exo_mailbox_full"),
    ("exchange_online", "5.2.2",
     "550 5.2.2 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Submission quota "
     "exceeded", "exo_submission_quota_exceeded"),
    (None, "5.2.2", "552 5.2.2 <kim@fabrikam.com>... Mailbox Full", "generic_mailbox_full"),
    ("gmail", "5.2.2", "552 5.2.2 The recipient's inbox is out of storage space and inactive.",
     "gmail_mailbox_full"),
    ("gmail", "5.7.27", "550 5.7.27 Your email has been blocked because SPF authentication didn't "
     "pass for this message.", "gmail_spf_did_not_pass_bulk"),
    (None, "5.7.27", "550 5.7.27 Sender address has null MX", "generic_sender_null_mx"),
    ("exchange_online", "5.1.8", "550 5.1.8 Access denied, bad outbound sender",
     "exo_bad_outbound_sender_restricted"),
    ("exchange_online", "5.4.1", "550 5.4.1 Recipient address rejected: Access denied. "
     "AS(201806281)", "exo_recipient_rejected_dbeb"),
    ("exchange_online", "5.4.1", "550 5.4.1 Relay Access Denied", "exo_relay_access_denied_mx"),
    (None, "5.7.1", "554 5.7.1 <kim@fabrikam.com>: Relay access denied",
     "generic_relay_access_denied"),
    ("exchange_online", "5.7.64", "550 5.7.64 TenantAttribution; Relay Access Denied",
     "exo_tenant_attribution_relay_denied"),
    ("exchange_online", "5.7.13", "550 5.7.13 Sender was not authenticated for public folder",
     "exo_public_folder_sender_not_authenticated"),
    ("exchange_online", "5.7.136", "550 5.7.136 Sender was not authenticated",
     "exo_mailuser_sender_not_authenticated"),
    # -- other providers
    ("gmail", "5.7.26",
     "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires "
     "all senders to authenticate with either SPF or DKIM. Authentication results: DKIM = did "
     "not pass SPF [contoso.com] with ip: [198.51.100.20] = did not pass - gsmtp",
     "gmail_unauthenticated_sender"),
    ("gmail", "5.7.26", "550 5.7.26 Unauthenticated email from contoso.com is not accepted due "
     "to domain's DMARC policy.", "gmail_dmarc_policy_reject"),
    ("gmail", "5.7.1", "550 5.7.1 The user or domain that you are sending to (or from) has a "
     "policy that prohibited the mail that you sent. - gcdp x12", "gmail_recipient_domain_policy"),
    ("yahoo", "4.7.0",
     "421 4.7.0 [TSS04] Messages from 198.51.100.23 temporarily deferred due to unexpected "
     "volume or user complaints - 4.16.55.1", "yahoo_tss04_deferred"),
    ("yahoo", None, "554 delivery error: dd This user doesn't have a yahoo.com account "
     "(nobody@yahoo.com) [-5]", "yahoo_no_such_user"),
    ("outlook_com", None, "421 RP-001 (XXX) Unfortunately, some messages from 192.0.2.1 weren't "
     "sent.", "outlookcom_rp_rate_limit"),
    ("outlook_com", "4.7.650", "451 4.7.650 The mail server [192.0.2.5] has been temporarily "
     "rate limited due to IP reputation. (S775)", "outlookcom_ip_reputation_rate_limit"),
    # -- generic MTAs and fallbacks
    (None, "5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using "
     "zen.spamhaus.org", "generic_dnsbl_listed"),
    (None, "4.7.1", "450 4.7.1 Client host rejected: cannot find your reverse hostname, "
     "[192.0.2.9]", "generic_reverse_dns_failed"),
    (None, "5.1.1", "550 5.1.1 <kim@fabrikam.com>: Recipient address rejected: User unknown in "
     "local recipient table", "generic_user_unknown"),
    (None, "5.1.1", "550 5.1.1 Utilisateur inconnu", "generic_user_unknown"),
    (None, "5.1.1", "550 5.1.1 Gebruiker onbekend", "code_only_recipient_unknown"),
    (None, "5.7.1", "550 5.7.1 Nachricht abgelehnt", "code_only_policy"),
    (None, "5.9.9", "550 5.9.9 something nobody has seen", "fallback_other"),
    (None, None, "the server said no", "fallback_other"),
]  # fmt: skip


@pytest.mark.parametrize("scorer", [classify, classify_additive], ids=["documented", "weighted"])
@pytest.mark.parametrize(("system", "status", "text", "expected"), CASES)
def test_reply_lands_on_expected_variant(
    system: str | None, status: str | None, text: str, expected: str, scorer: Any
) -> None:
    chosen = scorer(load_catalogue(), status, text, system)
    assert chosen is not None
    assert chosen.key == expected


def test_cases_reach_every_family() -> None:
    """Not a data check: keeps the table above honest about breadth."""
    catalogue = load_catalogue()
    reached = {catalogue.get(expected).family for *_, expected in CASES}
    missing = set(FAMILIES) - reached
    assert len(missing) <= 8, missing


def test_match_texts_are_not_too_generic() -> None:
    """Short everyday words would match unrelated bounces; texts must say something specific."""
    vague = {"denied", "rejected", "blocked", "failed", "error", "refused", "not allowed"}
    for variant in load_catalogue().variants:
        for text in variant.match_text:
            assert text.strip() not in vague, (variant.key, text)


def test_a_stream_of_odd_codes_keeps_answers_and_memory_bounded() -> None:
    """The classifier keeps each status's candidates for the next bounce with that code; a
    stream of made-up codes (hostile intake) must neither grow that without bound nor change
    an answer."""
    from handlers.variants import _SCORED_KEPT, _index, match_variant

    catalogue = load_catalogue()
    text = "550 5.7.1 Unable to relay"
    before = match_variant(catalogue, "5.7.1", text, "exchange_online")
    for number in range(_SCORED_KEPT + 500):
        match_variant(catalogue, f"4.{number // 1000}.{number % 1000}", "451 try later")
    assert len(_index(catalogue).scored) <= _SCORED_KEPT
    assert match_variant(catalogue, "5.7.1", text, "exchange_online") == before
    assert before[0] is not None and before[0].key == "exo_unable_to_relay_no_connector"
