"""local/cognito_tokens.py: what makes a console ID token acceptable on the local stack (the
checks API Gateway's Cognito authorizer makes), with a key set of our own and no AWS."""
from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from local.cognito_tokens import InvalidToken, Verifier, as_authorizer_claims

POOL, CLIENT = "us-east-1_Local", "client123"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
NOW = 1_800_000_000


def _verifier() -> Verifier:
    verifier = Verifier("http://127.0.0.1:1", "us-east-1", POOL, CLIENT)
    verifier._keys = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
    return verifier


def _token(key=KEY, alg="RS256", **changes) -> str:
    claims = {"iss": ISSUER, "aud": CLIENT, "token_use": "id", "sub": "abc-123",
              "email": "karim@shop.example", "iat": NOW - 10, "exp": NOW + 3600, **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": "k1"}, claims, key, algorithms=[alg])


def test_a_good_token_gives_its_claims_with_or_without_bearer():
    claims = _verifier().claims("Bearer " + _token(), now=NOW)
    assert claims["sub"] == "abc-123" and claims["email"] == "karim@shop.example"
    assert _verifier().claims(_token(), now=NOW)["sub"] == "abc-123"
    assert as_authorizer_claims(claims)["exp"] == str(NOW + 3600)


@pytest.mark.parametrize("token, reason", [
    (lambda: _token(iss="https://cognito-idp.us-east-1.amazonaws.com/other"), "another issuer"),
    (lambda: _token(aud="someone-else"), "another audience"),
    (lambda: _token(token_use="access"), "not an ID token"),
    (lambda: _token(exp=NOW - 1), "expired"),
    (lambda: _token(exp=None), "expired"),
    (lambda: _token(iat=NOW + 3600), "issued in the future"),
    (lambda: _token(sub=None), "no sub"),
    (lambda: _token(key=RSAKey.generate_key(2048, parameters={"kid": "k1"})), "signature"),
    (lambda: _token(key=RSAKey.generate_key(2048, parameters={"kid": "k1"}), alg="RS512"),
     "signature"),
    (lambda: "", "no token"),
    (lambda: "a.b", "no token"),
    (lambda: "x" * 9000 + ".a.b", "no token"),
], ids=["issuer", "audience", "access-token", "expired", "no-exp", "future-iat", "no-sub",
        "forged", "other-alg", "empty", "two-parts", "too-long"])
def test_anything_else_is_refused_with_its_reason(token, reason):
    verifier = _verifier()
    verifier._key_set = lambda refresh=False: verifier._keys  # no fetching in a unit test
    with pytest.raises(InvalidToken, match=reason):
        verifier.claims("Bearer " + token(), now=NOW)


def test_time_defaults_to_now():
    fresh = _token(iat=int(time.time()) - 5, exp=int(time.time()) + 60)
    assert _verifier().claims(fresh)["sub"] == "abc-123"
