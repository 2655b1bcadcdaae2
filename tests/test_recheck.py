"""Re-check: what changed is computed from the old and new check lines (handlers/recheck.py)."""

from __future__ import annotations

from handlers.card import Card, CheckLine, Tone
from handlers.recheck import compare, rechecked

SPF_FAIL = CheckLine("SPF", "contoso.com", "fail", "SPF fails for 203.0.113.5.")
SPF_PASS = CheckLine("SPF", "contoso.com", "pass", "SPF passes for 203.0.113.5.")
LISTED = CheckLine("Blocklists", "203.0.113.5", "fail", "listed on Spamhaus ZEN")
DNS_DOWN = CheckLine("Blocklists", "203.0.113.5", "unknown", "DNS did not answer")
MX_OK = CheckLine("MX", "fabrikam.com", "pass", "ok")


def test_a_fixed_check_is_named_with_what_it_was_and_a_kept_failure_is_still() -> None:
    changes, fixed = compare([SPF_FAIL, LISTED, MX_OK], [SPF_PASS, LISTED, MX_OK])
    assert changes == (
        "SPF for contoso.com now passes (was fail)",
        "Blocklists for 203.0.113.5 still fails",
    )
    assert not fixed


def test_every_failure_passing_now_means_fixed_but_unknown_never_does() -> None:
    assert compare([SPF_FAIL, MX_OK], [SPF_PASS, MX_OK]) == (
        ("SPF for contoso.com now passes (was fail)",),
        True,
    )
    changes, fixed = compare([LISTED], [DNS_DOWN])
    assert changes == ("Blocklists for 203.0.113.5 now could not be checked (was fail)",)
    assert not fixed


def test_a_check_that_still_cannot_run_says_so_and_is_not_a_pass() -> None:
    assert compare([DNS_DOWN], [DNS_DOWN]) == (
        ("Blocklists for 203.0.113.5 still could not be checked",),
        False,
    )


def test_nothing_failing_before_or_after_says_nothing_changed() -> None:
    card = Card("t", Tone.ERROR, checks=(MX_OK,))
    after = rechecked(card, [MX_OK], by="pat", at="2026-12-05T14:02:00+00:00")
    assert after.recheck is not None and not after.recheck.fixed
    assert after.recheck.changes == ("Nothing changed: every check passes, as before.",)
    assert after.title == card.title and after.checks == (MX_OK,)
