"""Then and now: the receiver's verdicts from the bounce beside the live checks."""

from __future__ import annotations

from handlers.checks.result import CheckResult, Status
from handlers.ndr import read
from handlers.verdicts import Verdict, receiver_verdicts, then_and_now

GMAIL = (
    "host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.26 SPF [contoso.com] with "
    "ip: [198.51.100.4] = did not pass 550 5.7.26 x1 - gsmtp\n"
)
EXO = """From: postmaster@fabrikam.com
To: pat@contoso.com
Subject: Undeliverable: hello
Content-Type: text/plain

Delivery has failed to these recipients or groups:
kim@fabrikam.com
Remote Server returned '550 5.7.509 Access denied, sending domain contoso.com does not pass DMARC verification and has a DMARC policy of reject.'

Original message headers:

Authentication-Results: spf=fail (sender IP is 203.0.113.5)
 smtp.mailfrom=contoso.com; dkim=none (message not signed)
 header.d=none;dmarc=fail action=oreject header.from=contoso.com;compauth=fail reason=000
Received-SPF: Fail (protection.outlook.com: domain of contoso.com does not designate
 203.0.113.5 as permitted sender) receiver=protection.outlook.com; client-ip=203.0.113.5;
From: Pat <pat@contoso.com>
To: kim@fabrikam.com
Date: Wed, 3 Dec 2025 10:00:00 +0000
Subject: hello
"""


def _spf(result: str, ip: str) -> CheckResult:
    status = Status.PASS if result == "pass" else Status.FAIL
    return CheckResult("spf", "contoso.com", status, "", (), {"result": result, "ip": ip})


def test_gmail_s_spf_verdict_is_read_from_its_reply() -> None:
    assert receiver_verdicts(read(GMAIL)) == (
        Verdict("spf", "fail", "contoso.com", "198.51.100.4"),
    )


def test_a_receiver_fail_beside_a_live_pass_says_the_record_was_fixed_since() -> None:
    verdicts = receiver_verdicts(read(EXO))
    assert Verdict("spf", "fail", "contoso.com", "203.0.113.5") in verdicts
    assert Verdict("dmarc", "fail", "contoso.com") in verdicts
    lines = then_and_now(verdicts, [_spf("pass", "203.0.113.5")], "Wed, 3 Dec 2025 10:00:00 +0000")
    assert lines[0] == (
        "SPF for contoso.com from 203.0.113.5: the receiver recorded fail on 3 Dec; when this "
        "card was posted it passed for 203.0.113.5, so the record was fixed after the bounce."
    )
    assert "DMARC for contoso.com: the receiver recorded fail on 3 Dec." in lines
    assert "DKIM: the message was not signed, the receiver recorded on 3 Dec." in lines


def test_a_live_failure_is_not_called_the_cause_when_the_receiver_saw_a_pass() -> None:
    verdicts = (Verdict("spf", "pass", "contoso.com", "203.0.113.5"),)
    (line,) = then_and_now(verdicts, [_spf("fail", "203.0.113.5")])
    assert "changed after the bounce, so that is not why this message bounced" in line


def test_a_live_check_for_another_ip_is_not_compared() -> None:
    verdicts = (Verdict("spf", "fail", "contoso.com", "198.51.100.4"),)
    (line,) = then_and_now(verdicts, [_spf("pass", "203.0.113.5")])
    assert line == "SPF for contoso.com from 198.51.100.4: the receiver recorded fail."
