"""Start the emulator, deploy infra/template.yaml into it, and describe the result."""
from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3

from infra import render

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ADMIN_ARN = "arn:aws:iam::123456789012:user/setu-admin"
SUPPORT_DOMAIN = "setu.local"
SUPPORT_ADDRESS = f"support@{SUPPORT_DOMAIN}"
SMS_NUMBER = "+8809610000000"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# stack output -> environment variable the app reads (chalicelib/config.py)
OUTPUT_ENV = {
    "TicketsTable": "SETU_TICKETS_TABLE",
    "TimelineTable": "SETU_TIMELINE_TABLE",
    "CustomersTable": "SETU_CUSTOMERS_TABLE",
    "KeysTable": "SETU_KEYS_TABLE",
    "SettingsTable": "SETU_SETTINGS_TABLE",
    "IdempotencyTable": "SETU_IDEMPOTENCY_TABLE",
    "MailBucket": "SETU_MAIL_BUCKET",
    "TimerStateMachineArn": "SETU_TIMER_STATE_MACHINE_ARN",
    "SigningSecretArn": "SETU_SIGNING_SECRET_ARN",
}
# outputs a stack described by an older .setu/local.json may lack
OPTIONAL_OUTPUT_ENV = {
    "UserPoolId": "SETU_USER_POOL_ID",
    "UserPoolClientId": "SETU_USER_POOL_CLIENT_ID",  # the console page and local/gateway.py
}
CONSOLE_USER = "console@setu.local"  # a console-only agent: no IAM user (team/identities.py)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(port: int, log_path: Path | None = None) -> subprocess.Popen:
    """The emulator as a child process in its own process group (TZ=UTC, MOTO_PORT set).
    Its Cognito checks authenticator (TOTP) codes, as Cognito does: moto accepts any code
    unless told to check them (against the one secret it hands every user)."""
    env = {**os.environ, "TZ": "UTC", "MOTO_PORT": str(port), **CREDENTIALS,
           "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"}
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "local.moto_main", "127.0.0.1", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """Linux: the emulator gets SIGTERM if the process that started it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def wait_ready(endpoint: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"the AWS emulator at {endpoint} did not start within {timeout}s")


def client(service: str, endpoint: str, region: str = REGION):
    from chalicelib.integrations import aws

    # a botocore session over the process's shared data loader (chalicelib/integrations/aws.py)
    session = boto3.session.Session(botocore_session=aws.botocore_session())
    return session.client(service, endpoint_url=endpoint, region_name=region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")


@functools.lru_cache(maxsize=1)
def _emulator_template() -> str:
    # the same for every stage (the stage is a parameter); rendering reads and inlines the
    # YAML and the state machines, a third of a second the tests would pay per deploy
    return json.dumps(render.render_for_emulator())


def deploy(endpoint: str, stage: str, region: str = REGION) -> dict[str, str]:
    """Deploy the infra template as stack setu-<stage>; returns its outputs."""
    cloudformation = client("cloudformation", endpoint, region)
    name = f"setu-{stage}"
    cloudformation.create_stack(
        StackName=name, TemplateBody=_emulator_template(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage},
                    {"ParameterKey": "SupportDomain", "ParameterValue": SUPPORT_DOMAIN}],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {name} is {stack['StackStatus']}: {stack.get('StackStatusReason')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    outputs.setdefault("SigningSecretArn", create_signing_secret(endpoint, stage, region))
    if "UserPoolId" not in outputs:
        outputs.update(create_console_pool(endpoint, stage, region))
    ses = client("ses", endpoint, region)
    ses.verify_domain_identity(Domain=SUPPORT_DOMAIN)  # CloudFormation in moto cannot
    ses.verify_email_identity(EmailAddress=SUPPORT_ADDRESS)
    return outputs


def signing_secret_name(stage: str) -> str:
    return f"setu-{stage}-signing"


def create_signing_secret(endpoint: str, stage: str, region: str = REGION) -> str:
    """What the template's SigningSecret does on a real deploy (the emulator's CloudFormation has
    no Secrets Manager): {"current": "k1", "k1": <64 random letters and digits>}. Its ARN."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    key = "".join(secrets.choice(alphabet) for _ in range(64))
    created = client("secretsmanager", endpoint, region).create_secret(
        Name=signing_secret_name(stage), SecretString=json.dumps({"current": "k1", "k1": key}))
    return created["ARN"]


def console_pool_name(stage: str) -> str:
    return f"setu-{stage}-console"


def create_console_pool(endpoint: str, stage: str, region: str = REGION) -> dict[str, str]:
    """What the template's ConsoleUserPool and ConsoleUserPoolClient do on a real deploy (the
    emulator's CloudFormation has no Cognito), with the template's settings. Their outputs."""
    from infra import render

    resources = render.load_template()["Resources"]
    pool = resources["ConsoleUserPool"]["Properties"]
    app_client = resources["ConsoleUserPoolClient"]["Properties"]
    idp = client("cognito-idp", endpoint, region)
    created = idp.create_user_pool(
        PoolName=console_pool_name(stage), UsernameAttributes=pool["UsernameAttributes"],
        AutoVerifiedAttributes=pool["AutoVerifiedAttributes"],
        MfaConfiguration=pool["MfaConfiguration"],
        AccountRecoverySetting=pool["AccountRecoverySetting"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies=pool["Policies"])["UserPool"]
    made = idp.create_user_pool_client(
        UserPoolId=created["Id"], ClientName=console_pool_name(stage), GenerateSecret=False,
        ExplicitAuthFlows=app_client["ExplicitAuthFlows"])["UserPoolClient"]
    return {"UserPoolId": created["Id"], "UserPoolArn": created["Arn"],
            "UserPoolClientId": made["ClientId"]}


def console_pool_id(endpoint: str, stage: str, region: str = REGION) -> str | None:
    """The id of stage's console user pool in the emulator (found by name), or None."""
    idp = client("cognito-idp", endpoint, region)
    for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60):
        for found in page["UserPools"]:
            if found["Name"] == console_pool_name(stage):
                return found["Id"]
    return None


def environment(outputs: dict[str, str], endpoint: str, *, api_url: str = "",
                region: str = REGION) -> dict[str, str]:
    env = {var: outputs[key] for key, var in OUTPUT_ENV.items()}
    env.update({var: outputs[key] for key, var in OPTIONAL_OUTPUT_ENV.items() if key in outputs})
    env.update({
        "SETU_STAGE": "local",
        "SETU_SUPPORT_ADDRESS": SUPPORT_ADDRESS,
        "SETU_SMS_NUMBER": SMS_NUMBER,
        "SETU_PUBLIC_URL": api_url,
        "SETU_FORM_LIMIT_PER_HOUR": os.environ.get("SETU_FORM_LIMIT_PER_HOUR", "20"),
        "AWS_ENDPOINT_URL": endpoint,
        # the browser signs in to the console at the emulator's Cognito (api/console_pages.py)
        "SETU_COGNITO_ENDPOINT": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "POWERTOOLS_SERVICE_NAME": "setu",
        **CREDENTIALS,
    })
    return env


def seed_admin() -> None:
    from chalicelib.services.team import agents

    agents.ensure_agent(ADMIN_ARN, role="admin", display_name="Local admin")


def seed_console_agent(endpoint: str, region: str = REGION) -> tuple[str, str]:
    """A local agent who can sign in to the console (admin, CONSOLE_USER): a console-only
    agent (no IAM user, key console:console: team/identities.py) as `POST /api/agents` by
    email alone makes one (seeded directly: setu.local is a special-use domain the API's
    address check refuses), invited as an admin would invite one, then given a permanent
    password (no first-sign-in change). Returns (user name, password); a new password on
    every start."""
    import secrets
    import string

    from chalicelib import config
    from chalicelib.services.team import agents, console_access

    principal = agents.ensure_console_agent(CONSOLE_USER, role="admin",
                                            display_name="Local console agent")
    admin = agents.resolve(ADMIN_ARN)
    console_access.invite(admin, agents.agent_id(principal))
    alphabet = string.ascii_letters + string.digits
    password = ("Setu-" + "".join(secrets.choice(alphabet) for _ in range(12))
                + secrets.choice(string.ascii_lowercase) + secrets.choice(string.ascii_uppercase)
                + secrets.choice(string.digits))
    client("cognito-idp", endpoint, region).admin_set_user_password(
        UserPoolId=config.settings().user_pool_id, Username=CONSOLE_USER, Password=password,
        Permanent=True)
    return CONSOLE_USER, password
