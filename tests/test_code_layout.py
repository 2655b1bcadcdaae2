"""PowerShell laid out to wrap on a phone-width card, and still the same command."""

from __future__ import annotations

import pytest

from handlers.code_layout import layout_powershell

LONG = (
    "Get-DistributionGroup -Identity 'kim@fabrikam.com' | Format-List "
    "AcceptMessagesOnlyFromSendersOrMembers,RejectMessagesFromSendersOrMembers,"
    "RequireSenderAuthenticationEnabled,ModerationEnabled,ModeratedBy"
)


def test_a_long_pipeline_breaks_after_its_pipe_and_its_list_after_commas() -> None:
    laid = layout_powershell(LONG)
    lines = laid.split("\n")
    assert lines[:2] == ["Get-DistributionGroup `", "  -Identity 'kim@fabrikam.com' |"]
    assert all(len(line) <= 50 for line in lines)
    # Every line but the last ends with a pipe, a comma or a continuation backtick, so
    # PowerShell reads on.
    assert all(line.endswith(("|", ",", " `")) for line in lines[:-1])
    # The same words in the same order: only spaces, line breaks and continuations were added.
    assert laid.replace(" `\n", "").replace(" ", "").replace("\n", "") == LONG.replace(" ", "")


def test_a_short_command_only_gets_spaces_after_its_commas() -> None:
    assert layout_powershell("Get-Mailbox | fl Name,Alias") == "Get-Mailbox | fl Name, Alias"


@pytest.mark.parametrize(
    "code",
    [
        "Set-X -Name 'a,b|c' -Note \"x,y|z\"",
        "Set-X -Name 'it''s,a|b'",
        'Set-X -Name "say `"a,b|c`" twice"',
        "Get-A || Get-B",
    ],
)
def test_quoted_text_and_chain_operators_are_left_alone(code: str) -> None:
    assert layout_powershell(code) == code


def test_a_quoted_value_with_spaces_and_dashes_is_never_split() -> None:
    # A quoted local part is a valid address, and a paste can carry one.
    code = "Set-Mailbox -Identity '\"ops -team member\"@contoso.com' -ForwardingSmtpAddress $null -DeliverToMailboxAndForward $false"
    laid = layout_powershell(code)
    assert "'\"ops -team member\"@contoso.com'" in laid.split("\n")[1] or (
        "'\"ops -team member\"@contoso.com'" in laid.split("\n")[0]
    )
    assert laid.replace(" `\n", " ").replace("\n", "").split() == code.split()


@pytest.mark.parametrize(
    "code",
    [
        "Get-Mailbox # note: a,b | Remove-Mailbox -Identity x -Confirm:$false -Force -WhatIf",
        '"Count: $($x -join ",")" | Out-Host',
        "[Dictionary[string,int]]::new() | Format-List Count,Keys,Values,Comparer,Item",
        "cmd /c --% dir a,b | findstr x",
        'Write-Host "a`"b,c|d" | Format-List Name,Alias,Department,Office,Title,Manager',
    ],
)
def test_lines_this_reader_does_not_follow_are_left_as_written(code: str) -> None:
    assert layout_powershell(code) == code


def test_a_pasted_value_in_single_quotes_does_not_stop_the_layout() -> None:
    code = "Get-InboxRule -Mailbox 'x#y`z$(a)' | Format-List Name,Enabled,ForwardTo,RedirectTo,DeleteMessage"
    laid = layout_powershell(code)
    assert laid.startswith("Get-InboxRule -Mailbox 'x#y`z$(a)' |\n")
