"""The local stack's HTTP front door: chalice.local's server, routed as the deployed API is.

The packaged REST API gives every resource an `ANY` method beside its own ones
(infra/package.py `add_any_methods`), so on AWS a method a route does not have still reaches
the app, which answers 405 with `Allow` (Chalice's own check, in our error shape through
api/http.error_middleware). Without it API Gateway would answer 403 "Missing Authentication
Token" for such a method. chalice.local differs from that in three ways, fixed here:

* a method http.server has no `do_` handler for (TRACE, PROPFIND, ...) was 501 from
  http.server: every method now goes to the gateway, so the app answers 405 with Allow;
* OPTIONS on a route without an OPTIONS view was answered by chalice.local itself (API
  Gateway's CORS preflight, which Setu does not configure): it now goes to the app too;
* a path no route has was 403 {"message": "Missing Authentication Token"}: it is now that
  403 in the contract's error shape, as the packaged API's gateway response answers it.

And one in how it authorizes: chalice.local hands a Cognito route the claims of any JWT it is
given, unverified. Here a /console/api/... route gets them only after local/cognito_tokens.py
has verified the ID token against the emulator's user pool (signature by the pool's JWKS,
issuer, audience, token_use, expiry), as API Gateway's Cognito authorizer does; anything else
is 401 before the app runs (docs/console.md).
"""
from __future__ import annotations

import functools
import json
import logging
import os

from chalice.app import CognitoUserPoolAuthorizer
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    NotAuthorizedError,
)

from local import cognito_tokens

log = logging.getLogger("setu.local.gateway")

NO_ROUTE = {"error": {"code": "forbidden", "message": (
    "No such route, or the request is not signed (API Gateway's Missing Authentication Token).")}}


# as the packaged API's UNAUTHORIZED gateway response (infra/package.py UNAUTHORIZED_BODY)
UNAUTHORIZED = {"error": {"code": "unauthenticated", "message": (
    "Sign in to the console: Authorization: Bearer <a valid Cognito ID token>.")}}


@functools.lru_cache(maxsize=8)
def _verifier(endpoint: str, region: str, pool_id: str,
              client_id: str) -> cognito_tokens.Verifier:
    return cognito_tokens.Verifier(endpoint, region, pool_id, client_id)


def verifier_from_environment() -> cognito_tokens.Verifier | None:
    """The verifier of the local stack's console pool (local/stack.environment), if any."""
    env = os.environ
    pool, client = env.get("SETU_USER_POOL_ID", ""), env.get("SETU_USER_POOL_CLIENT_ID", "")
    endpoint = env.get("AWS_ENDPOINT_URL", "")
    if not (pool and client and endpoint):
        return None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _verifier(endpoint, region, pool, client)


class VerifyingAuthorizer(LocalGatewayAuthorizer):
    """Cognito routes: the verified token's claims in requestContext.authorizer, or 401."""

    def authorize(self, raw_path, lambda_event, lambda_context):
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        headers = {k.lower(): v for k, v in (lambda_event.get("headers") or {}).items()}
        verifier = verifier_from_environment()
        try:
            if verifier is None:
                raise cognito_tokens.InvalidToken("no user pool in this stack")
            claims = verifier.claims(headers.get("authorization"))
        except cognito_tokens.InvalidToken as exc:
            log.info("console request refused: %s", exc)
            raise NotAuthorizedError({"Content-Type": "application/json",
                                      "x-amzn-ErrorType": "UnauthorizedException"},
                                     json.dumps(UNAUTHORIZED).encode()) from None
        lambda_event["requestContext"]["authorizer"] = {
            "claims": cognito_tokens.as_authorizer_claims(claims), "principalId": claims["sub"]}
        return lambda_event, lambda_context


class Gateway(LocalGateway):
    def __init__(self, app_object, config) -> None:
        super().__init__(app_object, config)
        self._authorizer = VerifyingAuthorizer(app_object)

    def _has_user_defined_options_method(self, lambda_event) -> bool:
        return True  # OPTIONS reaches the app, as through the packaged API's ANY method

    def handle_request(self, method, path, headers, body):
        try:
            return super().handle_request(method, path, headers, body)
        except ForbiddenError as exc:
            if b"Missing Authentication Token" not in (exc.body or b""):
                raise
            exc.body = json.dumps(NO_ROUTE).encode()
            exc.headers = {**exc.headers, "Content-Type": "application/json"}
            raise


class RequestHandler(ChaliceRequestHandler):
    def __init__(self, request, client_address, server, app_object, config) -> None:
        self.local_gateway = Gateway(app_object, config)
        # BaseHTTPRequestHandler handles the request inside __init__; skip the parent's
        # __init__, which would make a plain LocalGateway first.
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def __getattr__(self, name: str):
        # http.server looks up do_<METHOD>; every method goes to the gateway (then the app)
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


def create_server(app_obj, config, host: str, port: int) -> LocalDevServer:
    """chalice.local.create_local_server with the handler above."""
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
    app_obj.__class__ = CustomLocalChalice
    return LocalDevServer(app_obj, config, host, port, handler_cls=RequestHandler)
