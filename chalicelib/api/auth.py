"""Who is calling an /api route.

Deployed stages: API Gateway has already verified the SigV4 signature (IAM authorizer) and
puts the caller's principal ARN in the request context. Stage `local` only: the header
X-Setu-Principal stands in for IAM, so the local stack can be used without signing requests.
"""
from __future__ import annotations

import re

from chalicelib import config
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.services.team import agents

PRINCIPAL_HEADER = "x-setu-principal"
_ASSUMED_ROLE = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+$")


def principal_of(request) -> str | None:
    if config.settings().is_local:
        header = (request.headers or {}).get(PRINCIPAL_HEADER, "").strip()
        if header:
            return header
    identity = (request.context or {}).get("identity") or {}
    return identity.get("userArn") or None


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
    principal = principal_of(request)
    if not principal:
        raise Unauthenticated("Sign the request with IAM credentials (SigV4).")
    if len(principal) > 2048:
        raise Forbidden("Unknown principal.")
    for arn in candidates(principal):
        agent, known = agents.lookup(arn)
        if agent is not None:
            if not agent.has_role(role):
                raise Forbidden(f"This needs the {role} role.")
            return agent
        if known:  # deactivated: not let in through a registered role either
            raise Forbidden("This agent is deactivated.")
    raise Forbidden("This principal is not a Setu agent.")
