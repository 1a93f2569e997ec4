"""Verifying the console's Cognito ID tokens on the local stack, as API Gateway's Cognito
authorizer does on AWS (docs/console.md, "How people sign in"). Local only: never imported by
the app, never in the Lambda zip.

A token passes when it is a JWS signed RS256 by a key of the pool's JWKS (the emulator serves it
at /<pool id>/.well-known/jwks.json, fetched once per pool and again for an unknown `kid`),
its `iss` is the pool (https://cognito-idp.<region>.amazonaws.com/<pool id>), `token_use` is
`id`, `aud` is the app client, `exp` is in the future (`iat` not in the future, a minute of
skew allowed) and it has a `sub`. Anything else raises InvalidToken with the reason (for the
log; the caller answers a plain 401). Uses joserfc (requirements-dev.txt)."""
from __future__ import annotations

import json
import threading
import time
import urllib.request

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SKEW_SECONDS = 60
MAX_TOKEN_LENGTH = 8192


class InvalidToken(ValueError):
    pass


class Verifier:
    def __init__(self, endpoint: str, region: str, pool_id: str, client_id: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.pool_id, self.client_id = pool_id, client_id
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is None or refresh:
                url = f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local
                    self._keys = KeySet.import_key_set(json.loads(response.read()))
            return self._keys

    def claims(self, authorization: str | None, now: float | None = None) -> dict:
        """The verified claims of `Authorization: Bearer <ID token>` (or the bare token)."""
        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken("no token")
        try:
            try:
                decoded = jwt.decode(token, self._key_set(), algorithms=["RS256"])
            except JoseError as exc:
                if "key" not in type(exc).__name__.lower():
                    raise
                decoded = jwt.decode(token, self._key_set(refresh=True), algorithms=["RS256"])
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken(f"signature: {type(exc).__name__}") from None
        claims = decoded.claims
        now = time.time() if now is None else now
        if claims.get("iss") != self.issuer:
            raise InvalidToken("another issuer")
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        if claims.get("aud") != self.client_id:
            raise InvalidToken("another audience")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or exp <= now:
            raise InvalidToken("expired")
        if isinstance(iat, (int, float)) and iat > now + SKEW_SECONDS:
            raise InvalidToken("issued in the future")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken("no sub")
        return claims


def as_authorizer_claims(claims: dict) -> dict[str, str]:
    """The claims as API Gateway's Cognito authorizer hands them on: every value a string."""
    return {key: value if isinstance(value, str) else json.dumps(value)
            for key, value in claims.items()}
