"""A fake Microsoft Entra ID token service on loopback, over HTTPS, for MSAL's client-credentials
flow (the token a bot gets to post to Teams).

MSAL only talks to an ``https://`` authority, so the fake serves TLS with a self-signed
certificate for ``127.0.0.1``; :meth:`FakeEntra.session` is a ``requests`` session that trusts it
(MSAL takes it as ``http_client``). What it serves, as Entra ID does::

    GET  /{tenant}/v2.0/.well-known/openid-configuration   the tenant's endpoints
    POST /{tenant}/oauth2/v2.0/token                        client_credentials -> access_token

Register apps with ``entra.register(app_id, secret, tenant)``; a wrong secret gets Entra's
``AADSTS7000215``, an expired one ``AADSTS7000222``, an app id unknown in the tenant ``AADSTS700016``, an unknown tenant
``AADSTS90002`` (on the discovery document, as Entra answers it). Each token request is recorded
in ``entra.requests`` (tenant, client id, scope; never the secret).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import requests
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["FakeEntra", "TokenRequest"]


@dataclass(frozen=True)
class TokenRequest:
    """One token request the fake received."""

    tenant: str
    client_id: str
    scope: str


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-entra.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "entra.crt", folder / "entra.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class FakeEntra:
    """Use as ``async with FakeEntra(tmp_path) as entra:``; ``entra.login_url`` is the authority
    host to use instead of ``https://login.microsoftonline.com/``."""

    folder: Path
    apps: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant, app id) -> secret
    expired: set[str] = field(default_factory=set)  # app ids whose secret has expired
    requests: list[TokenRequest] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _cert: Path | None = None

    def register(
        self, app_id: str, secret: str, tenant: str = "botframework.com", *, expired: bool = False
    ) -> None:
        """An app registration that may get tokens in ``tenant`` (unless its secret expired)."""
        self.apps[(tenant.lower(), app_id)] = secret
        if expired:
            self.expired.add(app_id)

    @property
    def login_url(self) -> str:
        return f"https://127.0.0.1:{self._port}/"

    def session(self) -> requests.Session:
        """A ``requests`` session that trusts the fake's certificate (MSAL's ``http_client``)."""
        session = requests.Session()
        # requests lets REQUESTS_CA_BUNDLE (set on many machines) override a session's own
        # ``verify``; this session talks to loopback only and trusts exactly one certificate.
        session.trust_env = False
        session.verify = str(self._cert)
        return session

    def _tenants(self) -> set[str]:
        return {"botframework.com"} | {tenant for tenant, _ in self.apps}

    async def _discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant.lower() not in self._tenants():
            return web.json_response(
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
                status=400,
            )
        base = f"{self.login_url}{tenant}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"].lower()
        form = await request.post()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        self.requests.append(TokenRequest(tenant, client_id, str(form.get("scope", ""))))
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        known = self.apps.get((tenant, client_id))
        if known is None:
            return web.json_response(
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier "
                    f"'{client_id}' was not found in the directory '{tenant}'.",
                },
                status=400,
            )
        if known != secret:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
                status=401,
            )
        if client_id in self.expired:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000222: The provided client secret keys for app "
                    f"'{client_id}' are expired.",
                },
                status=401,
            )
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": f"token-for-{client_id}"}
        )

    async def __aenter__(self) -> FakeEntra:
        self._cert, key = _self_signed(self.folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert, key)
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
