"""The agent console's Cognito user pool (SETU_USER_POOL_ID): inviting people.

`invite` is AdminCreateUser with the email as user name (the pool's UsernameAttributes), the
address marked verified (an admin vouches for it; password reset mails go there), and Cognito
sending the invitation with a temporary password. Inviting an address that already has a user
answers that user (AdminGetUser) instead, so a retry after a failed link is harmless; `resend`
sends the invitation again (MessageAction RESEND). `follow` has a console user follow an
agent's deactivation (and reactivation) so a deactivated person cannot sign in either.

AWS calls: `invite` one AdminCreateUser, or that and one AdminGetUser when the user exists;
`resend` one AdminCreateUser; `follow` one AdminDisableUser or AdminEnableUser."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib import config
from chalicelib.integrations.aws import client


_log = logging.getLogger("setu.cognito")


class NotConfigured(RuntimeError):
    """No user pool (SETU_USER_POOL_ID) in this stage."""


@dataclass(frozen=True)
class User:
    sub: str
    username: str  # what the person signs in with: the email (Cognito's own name is the sub)
    status: str  # FORCE_CHANGE_PASSWORD until the first sign-in, then CONFIRMED


def _pool() -> str:
    pool = config.settings().user_pool_id
    if not pool:
        raise NotConfigured("SETU_USER_POOL_ID is not set")
    return pool


def _user(record: dict, attributes_key: str, email: str) -> User:
    attributes = {a["Name"]: a["Value"] for a in record.get(attributes_key) or []}
    return User(sub=attributes.get("sub", ""), username=attributes.get("email", email),
                status=record.get("UserStatus", ""))


def invite(email: str) -> tuple[User, bool]:
    """(the user of `email`, whether this call created it and sent the invitation)."""
    idp = client("cognito-idp")
    try:
        created = idp.admin_create_user(
            UserPoolId=_pool(), Username=email, DesiredDeliveryMediums=["EMAIL"],
            UserAttributes=[{"Name": "email", "Value": email},
                            {"Name": "email_verified", "Value": "true"}])
    except idp.exceptions.UsernameExistsException:
        found = idp.admin_get_user(UserPoolId=_pool(), Username=email)
        return _user(found, "UserAttributes", email), False
    return _user(created["User"], "Attributes", email), True


def resend(username: str) -> None:
    client("cognito-idp").admin_create_user(
        UserPoolId=_pool(), Username=username, MessageAction="RESEND",
        DesiredDeliveryMediums=["EMAIL"])


def follow(username: str, enabled: bool) -> None:
    """Disable (or enable) the console user of an agent just deactivated (or reactivated). The
    API refuses a deactivated agent already (api/auth.py); this stops the sign-in itself. Best
    effort: the agent's change is saved, so a failure here is logged, not the answer."""
    try:
        idp = client("cognito-idp")
        call = idp.admin_enable_user if enabled else idp.admin_disable_user
        call(UserPoolId=_pool(), Username=username)
    except Exception:  # noqa: BLE001 - the agent record is what the API enforces
        _log.warning("cognito.follow_failed", extra={"enabled": enabled}, exc_info=True)
