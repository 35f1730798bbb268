"""A real OpenID Connect provider on a loopback port, built with Authlib's
authorization server (authorization code + PKCE, RS256-signed id_token, JWKS,
userinfo). The console talks to it over HTTP exactly as to a company's IdP.

``OidcProvider.next_user`` is who "signs in" at the provider's authorize page (a real
IdP would show its own login form there).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

# The provider serves plain HTTP on 127.0.0.1 only; Authlib refuses http:// otherwise.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


@dataclass
class Person:
    sub: str
    preferred_username: str
    email: str
    groups: list[str] = field(default_factory=list)


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)  # empty: any loopback URI

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        allowed = {"openid", "profile", "email", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        self.redirect_uris.append(redirect_uri)
        # Loopback only (the live server), or the Django test client's host.
        return redirect_uri.startswith(
            ("http://127.0.0.1:", "http://localhost:", "http://testserver/")
        )

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    person: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class _Payload(OAuth2Payload):
    def __init__(self, request: Request):
        self._request = request

    @property
    def data(self):
        return self._request.values

    @cached_property
    def datalist(self):
        values = defaultdict(list)
        for key in self.data:
            values[key].extend(self.data.getlist(key))
        return values


class _Request(OAuth2Request):
    def __init__(self, request: Request):
        super().__init__(method=request.method, uri=request.url, headers=request.headers)
        self._request = request
        self.payload = _Payload(request)

    @property
    def args(self):
        return self._request.args

    @property
    def form(self):
        return self._request.form


class OidcProvider:
    def __init__(self, client_id="switchyard", client_secret=None):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.client = Client(client_id, client_secret or secrets.token_urlsafe(24))
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Person] = {}
        self.next_user: Person | None = None
        self.requests: list[str] = []
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.authorization = self._authorization_server()

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- Authlib wiring -----------------------------------------------------------
    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, request):
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.payload.scope,
                    person=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.person

        class IdToken(OpenIDCode):
            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_claims(self, client):
                now = int(time.time())
                return {"iss": provider.issuer, "aud": [client.client_id], "exp": now + 600}

            def get_client_algorithm(self, client):
                return "RS256"

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "test-key"}

            def exists_nonce(self, nonce, request):
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user, scope):
                return provider.user_info(user)

        class Server(AuthorizationServer):
            def query_client(self, client_id):
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token, request):
                provider.tokens[token["access_token"]] = request.user

            def create_oauth2_request(self, request):
                return _Request(request)

            def create_json_request(self, request):
                raise NotImplementedError

            def handle_response(self, status_code, payload, headers):
                if isinstance(payload, dict):
                    import json

                    payload = json.dumps(payload)
                return Response(payload, status=status_code, headers=headers)

            def send_signal(self, name, *args, **kwargs):
                pass

        server = Server()
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(24))
        )
        server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken()])
        return server

    def user_info(self, person: Person) -> UserInfo:
        return UserInfo(
            sub=person.sub,
            preferred_username=person.preferred_username,
            email=person.email,
            email_verified=True,
            groups=person.groups,
        )

    # --- HTTP ---------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append(request.path)
        handler = {
            "/.well-known/openid-configuration": self._discovery,
            "/authorize": self._authorize,
            "/token": self._token,
            "/userinfo": self._userinfo,
            "/jwks": self._jwks,
        }.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def _discovery(self, request):
        import json

        return Response(
            json.dumps(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "userinfo_endpoint": f"{self.issuer}/userinfo",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_post",
                        "client_secret_basic",
                    ],
                    "code_challenge_methods_supported": ["S256"],
                }
            ),
            content_type="application/json",
        )

    def _authorize(self, request):
        try:
            grant = self.authorization.get_consent_grant(request, end_user=self.next_user)
        except OAuth2Error as error:
            return Response(f"{error.error}: {error.description}", status=400)
        if self.next_user is None:
            return Response("nobody signs in", status=403)
        return self.authorization.create_authorization_response(
            request, grant_user=self.next_user, grant=grant
        )

    def _token(self, request):
        return self.authorization.create_token_response(request)

    def _userinfo(self, request):
        import json

        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        person = self.tokens.get(token)
        if person is None:
            return Response("", status=401)
        return Response(json.dumps(dict(self.user_info(person))), content_type="application/json")

    def _jwks(self, request):
        import json

        public = self.key.as_dict(private=False)
        return Response(json.dumps({"keys": [public]}), content_type="application/json")


def query(**params) -> str:
    return urlencode(params)
