"""A Bot Framework token issuer for the tests: an OpenID metadata document and its signing keys on
loopback, and RS256 tokens signed with them.

botbuilder fetches the metadata with blocking ``requests`` calls on the event loop's thread, so
this server runs in a thread of its own (an aiohttp server on the same loop would never answer).
The "connector" tokens it signs carry what the Bot Framework Service puts in its own: ``iss``,
``aud`` (the bot's app id), ``serviceurl``, and a key whose ``endorsements`` name the channel.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = ["ISSUER", "TokenIssuer"]

ISSUER = "https://api.botframework.test"
KEY_ID = "ndrbot-test-key"


class TokenIssuer:
    """Serves ``/.well-known/openid-configuration`` and ``/keys``; signs tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=KEY_ID, use="sig", endorsements=["msteams", "emulator"])
        self.keys = {"keys": [jwk]}
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> TokenIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": ISSUER, "jwks_uri": f"{issuer.url}/keys"}
                elif self.path == "/keys":
                    body = issuer.keys
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        """The OpenID metadata document botbuilder reads."""
        return f"{self.url}/.well-known/openid-configuration"

    def token(self, *, audience: str, service_url: str, **claims: Any) -> str:
        """A connector token as the Bot Framework Service would sign it."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 10,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": KEY_ID})
