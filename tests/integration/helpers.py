"""Small helpers for tests that call the app in-process against the emulated AWS."""
from __future__ import annotations

import json
import time
from typing import Any

ADMIN = "arn:aws:iam::123456789012:user/setu-admin"


class Api:
    """JSON in, (status, JSON) out, over chalice.test.Client."""

    def __init__(self, client, principal: str | None = ADMIN):
        self.client = client
        self.principal = principal

    def _headers(self, headers: dict | None, content_type: str | None = "application/json") -> dict:
        out = {}
        if content_type:
            out["content-type"] = content_type
        if self.principal:
            out["X-Setu-Principal"] = self.principal
        out.update(headers or {})
        return out

    def call(self, method: str, path: str, body: Any = None, *, headers: dict | None = None,
             raw: bytes | str | None = None, content_type: str | None = "application/json"):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        response = getattr(self.client.http, method.lower())(
            path, headers=self._headers(headers, content_type), body=data)
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body
        return response.status_code, parsed, response.headers

    def get(self, path, **kw):
        return self.call("GET", path, content_type=None, **kw)[:2]

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)[:2]

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)[:2]

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)[:2]

    def as_principal(self, principal: str | None) -> "Api":
        return Api(self.client, principal)


def new_ticket(api: Api, **fields) -> dict:
    body = {"name": "Rahim", "email": "rahim@example.com", "message": "আমার অর্ডার আসেনি",
            "subject": "Order late", **fields}
    status, created = api.post("/tickets", body)
    assert status == 201, created
    return created


def timeline(api: Api, ticket_id: str) -> list[dict]:
    status, ticket = api.get(f"/api/tickets/{ticket_id}")
    assert status == 200, ticket
    return ticket["timeline"]


def events(api: Api, ticket_id: str) -> list[str]:
    return [e["type"] for e in timeline(api, ticket_id) if e["entry"] == "event"]


def wait_for(predicate, pump, timeout: float = 20.0, interval: float = 0.3):
    """Drive the pump until predicate() is truthy; returns its value or fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pump.poll_once()
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def write_in(stack, address: str) -> None:
    """The customer has written to us from `address` before (an email, or an SMS when it is
    a number): the address is proven, so acknowledgements to it may repeat what is typed."""
    if "@" in address:
        from tests.integration.test_email import mail, ses_deliver

        ses_deliver(stack, mail(sender=address, subject="Hello", body="An earlier question").as_bytes(),
                    source=address)
    else:
        from tests.integration.test_sms import sms

        sms(stack, "An earlier question", sender=address)
    stack.pump.drain()


def stored_body(ticket_id: str, entry: dict) -> str:
    """A timeline message's body as stored: the agent API masks the signed customer links
    (status, satisfaction, unsubscribe) in what it shows."""
    from chalicelib.db.models import TimelineItem

    return TimelineItem.get(ticket_id, entry["sk"], consistent_read=True).body


def console_front_door(stack) -> tuple:
    """(Api as the admin, the emulator's cognito-idp client) with the in-process client going
    through the local stack's own front door, which verifies Cognito ID tokens as API Gateway's
    authorizer would (local/gateway.py)."""
    import app
    from local import stack as local_stack
    from local.gateway import Gateway

    stack.client.http._local_gateway = Gateway(app.app, stack.client.http._config)
    return Api(stack.client), local_stack.client("cognito-idp", stack.endpoint)


def bearer(client, token: str | None, method: str, path: str, body=None) -> tuple[int, Any]:
    """(status, JSON) of a console call with `Authorization: Bearer <token>` (none if None)."""
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = getattr(client.http, method.lower())(
        path, headers=headers, body=json.dumps(body) if body is not None else "")
    return response.status_code, (json.loads(response.body) if response.body else None)
