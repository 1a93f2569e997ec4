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
"""
from __future__ import annotations

import json

from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
)

NO_ROUTE = {"error": {"code": "forbidden", "message": (
    "No such route, or the request is not signed (API Gateway's Missing Authentication Token).")}}


class Gateway(LocalGateway):
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
