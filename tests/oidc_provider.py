"""A small OpenID Connect provider for the tests, on 127.0.0.1 in a thread: discovery
document, JWKS, authorize (answers at once for ``provider.user``, no form), token, userinfo.
Its RS256 key is made here. Knobs break one thing each: ``sign_with`` (another key under the
same kid: a bad signature), ``lifetime_s`` (negative: an expired token), ``audience`` (a
token meant for another client)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KID = "test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    client_id: str = "dast-desk"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    # Who signs in next: the ID token's and the user info's claims.
    user: dict[str, Any] = field(default_factory=dict)
    userinfo_extra: dict[str, Any] = field(default_factory=dict)
    sign_with: rsa.RSAPrivateKey | None = None
    lifetime_s: int = 300
    audience: str | None = None
    url: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict[str, str]) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": query.get("nonce"),
            "client_id": query.get("client_id"),
            "redirect_uri": query.get("redirect_uri"),
        }
        back = {"code": code, "state": query.get("state", "")}
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any] | None:
        client = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        grant = self.codes.pop(form.get("code", ""), None)
        if client != (self.client_id, self.client_secret) or grant is None:
            return None
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": self.audience or self.client_id,
            "iat": now,
            "exp": now + self.lifetime_s,
            **({"nonce": grant["nonce"]} if grant["nonce"] else {}),
            **self.user,
        }
        id_token = jwt.encode(
            claims, self.sign_with or self.key, algorithm="RS256", headers={"kid": KID}
        )
        access = secrets.token_urlsafe(24)
        self.tokens[access] = {"sub": self.user.get("sub"), **self.userinfo_extra}
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            provider.requests.append(parts.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/jwks":
                self._json(200, provider.jwks())
            elif parts.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", provider.authorize(query))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                info = provider.tokens.get(token)
                self._json(200, info) if info else self._json(401, {"error": "invalid_token"})
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            provider.requests.append(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            basic = None
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                basic = (user, password)
            answer = provider.token(form, basic) if self.path == "/token" else None
            if answer is None:
                self._json(400, {"error": "invalid_grant"})
            else:
                self._json(200, answer)

    return Handler


@contextmanager
def running(provider: Provider | None = None) -> Iterator[Provider]:
    provider = provider or Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/realms/test"
    # The paths above are served at the root; the issuer has a path, as Keycloak's do.
    server.RequestHandlerClass = _prefixed(server.RequestHandlerClass, "/realms/test")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def _prefixed(handler: Any, prefix: str) -> Any:
    class Prefixed(handler):  # type: ignore[misc, valid-type]
        def parse_request(self) -> bool:
            ok = bool(super().parse_request())
            if self.path.startswith(prefix):
                self.path = self.path[len(prefix) :] or "/"
            return ok

    return Prefixed
