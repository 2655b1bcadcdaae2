"""What a helpdesk person sees: steps, commands and checklists with the bounce's facts filled in.

Facts come from an untrusted paste, so the tests feed hostile values and check that every
command keeps them inside one inert quoted literal.
"""

from __future__ import annotations

import re

import jinja2
import pytest

from knowledge import Facts, load_catalogue
from knowledge._quoting import MAX_FACT_LENGTH, clean, ps_literal, sh_literal
from knowledge._render import context_for, make_environment
from knowledge._safety import live_text

FULL = Facts(
    sender="pat@contoso.com",
    recipient="kim@fabrikam.com",
    sending_ip="203.0.113.5",
    remote_host="fabrikam-com.mail.protection.outlook.com",
    status="5.7.1",
    reply_code="550",
    start_date="2025-03-02",
    end_date="2025-03-04",
)

HOSTILE = [
    "pat'; Remove-Mailbox x",
    "pat\u2019; Remove-Mailbox x",  # right single quotation mark: a quote to PowerShell
    "pat\u2018\u201a\u201b; Remove-Mailbox x",
    "pat$(Remove-Mailbox x)@contoso.com",
    'pat"; Remove-Mailbox x; "',
    "pat`'; Remove-Mailbox x",
    "pat\n; Remove-Mailbox x",
    "pat\r\nRemove-Mailbox x",
    "pat\u2028Remove-Mailbox x",
    "pat\x00'; Remove-Mailbox x",
    "pat\u202e'; Remove-Mailbox x",  # right-to-left override
    "pat'\"'\"'; Remove-Mailbox x",  # the POSIX shell escape, tried against PowerShell
]


def _ps_literals(code: str) -> list[str]:
    """The contents of each single-quoted PowerShell literal, quotes undoubled."""
    quotes = "'\u2018\u2019\u201a\u201b"
    pattern = re.compile(f"[{quotes}]((?:[^{quotes}]|[{quotes}]{{2}})*)[{quotes}]")
    return [re.sub(f"([{quotes}])\\1", r"\1", m.group(1)) for m in pattern.finditer(code)]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_sender_stays_one_inert_literal_in_every_command(value: str) -> None:
    catalogue = load_catalogue()
    facts = Facts(sender=value, recipient=value, sending_ip=value, remote_host=value, status=value)
    for variant in catalogue.variants:
        remediation = catalogue.render(variant, facts)
        commands = list(remediation.commands)
        if remediation.checklist:
            commands += [c for item in remediation.checklist.items for c in item.commands]
        for command in commands:
            assert "\n" not in command.code and "\r" not in command.code
            assert "Remove-Mailbox" not in live_text(command.code, command.shell), command


def test_sender_with_quote_renders_as_one_doubled_literal() -> None:
    catalogue = load_catalogue()
    variant = catalogue.get("exo_bad_outbound_sender_restricted")
    remediation = catalogue.render(variant, Facts(sender="pat'; Remove-Mailbox x"))
    unblock = next(i for i in remediation.checklist.items if i.is_unblock)  # type: ignore[union-attr]
    codes = [c.code for c in unblock.commands]
    assert "Remove-BlockedSenderAddress -SenderAddress 'pat''; Remove-Mailbox x'" in codes
    literal = _ps_literals(codes[-1])
    assert literal == ["pat'; Remove-Mailbox x"]


def test_typographic_quotes_are_doubled() -> None:
    assert ps_literal("o\u2019brien@contoso.com", "x") == "'o\u2019\u2019brien@contoso.com'"
    assert ps_literal("a\u2018b\u201ac\u201bd", "x") == "'a\u2018\u2018b\u201a\u201ac\u201b\u201bd'"


def test_control_and_format_characters_are_removed() -> None:
    assert clean("pat\r\n@contoso.com\x00") == "pat @contoso.com"
    assert clean("pa\u200bt\u202e@contoso.com") == "pat@contoso.com"
    assert clean("\n\t ") is None
    assert len(clean("x" * 5000) or "") == MAX_FACT_LENGTH


def test_shell_literal_quotes_for_posix_shells() -> None:
    assert sh_literal("a'b", "x") == "'a'\"'\"'b'"
    # Bare only where no shell (nor PowerShell) reads anything special into it.
    assert sh_literal("203.0.113.5", "x") == "203.0.113.5"
    assert sh_literal("pat@contoso.com", "x") == "pat@contoso.com"
    for special in ("-rf", "@x", "a b", "$(id)", "a;b", "*"):
        assert sh_literal(special, "x").startswith("'"), special
    assert "rm" not in live_text("dig " + sh_literal("x'; rm -rf / #", "x"), "sh")


def test_missing_facts_show_placeholders() -> None:
    catalogue = load_catalogue()
    remediation = catalogue.render(catalogue.get("exo_unable_to_relay_no_connector"), Facts())
    codes = {c.code.split()[0]: c.code for c in remediation.commands}
    trace = codes["Get-MessageTraceV2"]
    assert "-SenderAddress '<sender address>'" in trace
    assert "-RecipientAddress '<recipient address>'" in trace
    # No dates in the bounce: the last ten days, the longest span one query allows.
    assert "-StartDate (Get-Date).AddDays(-10) -EndDate (Get-Date)" in trace
    assert "'<public IP of the device or site>'" in codes["New-InboundConnector"]


def test_facts_fill_in_trace_command_and_steps() -> None:
    catalogue = load_catalogue()
    remediation = catalogue.render(catalogue.get("exo_sender_not_authorized_policy"), FULL)
    trace = remediation.commands[0].code
    assert trace.startswith(
        "Get-MessageTraceV2 -SenderAddress 'pat@contoso.com' -RecipientAddress 'kim@fabrikam.com'"
        " -StartDate '2025-03-02' -EndDate '2025-03-04' | Get-MessageTraceDetailV2"
    )
    assert any("pat@contoso.com" in s and "kim@fabrikam.com" in s for s in remediation.steps)


def test_steps_fall_back_to_words_when_facts_are_missing() -> None:
    catalogue = load_catalogue()
    steps = catalogue.render(catalogue.get("exo_client_host_blocked_spamhaus"), Facts()).steps
    assert "(the sending IP)" in steps[0]
    assert "{" not in " ".join(steps)


def test_derived_facts() -> None:
    context = context_for(Facts(sender="Pat@Contoso.COM", sending_ip="[203.0.113.5]"))
    assert context["sender_domain"].value == "contoso.com"
    assert context["ip_reversed"].value == "5.113.0.203"
    catalogue = load_catalogue()
    remediation = catalogue.render(
        catalogue.get("generic_dnsbl_listed"), Facts(sending_ip="203.0.113.5")
    )
    # A value no shell treats specially goes in bare, so the line also reads right in PowerShell.
    assert "dig +short 5.113.0.203.zen.spamhaus.org" in [c.code for c in remediation.commands]


def test_steps_are_plain_text() -> None:
    catalogue = load_catalogue()
    for variant in catalogue.variants:
        for step in catalogue.render(variant, FULL).steps:
            assert "`" not in step and "**" not in step and "\n" not in step, variant.key


def test_steps_render_the_same_through_jinja() -> None:
    """Steps use a subset of Jinja rendered without compiling; real Jinja must agree."""
    from knowledge._loader import TEMPLATES_DIR

    env = make_environment(TEMPLATES_DIR)
    catalogue = load_catalogue()
    for facts in (FULL, Facts()):
        context = dict(context_for(facts))
        for variant in catalogue.variants:
            rendered = catalogue.render(variant, facts).steps
            via_jinja = tuple(
                " ".join(env.from_string(s).render(**context).split()) for s in variant.steps
            )
            assert rendered == via_jinja, variant.key


def test_unfiltered_fact_in_a_template_is_refused() -> None:
    from knowledge._loader import TEMPLATES_DIR

    env = make_environment(TEMPLATES_DIR)
    with pytest.raises(jinja2.TemplateRuntimeError):
        env.from_string("Get-Mailbox {{ sender }}").render(**context_for(FULL))
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ sendr | ps('x') }}").render(**context_for(FULL))


# --- the compromise checklist ----------------------------------------------------------------


def test_compromise_checklist_order_and_flags() -> None:
    checklist = load_catalogue().checklists["compromise"]
    ids = [item.id for item in checklist.items]
    assert ids[0] == "reset_password"
    assert ids.index("revoke_sessions") < ids.index("enforce_mfa")
    assert ids.index("enforce_mfa") < ids.index("remove_forwarding") < ids.index("inbox_rules")
    assert ids.index("inbox_rules") < ids.index("app_passwords_and_consents")
    *security, unblock = checklist.items
    assert unblock.is_unblock and not unblock.required_before_unblock
    assert all(item.required_before_unblock and not item.is_unblock for item in security)
    assert "Remove-BlockedSenderAddress -SenderAddress '<sender address>'" in [
        c.code for c in unblock.commands
    ]
    assert "hour" in unblock.text and "24 hours" in unblock.text


def test_password_step_warns_about_email_and_app_passwords() -> None:
    first = load_catalogue().checklists["compromise"].items[0]
    assert "never by email" in first.text and "app passwords" in first.text


def test_restricted_sender_variants_carry_the_checklist() -> None:
    catalogue = load_catalogue()
    with_checklist = {v.key for v in catalogue.variants if v.checklist == "compromise"}
    assert {
        "exo_bad_outbound_sender_restricted",
        "exo_spam_abuse_detected",
        "exo_banned_sender_account",
        "exo_submission_quota_exceeded",
        "exo_outbound_spam_exception",
        "exo_daily_recipient_limit",
    } <= with_checklist
    remediation = catalogue.render(
        catalogue.get("exo_bad_outbound_sender_restricted"), Facts(sender="pat@contoso.com")
    )
    assert remediation.checklist is not None
    assert "Remove-BlockedSenderAddress -SenderAddress 'pat@contoso.com'" in [
        c.code for item in remediation.checklist.items for c in item.commands
    ]


def test_render_refuses_a_variant_from_elsewhere() -> None:
    from knowledge import CatalogueError
    from knowledge._loader import DATA_DIR

    other = load_catalogue(DATA_DIR)
    with pytest.raises(CatalogueError):
        load_catalogue().render(other.get("fallback_other"), Facts())
