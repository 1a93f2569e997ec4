"""Who is calling an /api route: one of two kinds of caller, both mapped to the same agent
record, roles, department scope and audit (docs/console.md, "How people sign in").

* `/api/...` (machines, admin automation): deployed stages: API Gateway has already verified
  the SigV4 signature (IAM authorizer) and puts the caller's principal ARN in the request
  context. Stage `local` only: the header X-Setu-Principal stands in for IAM, so the local
  stack can be used without signing requests.
* `/console/api/...` (people, api/console.py): API Gateway's Cognito authorizer has verified
  the ID token and puts its claims in the request context (the local stack's front door,
  local/gateway.py, verifies it the same way first). The claim `sub` names the Cognito user;
  the keys table maps it to the agent it was invited as (services/team/console_access).
  X-Setu-Principal is never read here, and claims never on /api/... routes.

An agent created by email alone (no IAM user: key `console:<short name>`, team/identities.py)
is reached only the second way: the IAM path refuses every principal that is not an ARN, so
neither a SigV4 caller nor the local X-Setu-Principal header can claim it.

AWS calls: an IAM caller one cached GetItem (per ARN tried); a console caller one cached
GetItem for the sub, then the agent's (cached)."""
from __future__ import annotations

import re

from chalicelib import config
from chalicelib.api import console
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.services.team import agents, console_access

PRINCIPAL_HEADER = "x-setu-principal"
_ASSUMED_ROLE = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+$")


def principal_of(request) -> str | None:
    if config.settings().is_local:
        header = (request.headers or {}).get(PRINCIPAL_HEADER, "").strip()
        if header:
            return header
    identity = (request.context or {}).get("identity") or {}
    return identity.get("userArn") or None


def claims_of(request) -> dict | None:
    """The verified ID token's claims API Gateway's Cognito authorizer passed on, if any."""
    authorizer = (request.context or {}).get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
    return claims if isinstance(claims, dict) else None


def on_console(request) -> bool:
    return console.is_console_path((request.context or {}).get("resourcePath") or "")


def candidates(principal: str) -> list[str]:
    """The ARN itself, then (for an assumed-role session) the role it came from, so admins can
    register either one person's session or a whole role."""
    found = [principal]
    match = _ASSUMED_ROLE.match(principal)
    if match:
        partition, account, role = match.groups()
        found.append(f"arn:{partition}:iam::{account}:role/{role}")
    return found


def require(request, role: str = "agent") -> agents.AgentView:
    if on_console(request):
        return _console_caller(request, role)
    principal = principal_of(request)
    if not principal:
        raise Unauthenticated("Sign the request with IAM credentials (SigV4).")
    if len(principal) > 2048:
        raise Forbidden("Unknown principal.")
    if not principal.startswith("arn:"):
        # a console-only agent's key (console:<name>, team/identities.py) or any other
        # non-ARN: IAM only ever names ARNs, so such a record is never an IAM caller
        raise Forbidden("This principal is not a Setu agent (console-only agents sign in "
                        "to the console).")
    for arn in candidates(principal):
        agent, known = agents.lookup(arn)
        if agent is not None:
            return _with_role(agent, role)
        if known:  # deactivated: not let in through a registered role either
            raise Forbidden("This agent is deactivated.")
    raise Forbidden("This principal is not a Setu agent.")


def _console_caller(request, role: str) -> agents.AgentView:
    """The agent a console user (Cognito ID token claims) was invited as."""
    claims = claims_of(request) or {}
    sub = claims.get("sub")
    if claims.get("token_use") != "id" or not isinstance(sub, str) or not sub:
        raise Unauthenticated("Sign in to the console (a Cognito ID token).")
    principal = console_access.by_sub(sub)
    if principal is None:
        raise Forbidden("This user is not linked to a Setu agent (ask an admin to invite you).")
    agent, known = agents.lookup(principal)
    if agent is None:
        raise Forbidden("This agent is deactivated." if known else
                        "This user is not linked to a Setu agent.")
    return _with_role(agent, role)


def _with_role(agent: agents.AgentView, role: str) -> agents.AgentView:
    if not agent.has_role(role):
        raise Forbidden(f"This needs the {role} role.")
    return agent
