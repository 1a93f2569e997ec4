"""Each handler runs under its own function's IAM policy, locally as on AWS.

The policies are the ones `make package` deploys (infra/permissions.yaml through
infra/permissions.py), resolved against the local stack's resources. Whatever invokes a
handler says which function is running (`as_function`): the local HTTP server and the test
client for ``api_handler`` (`install` wraps the Chalice app), local/pump.py for the event
handlers, and a direct ``app.inbound_email(event, context)`` in a test (`install` wraps the
app module's handlers too). Every botocore client made in this process (boto3's, pynamodb's,
powertools') gets two event hooks (`install` patches ``botocore.session.Session.create_client``):

* ``before-parameter-build``: while a function runs, work out the IAM action(s) and resource
  ARN(s) the call needs (`required`) and evaluate them against that function's policy
  (`evaluate`): an Allow statement must match both, with IAM's ``*``/``?`` wildcards
  (actions case-insensitive); an explicit Deny wins.
* ``before-call``: a denied call never reaches the emulator; botocore gets the error response
  AWS would send (`ERRORS`: ``AccessDeniedException`` from DynamoDB, Step Functions and SMS v2,
  ``AccessDenied`` from S3, SES, SQS and CloudWatch, ``AuthorizationError`` from SNS), with
  AWS's message (``User: arn:aws:sts::...:assumed-role/... is not authorized to perform: ...``)
  and raises it as usual: ``ClientError`` (or the service's modeled subclass), which pynamodb
  wraps as it wraps any other error.
* ``after-call.s3``: a GetObject/HeadObject of a missing key answers 403 AccessDenied instead
  of 404 when the function may not s3:ListBucket the bucket, as S3 does.

What Lambda itself does with a function's role is checked too (`as_event_source`): the pump
receiving and deleting timer-queue messages, reading the streams, and writing failures to the
stream-failures and dead-letter queues. Calls made outside a function (test set-up, deploying
the stack, the SNS-to-queue plumbing the pump uses to stand in for SNS's push, the SMTP
ingress) are not checked. An operation with no mapping in `required` fails loudly
(`Unmapped`), so a new kind of call is never waved through unchecked.

``SETU_IAM`` = ``enforce`` (default), ``audit`` (denials are recorded in `denials` and logged,
and the call goes through: for finding every missing permission in one run) or ``off``.
``SETU_IAM_LOG`` names a file each denial is appended to, as a JSON line.
"""
from __future__ import annotations

import contextlib
import contextvars
import email.parser
import email.policy
import email.utils
import functools
import json
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

log = logging.getLogger("setu.iam")
ACCOUNT_ID = "123456789012"

_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("setu_function", default=None)


class Unmapped(RuntimeError):
    """A handler made an AWS call local/iam.py cannot map to IAM actions and resources."""


@dataclass(frozen=True)
class Need:
    action: str
    resource: str
    # condition keys of the request, e.g. (("dynamodb:LeadingKeys", ("secret",)),)
    keys: tuple = field(default=(), compare=False)

    def key(self, name: str) -> tuple[str, ...] | None:
        for key, values in self.keys:
            if key.lower() == name.lower():
                return values
        return None


@dataclass(frozen=True)
class Denial:
    function: str
    action: str
    resource: str
    operation: str

    def as_dict(self) -> dict:
        return {"function": self.function, "action": self.action, "resource": self.resource,
                "operation": self.operation}


# ---- which function is running ----------------------------------------------------------------

def current_function() -> str | None:
    return _function.get()


def as_event_source(name: str) -> contextlib.AbstractContextManager:
    """What Lambda does with a function's role around its handler: the event source mapping
    polling its queue or stream and deleting what was handled, and writing a failed event to
    its OnFailure destination or dead-letter queue (local/pump.py). Not an invocation."""
    return as_function(name, invocation=False)


def fresh_containers() -> bool:
    """SETU_FRESH_CONTAINERS=1: every invocation starts in a new container (tests)."""
    return os.environ.get("SETU_FRESH_CONTAINERS", "").strip().lower() in ("1", "true", "yes")


@contextlib.contextmanager
def as_function(name: str, *, invocation: bool = True) -> Iterator[None]:
    """AWS calls made inside run under `name`'s policy.

    With SETU_FRESH_CONTAINERS=1 an invocation (not one nested in another) first forgets
    every per-container cache (``chalicelib.runtime.reset``: settings, agents, the signing
    secret, clients), as a cold container would, so first-use paths run under each function's
    policy too. Meant for tests, which invoke one handler at a time."""
    outermost = _function.get() is None
    if invocation and outermost and fresh_containers():
        from chalicelib import runtime

        runtime.reset()
    token = _function.set(name)
    try:
        yield
    finally:
        _function.reset(token)


# ---- the policies in force ----------------------------------------------------------------------

class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policies: dict[str, dict] = {}
        self.stage = "local"
        self.region = "us-east-1"
        self.account = ACCOUNT_ID
        self.denials: list[Denial] = []
        self.active = False  # a stack's policies are in force
        self.hash_keys: dict[str, str] = {}  # table name -> its partition key attribute


_state = _State()


def mode() -> str:
    value = os.environ.get("SETU_IAM", "enforce").strip().lower()
    return value if value in ("enforce", "audit", "off") else "enforce"


def use_policies(policies: dict[str, dict], *, stage: str, region: str = "us-east-1",
                 account: str = ACCOUNT_ID, hash_keys: dict[str, str] | None = None) -> None:
    """function -> resolved policy document (infra.permissions.stack_policies); `hash_keys`:
    table name -> partition key attribute (for the dynamodb:LeadingKeys condition key)."""
    with _state.lock:
        _state.policies = dict(policies)
        _state.hash_keys = dict(hash_keys or {})
        _state.active = True
        _state.stage, _state.region, _state.account = stage, region, account


def use_stack(endpoint: str, stage: str, *, region: str = "us-east-1",
              declaration: dict | None = None, support_domain: str | None = None) -> dict[str, dict]:
    """Resolve every function's policy against the deployed stack setu-<stage> and enforce it.
    Returns the policies (function -> document)."""
    from infra import permissions
    from local import stack

    cloudformation = stack.client("cloudformation", endpoint, region)
    name = f"setu-{stage}"
    described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])}
    if support_domain:
        parameters["SupportDomain"] = support_domain
    resources = [summary for page in cloudformation.get_paginator("list_stack_resources").paginate(
        StackName=name) for summary in page["StackResourceSummaries"]]
    names = permissions.stack_names(resources, stage=stage, region=region, account=ACCOUNT_ID,
                                    parameters=parameters)
    # the console's user pool is created through the API (the emulator's CloudFormation has
    # no Cognito): found by the template's name for it
    pool = stack.console_pool_id(endpoint, stage, region)
    if pool:
        names["ConsoleUserPool"] = pool
    # the emulator's stack lacks what it cannot create (the SMS configuration set): grants on
    # those name <absent:...> and allow nothing
    policies = permissions.stack_policies(names, "local", declaration, absent_ok=True)
    use_policies(policies, stage=stage, region=region,
                 hash_keys=permissions.table_hash_keys(names))
    return policies


def forget_policies() -> None:
    """No stack's policies are in force: nothing is checked until `use_policies` again (a
    test's stack is gone; code run after it must not meet that stack's policies)."""
    with _state.lock:
        _state.policies = {}
        _state.active = False


def denials() -> list[Denial]:
    with _state.lock:
        return list(_state.denials)


def clear_denials() -> None:
    with _state.lock:
        _state.denials.clear()


# ---- evaluation ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern:
    # IAM: * is any run of characters (also across / and :), ? one character; nothing else
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex + r"\Z", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_pattern(pattern, ignore_case).match(value))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _statement_applies(statement: dict, need: Need) -> bool:
    if "Action" in statement:
        action_ok = any(matches(p, need.action, ignore_case=True) for p in _as_list(statement["Action"]))
    else:
        action_ok = not any(matches(p, need.action, ignore_case=True)
                            for p in _as_list(statement.get("NotAction", [])))
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = any(matches(p, need.resource) for p in _as_list(statement["Resource"]))
    else:
        resource_ok = not any(matches(p, need.resource)
                              for p in _as_list(statement.get("NotResource", [])))
    return resource_ok and _conditions_hold(statement.get("Condition") or {}, need)


_OPERATORS = {"StringEquals": lambda value, pattern: value == pattern,
              "StringLike": lambda value, pattern: matches(pattern, value)}


def _conditions_hold(condition: dict, need: Need) -> bool:
    """IAM's condition operators Setu's policies use: StringEquals and StringLike, plain or
    with the ForAllValues:/ForAnyValue: set qualifiers. Another operator fails loudly."""
    for operator, block in condition.items():
        qualifier, _, base = operator.rpartition(":")
        if base not in _OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
            raise Unmapped(f"condition operator {operator}")
        test = _OPERATORS[base]
        for key, expected in block.items():
            values = need.key(key)
            expected = [str(e) for e in _as_list(expected)]
            one = lambda value: any(test(value, e) for e in expected)  # noqa: E731
            if qualifier == "ForAllValues":  # true when the key is absent or empty, as in IAM
                ok = all(one(v) for v in values or ())
            elif qualifier == "ForAnyValue":
                ok = any(one(v) for v in values or ())
            else:
                ok = bool(values) and len(values) == 1 and one(values[0])
            if not ok:
                return False
    return True


def evaluate(policy: dict, need: Need) -> str:
    """"allow", "explicit-deny" or "implicit-deny" (identity-based policies only; the condition
    operators of `_conditions_hold`)."""
    statements = _as_list(policy.get("Statement", []))
    if any(s.get("Effect") == "Deny" and _statement_applies(s, need) for s in statements):
        return "explicit-deny"
    if any(s.get("Effect") == "Allow" and _statement_applies(s, need) for s in statements):
        return "allow"
    return "implicit-deny"


# ---- what a call needs ----------------------------------------------------------------------------

def _table_arn(ctx: "_Call", table: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/{table}"


def _queue_arn(ctx: "_Call", url_or_name: str) -> str:
    if url_or_name.startswith("arn:"):
        return url_or_name
    parts = url_or_name.rstrip("/").split("/")
    name = parts[-1]
    account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else ctx.account
    return f"arn:aws:sqs:{ctx.region}:{account}:{name}"


@dataclass
class _Call:
    service: str
    operation: str
    params: dict
    region: str
    account: str
    hash_keys: dict = field(default_factory=dict)


def _scalar(value: Any) -> str | None:
    """A DynamoDB JSON key value ({"S": "x"}, {"N": "1"}) as IAM sees it in LeadingKeys."""
    if isinstance(value, dict):
        for kind in ("S", "N", "B"):
            if kind in value:
                return str(value[kind])
    return None


def _leading(ctx: _Call, table: str, *items: dict | None) -> tuple:
    """The dynamodb:LeadingKeys condition key: the partition key values the request names."""
    attribute = ctx.hash_keys.get(table)
    if not attribute:
        return ()
    values = tuple(v for v in (_scalar((item or {}).get(attribute)) for item in items) if v is not None)
    return (("dynamodb:LeadingKeys", values),) if values else ()


def _query_leading(ctx: _Call, p: dict) -> tuple:
    attribute = ctx.hash_keys.get(p.get("TableName", ""))
    expression = p.get("KeyConditionExpression") or ""
    names = p.get("ExpressionAttributeNames") or {}
    for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", expression):
        if names.get(name, name) == attribute:
            value = _scalar((p.get("ExpressionAttributeValues") or {}).get(placeholder))
            return (("dynamodb:LeadingKeys", (value,)),) if value is not None else ()
    return ()


_DYNAMODB_SINGLE = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable",
                    "DescribeTimeToLive", "UpdateTimeToLive", "DeleteTable", "UpdateTable",
                    "DescribeContinuousBackups", "CreateBackup"}
_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}


def _dynamodb(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    if op in _DYNAMODB_SINGLE:
        keys = _leading(ctx, p["TableName"], p.get("Item") if op == "PutItem" else p.get("Key"))
        return [Need(f"dynamodb:{op}", _table_arn(ctx, p["TableName"]), keys)]
    if op in ("Query", "Scan"):
        arn = _table_arn(ctx, p["TableName"])
        if p.get("IndexName"):
            arn += f"/index/{p['IndexName']}"
        keys = _query_leading(ctx, p) if op == "Query" and not p.get("IndexName") else ()
        return [Need(f"dynamodb:{op}", arn, keys)]
    if op == "BatchGetItem":
        return [Need("dynamodb:BatchGetItem", _table_arn(ctx, table),
                     _leading(ctx, table, *request.get("Keys", [])))
                for table, request in p.get("RequestItems", {}).items()]
    if op == "BatchWriteItem":
        return [Need("dynamodb:BatchWriteItem", _table_arn(ctx, table), _leading(
            ctx, table, *[w.get("PutRequest", {}).get("Item") or w.get("DeleteRequest", {}).get("Key")
                          for w in writes]))
                for table, writes in p.get("RequestItems", {}).items()]
    if op == "TransactWriteItems":
        needs = []
        for item in p.get("TransactItems", []):
            for kind, body in item.items():
                keys = _leading(ctx, body["TableName"], body.get("Item") if kind == "Put" else body.get("Key"))
                needs.append(Need(f"dynamodb:{_TRANSACT_WRITE[kind]}",
                                  _table_arn(ctx, body["TableName"]), keys))
        return needs
    if op == "TransactGetItems":
        return [Need("dynamodb:GetItem", _table_arn(ctx, item["Get"]["TableName"]),
                     _leading(ctx, item["Get"]["TableName"], item["Get"].get("Key")))
                for item in p.get("TransactItems", [])]
    if op == "ListTables":
        return [Need("dynamodb:ListTables", "*")]
    raise Unmapped(f"dynamodb {op}")


def _dynamodb_streams(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    if op == "ListStreams":
        return [Need("dynamodb:ListStreams", "*")]
    if op in ("DescribeStream", "GetShardIterator"):
        return [Need(f"dynamodb:{op}", p["StreamArn"])]
    if op == "GetRecords":
        # the iterator is opaque; the stream is what the policy names
        return [Need("dynamodb:GetRecords", _stream_of_iterator(ctx, p.get("ShardIterator", "")))]
    raise Unmapped(f"dynamodbstreams {op}")


def _stream_of_iterator(ctx: _Call, iterator: str) -> str:
    found = re.search(r"arn:aws:dynamodb:[^|\s\"]+/stream/[^|\s\"]+", iterator)
    return found.group(0) if found else f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/*/stream/*"


def _s3(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    bucket = p.get("Bucket", "")

    def obj(key: str) -> str:
        return f"arn:aws:s3:::{bucket}/{key}"

    if op in ("GetObject", "HeadObject"):
        return [Need("s3:GetObject", obj(p["Key"]))]
    if op == "PutObject":
        return [Need("s3:PutObject", obj(p["Key"]))]
    if op == "DeleteObject":  # a version: DeleteObjectVersion (S3's action for it)
        return [Need("s3:DeleteObjectVersion" if p.get("VersionId") else "s3:DeleteObject",
                     obj(p["Key"]))]
    if op == "DeleteObjects":  # IAM checks DeleteObject (or DeleteObjectVersion) on each key
        return [Need("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject",
                     obj(o["Key"])) for o in p.get("Delete", {}).get("Objects", [])]
    if op == "ListObjectVersions":
        return [Need("s3:ListBucketVersions", f"arn:aws:s3:::{bucket}")]
    if op == "CopyObject":
        source = p["CopySource"]
        if isinstance(source, dict):
            source = f"{source['Bucket']}/{source['Key']}"
        return [Need("s3:GetObject", f"arn:aws:s3:::{source.lstrip('/').split('?')[0]}"),
                Need("s3:PutObject", obj(p["Key"]))]
    if op in ("ListObjects", "ListObjectsV2"):
        return [Need("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
    raise Unmapped(f"s3 {op}")


def _sender_domain(p: dict) -> str:
    source = p.get("Source") or p.get("FromEmailAddress") or ""
    if not source and p.get("RawMessage", {}).get("Data"):
        data = p["RawMessage"]["Data"]
        data = data if isinstance(data, bytes) else str(data).encode()
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
        source = headers.get("From", "")
    address = email.utils.parseaddr(str(source))[1]
    return address.rpartition("@")[2].lower()


def _ses(ctx: _Call) -> list[Need]:
    if ctx.operation in ("SendRawEmail", "SendEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"):
        identity = f"arn:aws:ses:{ctx.region}:{ctx.account}:identity/{_sender_domain(ctx.params)}"
        return [Need(f"ses:{ctx.operation}", identity)]
    raise Unmapped(f"ses {ctx.operation}")


def _sns(ctx: _Call) -> list[Need]:
    p = ctx.params
    if ctx.operation == "Publish":
        target = p.get("TopicArn") or p.get("TargetArn")
        # a text straight to a phone number names no resource IAM can scope
        return [Need("sns:Publish", target if target else "*")]
    if ctx.operation == "PublishBatch":
        return [Need("sns:Publish", p["TopicArn"])]
    raise Unmapped(f"sns {ctx.operation}")


_SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def _sqs(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    if op == "GetQueueUrl":
        return [Need("sqs:GetQueueUrl", _queue_arn(ctx, p["QueueName"]))]
    if op in ("SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
              "GetQueueAttributes", "PurgeQueue", *_SQS_ACTIONS):
        return [Need(f"sqs:{_SQS_ACTIONS.get(op, op)}", _queue_arn(ctx, p["QueueUrl"]))]
    raise Unmapped(f"sqs {op}")


def _states(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    if op in ("StartExecution", "StartSyncExecution", "DescribeStateMachine"):
        return [Need(f"states:{op}", p["stateMachineArn"])]
    if op in ("StopExecution", "DescribeExecution", "GetExecutionHistory"):
        return [Need(f"states:{op}", p["executionArn"])]
    if op == "ListExecutions":
        return [Need("states:ListExecutions", p["stateMachineArn"])]
    raise Unmapped(f"states {op}")


def _sms_voice(ctx: _Call) -> list[Need]:
    p = ctx.params
    if ctx.operation != "SendTextMessage":
        raise Unmapped(f"pinpoint-sms-voice-v2 {ctx.operation}")
    base = f"arn:aws:sms-voice:{ctx.region}:{ctx.account}"
    needs = []
    if p.get("ConfigurationSetName"):
        name = p["ConfigurationSetName"]
        needs.append(Need("sms-voice:SendTextMessage",
                          name if name.startswith("arn:") else f"{base}:configuration-set/{name}"))
    origin = p.get("OriginationIdentity")
    if origin:
        # an E.164 number or an id: the phone number's ARN carries its generated id, which
        # only AWS knows; any phone-number/* grant covers it
        needs.append(Need("sms-voice:SendTextMessage", origin if origin.startswith("arn:")
                          else f"{base}:phone-number/{origin}"))
    return needs or [Need("sms-voice:SendTextMessage", "*")]


def _cloudwatch(ctx: _Call) -> list[Need]:
    if ctx.operation == "PutMetricData":  # no resource-level permission
        return [Need("cloudwatch:PutMetricData", "*")]
    raise Unmapped(f"cloudwatch {ctx.operation}")


def _sts(ctx: _Call) -> list[Need]:
    if ctx.operation == "GetCallerIdentity":  # needs no permission
        return []
    raise Unmapped(f"sts {ctx.operation}")


def _secretsmanager(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    if op in ("GetSecretValue", "PutSecretValue", "DescribeSecret", "UpdateSecretVersionStage"):
        secret = p["SecretId"]
        if not secret.startswith("arn:"):  # a name: AWS checks the full ARN (with its suffix),
            # which a name alone does not give; the functions always use the ARN
            secret = f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:{secret}"
        return [Need(f"secretsmanager:{op}", secret)]
    raise Unmapped(f"secretsmanager {op}")


def _cognito_idp(ctx: _Call) -> list[Need]:
    op, p = ctx.operation, ctx.params
    if op.startswith("Admin") and "UserPoolId" in p:
        return [Need(f"cognito-idp:{op}",
                     f"arn:aws:cognito-idp:{ctx.region}:{ctx.account}:userpool/{p['UserPoolId']}")]
    raise Unmapped(f"cognito-idp {op}")


# botocore's service name -> mapping
SERVICES: dict[str, Callable[[_Call], list[Need]]] = {
    "dynamodb": _dynamodb, "dynamodbstreams": _dynamodb_streams, "s3": _s3, "ses": _ses,
    "sns": _sns, "sqs": _sqs, "stepfunctions": _states, "pinpoint-sms-voice-v2": _sms_voice,
    "cloudwatch": _cloudwatch, "sts": _sts, "secretsmanager": _secretsmanager,
    "cognito-idp": _cognito_idp,
}


def required(service: str, operation: str, params: dict, *, region: str = "us-east-1",
             account: str = ACCOUNT_ID, hash_keys: dict[str, str] | None = None) -> list[Need]:
    """The IAM action(s) and resource ARN(s) `operation` with `params` needs (with the
    dynamodb:LeadingKeys condition key where `hash_keys` names the table's partition key)."""
    mapping = SERVICES.get(service)
    if mapping is None:
        raise Unmapped(f"{service} {operation}")
    return mapping(_Call(service, operation, params, region, account, hash_keys or {}))


# ---- the error AWS gives -------------------------------------------------------------------------

# botocore service name -> (error code, HTTP status)
ERRORS = {
    "dynamodb": ("AccessDeniedException", 400), "dynamodbstreams": ("AccessDeniedException", 400),
    "stepfunctions": ("AccessDeniedException", 400),
    "pinpoint-sms-voice-v2": ("AccessDeniedException", 403),
    "s3": ("AccessDenied", 403), "ses": ("AccessDenied", 403), "sqs": ("AccessDenied", 403),
    "cloudwatch": ("AccessDenied", 403), "sns": ("AuthorizationError", 403),
    "secretsmanager": ("AccessDeniedException", 400),
    "cognito-idp": ("AccessDeniedException", 400),
}


def principal(function: str, stage: str | None = None) -> str:
    """The assumed-role session a function's calls are made as (Chalice names the role
    <Function>Role; Lambda names the session after the function)."""
    from infra.permissions import role_logical_id

    stage = stage or _state.stage
    return (f"arn:aws:sts::{_state.account}:assumed-role/setu-{stage}-{role_logical_id(function)}"
            f"/setu-{stage}-{function}")


def message(function: str, need: Need, verdict: str, service: str) -> str:
    action = need.action
    if service == "sns":  # SNS spells its service prefix in capitals in these messages
        action = "SNS:" + action.split(":", 1)[1]
    resource = f'"{need.resource}"' if service == "s3" else need.resource
    why = ("with an explicit deny in an identity-based policy" if verdict == "explicit-deny"
           else f"because no identity-based policy allows the {action} action")
    return (f"User: {principal(function)} is not authorized to perform: {action} on resource: "
            f"{resource} {why}")


def error_response(service: str, text: str) -> tuple[Any, dict]:
    from botocore.awsrequest import AWSResponse

    code, status = ERRORS.get(service, ("AccessDenied", 403))
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-requestid": request_id, "content-type": "application/json"}
    http = AWSResponse("https://iam.local/denied", status, headers, None)
    parsed = {"Error": {"Code": code, "Message": text},
              "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status,
                                   "HTTPHeaders": headers, "RetryAttempts": 0}}
    return http, parsed


def _s3_delete_objects_response(denied_keys: list[str], text_for: dict[str, str]) -> tuple[Any, dict]:
    """DeleteObjects answers 200 and lists each key it may not delete under Errors."""
    from botocore.awsrequest import AWSResponse

    request_id = str(uuid.uuid4())
    http = AWSResponse("https://iam.local/denied", 200, {"x-amz-request-id": request_id}, None)
    return http, {"Errors": [{"Key": key, "Code": "AccessDenied", "Message": text_for[key]}
                             for key in denied_keys],
                  "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": 200,
                                       "HTTPHeaders": {}, "RetryAttempts": 0}}


# ---- the botocore hooks ---------------------------------------------------------------------------

_CONTEXT_KEY = "setu_iam_denied"


def check_call(function: str, service: str, operation: str, params: dict) -> list[tuple[Need, str]]:
    """The needs of this call `function`'s policy denies, with the verdict; records them."""
    with _state.lock:
        policy = _state.policies.get(function)
        region, account, hash_keys = _state.region, _state.account, _state.hash_keys
    needs = required(service, operation, params, region=region, account=account,
                     hash_keys=hash_keys)
    if policy is None:
        policy = {"Statement": []}
    denied = []
    for need in needs:
        verdict = evaluate(policy, need)
        if verdict != "allow":
            denied.append((need, verdict))
    if denied:
        _record(function, operation, [need for need, _ in denied])
    return denied


def _record(function: str, operation: str, needs: Iterable[Need]) -> None:
    entries = [Denial(function, n.action, n.resource, operation) for n in needs]
    with _state.lock:
        _state.denials.extend(entries)
    path = os.environ.get("SETU_IAM_LOG")
    for entry in entries:
        log.warning("IAM %s: %s may not %s on %s (%s)", mode(), entry.function, entry.action,
                    entry.resource, operation)
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry.as_dict()) + "\n")


def _before_parameter_build(params: dict, model: Any, context: dict, **_: Any) -> None:
    function = _function.get()
    if function is None or context is None or not _state.active:
        return
    current = mode()
    if current == "off":
        return
    service = model.service_model.service_name
    denied = check_call(function, service, model.name, params)
    if denied and current == "enforce":
        if service == "s3" and model.name == "DeleteObjects" and _delete_the_allowed(
                function, denied, params, context):
            return
        context[_CONTEXT_KEY] = (function, service, model.name, denied, params)
    elif not denied:
        _s3_missing_object_check(function, service, model.name, params, context)


_MISSING_KEY = "setu_iam_missing_object"


def _s3_missing_object_check(function: str, service: str, operation: str, params: dict,
                             context: dict) -> None:
    """S3 answers a GetObject/HeadObject of a missing key with 404 only to a caller that may
    also s3:ListBucket the bucket; anyone else gets 403 AccessDenied (so the caller cannot
    learn which keys exist). Remember whether this caller would get the 403."""
    if service != "s3" or operation not in ("GetObject", "HeadObject"):
        return
    with _state.lock:
        policy = _state.policies.get(function) or {"Statement": []}
    need = Need("s3:ListBucket", f"arn:aws:s3:::{params.get('Bucket', '')}")
    if evaluate(policy, need) != "allow":
        context[_MISSING_KEY] = (function, need, operation)


_DELETE_ERRORS = "setu_iam_delete_errors"


def _delete_the_allowed(function: str, denied: list[tuple[Need, str]], params: dict,
                        context: dict) -> bool:
    """DeleteObjects with some keys denied: S3 deletes the others and lists the denied ones
    under Errors. The request goes on without the denied keys (False when none is left)."""
    texts = {need.resource: message(function, need, verdict, "s3") for need, verdict in denied}
    bucket = params.get("Bucket", "")
    objects = params.get("Delete", {}).get("Objects", [])
    allowed = [o for o in objects if f"arn:aws:s3:::{bucket}/{o['Key']}" not in texts]
    if not allowed:
        return False
    params["Delete"]["Objects"] = allowed
    context[_DELETE_ERRORS] = [
        {"Key": o["Key"], "Code": "AccessDenied", "Message": texts[f"arn:aws:s3:::{bucket}/{o['Key']}"]}
        for o in objects if f"arn:aws:s3:::{bucket}/{o['Key']}" in texts]
    return True


def _after_call(http_response: Any, parsed: dict, context: dict, **_: Any) -> None:
    errors = (context or {}).pop(_DELETE_ERRORS, None)
    if errors and getattr(http_response, "status_code", 500) < 300:
        parsed.setdefault("Errors", []).extend(errors)
    found = (context or {}).pop(_MISSING_KEY, None)
    if found is None or getattr(http_response, "status_code", 200) != 404:
        return
    function, need, operation = found
    _record(function, f"{operation} of a missing key", [need])
    if mode() != "enforce":
        return
    http_response.status_code = 403
    parsed["Error"] = {"Code": "AccessDenied", "Message": "Access Denied"}
    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403


def _before_call(model: Any, context: dict, **_: Any) -> tuple[Any, dict] | None:
    found = (context or {}).pop(_CONTEXT_KEY, None)
    if found is None:
        return None
    function, service, operation, denied, params = found
    if service == "s3" and operation == "DeleteObjects":
        arns = {need.resource: message(function, need, verdict, service) for need, verdict in denied}
        bucket = params.get("Bucket", "")
        keys = [o["Key"] for o in params.get("Delete", {}).get("Objects", [])]
        texts = {key: arns[f"arn:aws:s3:::{bucket}/{key}"] for key in keys
                 if f"arn:aws:s3:::{bucket}/{key}" in arns}
        return _s3_delete_objects_response(list(texts), texts)
    need, verdict = denied[0]
    return error_response(service, message(function, need, verdict, service))


def register(events: Any) -> None:
    """Hook a botocore client's (or session's) event system."""
    events.register_first("before-parameter-build", _before_parameter_build,
                          unique_id="setu-iam-params")
    events.register_first("before-call", _before_call, unique_id="setu-iam-call")
    events.register_first("after-call.s3", _after_call, unique_id="setu-iam-after")


_installed = False


def install(app_module: Any = None) -> None:
    """Hook every botocore client made from now on (clients made before keep working,
    unchecked: call chalicelib.runtime.reset() after this), and, given the app module, run its
    handlers as their functions (`wrap_app`)."""
    global _installed
    import botocore.session

    if not _installed:
        original = botocore.session.Session.create_client

        @functools.wraps(original)
        def create_client(self, *args, **kwargs):
            client = original(self, *args, **kwargs)
            register(client.meta.events)
            return client

        botocore.session.Session.create_client = create_client
        _installed = True
    if app_module is not None:
        wrap_app(app_module)


HANDLERS = ("timer_fired", "ticket_changed", "timeline_appended", "report_events",
            "report_timeline", "daily_briefing", "inbound_email", "inbound_sms", "ses_events",
            "sms_events")


class _AsFunction:
    """A handler that runs as its function (for code calling ``app.<handler>(event, ctx)``)."""

    def __init__(self, name: str, handler: Callable):
        self.name, self.handler = name, handler
        functools.update_wrapper(self, handler, updated=())

    def __call__(self, event: Any, context: Any) -> Any:
        with as_function(self.name):
            return self.handler(event, context)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.handler, attribute)


def wrap_app(app_module: Any) -> None:
    """``app.app`` (the REST API: chalice.local's server and chalice.test.Client call it) runs
    as api_handler; each event handler on the module as itself. Idempotent."""
    chalice_app = app_module.app
    if not getattr(type(chalice_app), "_setu_iam", False):
        base = type(chalice_app)

        class _ApiHandler(base):  # type: ignore[misc, valid-type]
            _setu_iam = True

            def __call__(self, event, context):
                with as_function("api_handler"):
                    return base.__call__(self, event, context)

        _ApiHandler.__name__ = _ApiHandler.__qualname__ = base.__name__
        chalice_app.__class__ = _ApiHandler
    declared = {source.name for source in chalice_app.event_sources}
    for name in declared:
        handler = getattr(app_module, name, None)
        if handler is not None and not isinstance(handler, _AsFunction):
            setattr(app_module, name, _AsFunction(name, handler))
