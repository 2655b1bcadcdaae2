"""Teams: where the Azure Bot must send Activities, whether an unauthenticated endpoint is confined
to loopback, and whether the app registration can get a token from Microsoft Entra ID for its app
type and tenant (the token every reply and alert needs).

The token is asked for the way botbuilder asks for it: MSAL's client-credentials flow against
``https://login.microsoftonline.com/{tenant}`` for the Bot Framework scope, where the tenant is
``botframework.com`` for a MultiTenant bot and the bot's own tenant for a SingleTenant one. A
managed identity (UserAssignedMSI) gets its token from the Azure host, which only a run there can
test. Entra's error codes (``AADSTS...``) are turned into what is wrong and where to fix it; the
secret is never part of a finding.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.doctor import Finding, Verdict
from bot.settings import Settings

__all__ = ["PUBLIC_LOGIN_URL", "check_teams"]

PUBLIC_LOGIN_URL = "https://login.microsoftonline.com/"
MULTI_TENANT = "botframework.com"  # the Bot Framework's tenant, for MultiTenant bots
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
TOKEN_TIMEOUT = 10.0

_AADSTS = re.compile(r"\bAADSTS(\d{5,7})\b")
_SECRET_PAGE = "the app registration's Certificates & secrets page"  # noqa: S105 (a page name)
# Entra error code -> (what is wrong, the fix); {tenant} is filled in.
_ENTRA_ERRORS: dict[str, tuple[str, str]] = {
    "7000215": (
        "Entra ID refused the client secret (AADSTS7000215: wrong secret)",
        f"copy the secret's Value (not its Secret ID) from {_SECRET_PAGE} into "
        "MICROSOFT_APP_PASSWORD",
    ),
    "7000222": (
        "the client secret has expired (AADSTS7000222)",
        f"create a new client secret on {_SECRET_PAGE}, set MICROSOFT_APP_PASSWORD to it, and "
        "note its expiry date",
    ),
    "700016": (
        "the app id is not registered in tenant {tenant} (AADSTS700016)",
        "check MICROSOFT_APP_ID; if the Azure Bot's type is Single Tenant, set "
        "MICROSOFT_APP_TYPE=SingleTenant and MICROSOFT_APP_TENANT_ID to its tenant "
        "(the app type must match the Azure Bot's Configuration page)",
    ),
}


def _endpoint(settings: Settings) -> Finding:
    from bot.teams.integration import MESSAGES_PATH

    if settings.microsoft_app_id:
        return Finding(
            "teams",
            "messaging endpoint",
            Verdict.PASS,
            f"the Azure Bot's messaging endpoint must be https://<public host>{MESSAGES_PATH}, "
            f"proxied to this server on {settings.host}:{settings.port}",
        )
    if settings.loopback_only:
        return Finding(
            "teams",
            "unauthenticated mode",
            Verdict.PASS,
            f"MICROSOFT_APP_ID is not set: {MESSAGES_PATH} checks no tokens, which is allowed "
            f"because it listens on loopback only ({settings.host}; the Bot Framework Emulator)",
        )
    return Finding(
        "teams",
        "unauthenticated mode",
        Verdict.FAIL,
        f"MICROSOFT_APP_ID is not set and NDRBOT_HOST is {settings.host}: anyone could post to "
        f"{MESSAGES_PATH}, so ndrbot serve refuses to start",
        "set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD, or NDRBOT_HOST=127.0.0.1",
    )


def _tenant(settings: Settings) -> str:
    if settings.microsoft_app_type == "SingleTenant":
        return settings.microsoft_app_tenant_id or ""
    return MULTI_TENANT


def _refusal(result: dict[str, Any], tenant: str) -> Finding:
    described = str(result.get("error_description") or "")
    code = _AADSTS.search(described)
    if code and code.group(1) in _ENTRA_ERRORS:
        what, fix = _ENTRA_ERRORS[code.group(1)]
        return Finding(
            "teams", "token", Verdict.FAIL, what.format(tenant=tenant), fix.format(tenant=tenant)
        )
    error = str(result.get("error") or "an error")
    shown = f"AADSTS{code.group(1)}" if code else error
    return Finding(
        "teams",
        "token",
        Verdict.FAIL,
        f"Entra ID refused a token in tenant {tenant} ({shown})",
        "look the code up in Microsoft's AADSTS error list; check MICROSOFT_APP_ID, "
        "MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TYPE and MICROSOFT_APP_TENANT_ID",
    )


def _acquire(settings: Settings, authority: str, http_client: Any, timeout: float) -> Any:
    import msal

    app = msal.ConfidentialClientApplication(
        settings.microsoft_app_id,
        client_credential=settings.microsoft_app_password,
        authority=authority,
        http_client=http_client,
        timeout=timeout,
        instance_discovery=False,  # the public cloud needs none; a test authority must not ask
    )
    return app.acquire_token_for_client(scopes=[BOT_FRAMEWORK_SCOPE])


async def _token(settings: Settings, login_url: str, http_client: Any, timeout: float) -> Finding:
    tenant = _tenant(settings)
    authority = f"{login_url.rstrip('/')}/{tenant}"
    try:
        result = await asyncio.wait_for(
            asyncio.to_thread(_acquire, settings, authority, http_client, timeout),
            timeout + 1.0,
        )
    except ValueError:
        # MSAL raises when Entra refuses the tenant's discovery document: an unknown tenant.
        return Finding(
            "teams",
            "token",
            Verdict.FAIL,
            f"Entra ID does not know tenant {tenant} (it refused the tenant's discovery document)",
            "set MICROSOFT_APP_TENANT_ID to the Directory (tenant) ID on the app registration's "
            "Overview page",
        )
    except Exception as error:  # the token service could not be reached at all
        return Finding(
            "teams",
            "token",
            Verdict.FAIL,
            f"{login_url} could not be reached ({type(error).__name__})",
            "allow outbound HTTPS to login.microsoftonline.com (proxy, firewall)",
        )
    if isinstance(result, dict) and result.get("access_token"):
        return Finding(
            "teams",
            "token",
            Verdict.PASS,
            f"{settings.microsoft_app_type} app {settings.microsoft_app_id} got a Bot Framework "
            f"token from tenant {tenant}",
        )
    return _refusal(result if isinstance(result, dict) else {}, tenant)


async def check_teams(
    settings: Settings,
    *,
    login_url: str = PUBLIC_LOGIN_URL,
    http_client: Any = None,
    timeout: float = TOKEN_TIMEOUT,
) -> list[Finding]:
    """The Teams checks. ``login_url`` and ``http_client`` (a ``requests`` session) are where
    tokens are asked for; the defaults are Microsoft's public cloud."""
    out = [_endpoint(settings)]
    if not settings.microsoft_app_id:
        out.append(
            Finding("teams", "token", Verdict.SKIPPED, "MICROSOFT_APP_ID is not set (no Teams)")
        )
        return out
    if settings.microsoft_app_type == "UserAssignedMSI":
        out.append(
            Finding(
                "teams",
                "token",
                Verdict.SKIPPED,
                "a managed identity's token comes from the Azure host it runs on; this check "
                "cannot ask for one elsewhere",
            )
        )
        return out
    out.append(await _token(settings, login_url, http_client, timeout))
    return out
