"""Fixed sentences that make a text a delivery-failure report, in the languages helpdesks paste.

Two kinds, both matched case-insensitively on normalised text (``’`` is already ``'``):

- :data:`REPORT_PHRASES`: what a report says about itself ("Undeliverable", "Delivery has failed to
  these recipients or groups", Exchange's and Gmail's headings and fixed sentences), in English,
  German, French, Spanish, Portuguese, Dutch, Italian, Chinese and Japanese.
- :data:`REFUSAL_SENTENCES`: a receiver's own fixed wording, which marks a failure even in a paste
  that carries no status code ("... is not accepted due to domain's DMARC policy").

Localised strings come from real localised reports (Exchange 2013-2019 and Exchange Online's
older layout, Gmail bounces, Outlook's own client-side reports, NetEase's bounce), gathered from
public samples; Exchange leaves "Remote Server returned '...'" and the SMTP reply in English in
every language, so only headings and sentences around it need translating.
"""

from __future__ import annotations

import re

from handlers.ndr.lazyre import lazy

__all__ = ["AUTO_REPLY_PHRASES", "REFUSAL_SENTENCES", "REPORT_PHRASES"]


class _Lowered:
    """A phrase list searched on lower-cased text with a lower-case pattern: several times faster
    than ``re.IGNORECASE`` over a long alternation, which defeats the engine's prefix scan."""

    def __init__(self, source: str) -> None:
        if re.search(r"\\[SWDB]", source):
            raise ValueError("an upper-case escape would change meaning when lower-cased")
        self._pattern = lazy(source.lower())

    def search(self, text: str) -> re.Match[str] | None:
        """The first phrase found in ``text`` (case-insensitive), or None."""
        return self._pattern.search(text.lower())


_ENGLISH = (
    r"undeliverable|undelivered mail|delivery status notification|mail delivery failed"
    r"|returned mail|failure notice|could not be delivered|couldn't be delivered"
    r"|wasn't delivered|was not delivered|delivery has failed|delivery failed for these recipients"
    r"|delivery to the following|remote server returned|non-?delivery|permanent error"
    r"|permanent fatal error|delivery failure|failed to deliver|unable to deliver|undeliverable mail"
    r"|message not delivered|not be delivered|delivery incomplete|delivery delayed"
    r"|has not yet been delivered|could not deliver|mail system error|returned to sender"
    r"|rejected your message|delivery notification|mail failure|wasn't able to deliver"
    r"|failed to be delivered|did not reach some or all of the intended recipients"
    r"|could not be reached:|address not found"
)
_LOCALISED = (
    # German
    r"|unzustellbar|konnte nicht zugestellt werden|fehler bei der nachrichtenzustellung"
    r"|die zustellung an folgende empf.nger|diagnoseinformationen f.r administratoren"
    r"|die adresse wurde nicht gefunden|mail nicht zustellbar|nicht erreicht werden"
    r"|hat ihre nachricht an die folgenden e-mail-adressen zur.ckgewiesen"
    # French
    r"|non remis\s?:|.chec de la remise|informations de diagnostic pour les administrateurs"
    r"|message non distribu.|n'a pas pu .tre remis|est survenu lors de la distribution"
    r"|impossible de contacter le\(s\) destinataire|message d'e?chec automatiquement"
    # Spanish
    r"|sin entregar\s?:|informaci.n de diagn.stico para los administradores|no se pudo entregar"
    r"|no recibieron su mensaje|no se puede localizar a los destinatarios|error en la entrega"
    # Portuguese
    r"|falha na entrega|informa..es de diagn.stico para administradores|n.o foi entregue"
    r"|n.o p.de ser entregue|rejeitou sua mensagem"
    # Dutch
    r"|onbestelbaar|niet bezorgd|bezorging (?:is )?mislukt|diagnostische gegevens voor beheerders"
    # Italian
    r"|non recapitabile|informazioni di diagnostica per gli amministratori|recapito non riuscito"
    r"|impossibile recapitare"
    # Chinese, Japanese
    r"|系统退信|退信|投递失败|无法送达|管理员诊断信息"
    r"|配信不能|配信に失敗しました|管理者向けの診断情報|まだ配信されていません"
)
REPORT_PHRASES = _Lowered(_ENGLISH + _LOCALISED)

REFUSAL_SENTENCES = _Lowered(
    r"is not accepted due to domain's DMARC policy|not recognized as a valid sender"
    r"|banned sending IP|traffic not accepted from this IP|part of their network is on our block list"
    r"|considered unsolicited bulk e-?mail|delivery of the email was stopped|Unknown To address"
    r"|The email account that you tried to reach does not exist|Recipient address rejected"
    r"|Relay access denied|blocked using [\w.-]+\.\w+"
)

AUTO_REPLY_PHRASES = lazy(
    r"^(?:auto(?:matic)?[ -]?(?:reply|response)|out of (?:the )?office|vacation|autoreply|away from"
    r"|automatische antwort|abwesenheit|r.ponse automatique|respuesta autom.tica"
    r"|resposta autom.tica|automatisch antwoord|risposta automatica|自动回复|自動応答|不在)"
    r"|\bout of office\b|abwesenheitsnotiz|外出时的自动答复|不在時の自動応答",
    re.IGNORECASE,
)
