"""Deploy rehearsal: the packaged template, translated as AWS would and created in the emulator.

`make package` writes build/<stage>/sam.yaml (a SAM template: ``Transform:
AWS::Serverless-2016-10-31``) and build/<stage>/deployment.zip. A real deploy uploads the zip,
lets CloudFormation run the SAM transform and then creates ~90 resources; mistakes there (a
broken reference, a missing property, an event source wired to the wrong thing) show up only
then. `rehearse` does the same steps against the emulator (moto server):

1. uploads deployment.zip to an artifact bucket in the emulated S3 and points every
   function's ``CodeUri`` at it (what ``aws cloudformation package`` / ``sam deploy
   --resolve-s3`` do), and uploads the template there too;
2. translates the template with the official SAM translator (``aws-sam-translator``,
   `samtranslator.translator.transform.transform`), with a fixed managed-policy map, so no
   AWS account is asked for one;
3. checks statically every resource of a type the emulator cannot create (`CANNOT_CREATE`,
   each with the reason) - the properties that matter, in `static_problems`;
4. creates the rest as a stack in the emulator's CloudFormation from the template's S3 URL
   (references to the resources left out are replaced by named stand-ins) and requires
   ``CREATE_COMPLETE`` with every resource created (moto skips a type it does not know
   without failing: such a type must be added to `CANNOT_CREATE`);
5. reads back, through the emulator's Lambda and Step Functions APIs, the event source
   mappings (batch size, bisect, retries, partial batch responses, the on-failure
   destination) and the timer state machine's definition (every ``${...}`` substituted, the
   timer queue's URL in it), and each function's runtime and code.

Any failure raises `RehearsalFailed` naming every problem found. tests/packaging/
test_rehearsal.py runs it in `make test`; by hand, against a running emulator::

    python -m infra.rehearse --endpoint http://127.0.0.1:5000 [--stage dev] [--build build/dev]
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # the emulator's default account

# The managed policies the translator may be asked about (SAM policy templates, `Policies:
# [AWSLambdaBasicExecutionRole]`): a fixed map instead of iam:ListPolicies on a real account.
# Chalice writes every role itself, so today nothing is looked up.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole":
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaSQSQueueExecutionRole":
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaDynamoDBExecutionRole":
        "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
}

# Resource types of the translated template the emulator's CloudFormation (moto 5) cannot
# create, and why. Each is left out of the created stack and checked by `static_problems`.
CANNOT_CREATE: dict[str, str] = {
    "AWS::ApiGateway::RestApi": "moto requires a Name and ignores Body, the OpenAPI definition "
                                "Chalice writes: it would fail, or create an API without routes",
    "AWS::ApiGateway::Deployment": "deploys the RestApi, which is not created",
    "AWS::ApiGateway::Stage": "moto's CloudFormation has no API Gateway stages",
    "AWS::CloudWatch::Alarm": "moto's CloudFormation has no alarms (it would skip them silently)",
    "AWS::SES::ReceiptRuleSet": "moto's CloudFormation has no SES receiving",
    "AWS::SES::ReceiptRule": "moto's CloudFormation has no SES receiving",
    "AWS::SMSVOICE::ConfigurationSet": "moto has no End User Messaging SMS (SMS v2) API",
    "AWS::S3::BucketPolicy": "moto's CloudFormation has no bucket policies (skipped silently)",
    "AWS::SNS::TopicPolicy": "moto's CloudFormation has no topic policies (skipped silently)",
    "AWS::SNS::Subscription": "moto's CloudFormation has no SNS subscriptions",
    "AWS::ApiGateway::GatewayResponse": "moto's CloudFormation has no gateway responses "
                                        "(the RestApi they belong to is not created either)",
    "AWS::SecretsManager::Secret": "moto's CloudFormation has no Secrets Manager secrets "
                                   "(skipped silently)",
    "AWS::Cognito::UserPool": "moto's CloudFormation has no Cognito user pools (skipped "
                              "silently); the local stack creates the pool through the API",
    "AWS::Cognito::UserPoolClient": "moto's CloudFormation has no Cognito app clients "
                                    "(skipped silently)",
}

# Types moto creates without a physical id: checked through the service instead (Lambda
# permissions: the statement in the function's resource policy, `created_problems`).
NO_PHYSICAL_ID = frozenset({"AWS::Lambda::Permission"})

# Stream and queue event sources: what every mapping must be created with.
STREAM_MAPPING = {"BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 10,
                  "FunctionResponseTypes": ["ReportBatchItemFailures"],
                  "StartingPosition": "TRIM_HORIZON"}
QUEUE_MAPPING = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
# function logical id -> the resource its mapping reads (a table's stream, or a queue)
EXPECTED_MAPPINGS = {
    "TimerFired": "TimerQueue",
    "TicketChanged": "TicketsTable",
    "ReportEvents": "TicketsTable",
    "TimelineAppended": "TimelineTable",
    "ReportTimeline": "TimelineTable",
}
# function logical id -> the topic it is subscribed to
EXPECTED_SUBSCRIPTIONS = {
    "InboundEmail": "InboundEmailTopic",
    "InboundSms": "InboundSmsTopic",
    "SesEvents": "SesEventsTopic",
    "SmsEvents": "SmsEventsTopic",
}


class RehearsalFailed(AssertionError):
    """The template would not deploy as designed; the message lists every problem."""

    def __init__(self, step: str, problems: list[str]):
        self.step, self.problems = step, problems
        super().__init__(f"deploy rehearsal failed at {step}:\n  - " + "\n  - ".join(problems))


@dataclass
class Rehearsal:
    stack_name: str
    stage: str
    created: dict[str, str] = field(default_factory=dict)        # logical id -> type
    checked_statically: dict[str, str] = field(default_factory=dict)  # logical id -> type
    stand_ins: list[str] = field(default_factory=list)
    mappings: dict[str, dict] = field(default_factory=dict)     # function -> mapping config
    state_machine_definition: str = ""
    template_bytes: int = 0
    translated_bytes: int = 0


# ---- 1. the artifacts ------------------------------------------------------------------------

def _client(service: str, endpoint: str):
    import boto3
    from botocore.config import Config

    # no retries: a refused create must fail once, not be tried again on a half-made stack
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}))


def point_code_at(sam: dict, uri: str, zip_name: str = "deployment.zip") -> dict:
    """sam with every function's local CodeUri replaced by uri (what `aws cloudformation
    package` does after uploading); any other local path is an error (nothing uploads it)."""
    packaged = copy.deepcopy(sam)
    local = []
    for name, resource in packaged.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for prop in ("CodeUri", "ContentUri", "DefinitionUri"):
            value = props.get(prop)
            if isinstance(value, str) and not value.startswith("s3://"):
                if resource["Type"] == "AWS::Serverless::Function" and prop == "CodeUri":
                    if Path(value).name != zip_name:
                        local.append(f"{name}.CodeUri is {value}, not the deployment zip")
                    props[prop] = uri
                else:
                    local.append(f"{name}.{prop} is a local path ({value}) nothing uploads")
    if local:
        raise RehearsalFailed("upload", local)
    return packaged


def upload_code(sam: dict, zip_path: Path, s3, bucket: str) -> dict:
    """Upload the zip under its content hash; sam with every function's code pointing there."""
    data = Path(zip_path).read_bytes()
    key = f"deployment-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return point_code_at(sam, f"s3://{bucket}/{key}", Path(zip_path).name)


# ---- 2. the SAM transform --------------------------------------------------------------------

class _FixedPolicies:
    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


def translate(sam: dict) -> dict:
    """The template as CloudFormation's SAM transform would turn it into plain resources."""
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator asks boto3 for one
    try:
        return transform(copy.deepcopy(sam), {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT},
                         _FixedPolicies())
    except InvalidDocumentException as exc:
        raise RehearsalFailed("translate", [str(c) for c in exc.causes] or [str(exc)]) from None
    except Exception as exc:  # noqa: BLE001 - the translator's own errors are not uniform
        raise RehearsalFailed("translate", [f"{type(exc).__name__}: {exc}"]) from None


# ---- 3. what the emulator cannot create, checked statically ----------------------------------

def _refs(value: Any) -> set[str]:
    """Logical ids value names (Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _refs(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(item, list):
                    found |= _refs(item[1:])
            else:
                found |= _refs(item)
    return found


def _names(value: Any, logical_id: str) -> bool:
    return logical_id in _refs(value)


def static_problems(template: dict) -> list[str]:
    """What is wrong with the resources `CANNOT_CREATE` lists (each must be present, with the
    properties that matter). Reads the translated template."""
    resources = template.get("Resources", {})
    parameters = template.get("Parameters", {})
    by_type: dict[str, dict[str, dict]] = {}
    for name, resource in resources.items():
        by_type.setdefault(resource["Type"], {})[name] = resource.get("Properties", {})
    problems: list[str] = []

    def one(kind: str) -> tuple[str, dict]:
        found = by_type.get(kind, {})
        if len(found) != 1:
            problems.append(f"expected one {kind}, found {sorted(found) or 'none'}")
            return "", {}
        return next(iter(found.items()))

    # API Gateway: the REST API Chalice defines by Body, its deployment and stage `api`
    api_id, api = one("AWS::ApiGateway::RestApi")
    if api_id:
        body = api.get("Body") or {}
        paths = body.get("paths", {})
        if not {"/health", "/tickets", "/api/tickets", "/form"} <= set(paths):
            problems.append(f"{api_id}: Body lacks routes (has {sorted(paths)[:5]}...)")
        for path, methods in paths.items():
            for method, operation in methods.items():
                if method == "options" and "x-amazon-apigateway-integration" in operation \
                        and operation["x-amazon-apigateway-integration"].get("type") == "mock":
                    continue
                integration = operation.get("x-amazon-apigateway-integration", {})
                if integration.get("type") != "aws_proxy" or not _names(integration.get("uri"),
                                                                        "APIHandler"):
                    problems.append(f"{api_id}: {method.upper()} {path} is not proxied to "
                                    "APIHandler")
                secured = any("sigv4" in s for s in operation.get("security", []))
                if path.startswith("/api/") and not secured:
                    problems.append(f"{api_id}: {method.upper()} {path} is not IAM-authorised")
                if path.startswith("/console/api/") and not any(
                        "console" in s for s in operation.get("security", [])):
                    problems.append(f"{api_id}: {method.upper()} {path} is not "
                                    "Cognito-authorised")
        if body.get("securityDefinitions", {}).get("sigv4", {}).get(
                "x-amazon-apigateway-authtype") != "awsSigv4":
            problems.append(f"{api_id}: no awsSigv4 (IAM) authoriser")
    # API Gateway's own 403 (no route, unsigned request) in the contract's error shape
    responses = {r.get("ResponseType"): (name, r) for name, r in
                 by_type.get("AWS::ApiGateway::GatewayResponse", {}).items()}
    for response_type, status in (("MISSING_AUTHENTICATION_TOKEN", "403"), ("UNAUTHORIZED", "401")):
        response_id, response = responses.get(response_type, ("", {}))
        if not response_id or response.get("StatusCode") != status \
                or '"error"' not in str(response.get("ResponseTemplates", {})):
            problems.append(f"no {status} {response_type} gateway response in the error shape")
    deployment_id, deployment = one("AWS::ApiGateway::Deployment")
    if deployment_id and not _names(deployment.get("RestApiId"), api_id):
        problems.append(f"{deployment_id} does not deploy {api_id}")
    stage_id, stage = one("AWS::ApiGateway::Stage")
    if stage_id:
        if stage.get("StageName") != "api":
            problems.append(f"{stage_id}: StageName {stage.get('StageName')!r}, not 'api'")
        if not (_names(stage.get("RestApiId"), api_id)
                and _names(stage.get("DeploymentId"), deployment_id)):
            problems.append(f"{stage_id} is not {api_id}'s stage of {deployment_id}")
        # operations settings, once the template declares them (issue 19 item 6)
        if "ApiThrottleRateLimit" in parameters:
            settings = stage.get("MethodSettings") or [{}]
            if not all(_names(s.get("ThrottlingRateLimit"), "ApiThrottleRateLimit")
                       and _names(s.get("ThrottlingBurstLimit"), "ApiThrottleBurstLimit")
                       for s in settings):
                problems.append(f"{stage_id}: stage throttling is not the parameters'")
            if not (stage.get("AccessLogSetting") or {}).get("DestinationArn"):
                problems.append(f"{stage_id}: no access log")
    for name, permission in by_type.get("AWS::Lambda::Permission", {}).items():
        if permission.get("Principal") == "apigateway.amazonaws.com" and not (
                _names(permission.get("FunctionName"), "APIHandler")
                and _names(permission.get("SourceArn"), api_id)):
            problems.append(f"{name}: API Gateway may not invoke APIHandler from {api_id}")

    # Alarms: each watches something of this stack, and notifies someone when a topic exists
    alarms = by_type.get("AWS::CloudWatch::Alarm", {})
    functions = {n: p for n, p in by_type.get("AWS::Serverless::Function", {}).items()}
    functions.update(by_type.get("AWS::Lambda::Function", {}))
    alarm_topics = [n for n, p in by_type.get("AWS::SNS::Topic", {}).items()
                    if "alarm" in json.dumps(p.get("TopicName", "")).lower()]
    watched_functions = set()
    for name, alarm in alarms.items():
        for key in ("AlarmName", "Namespace", "MetricName", "Statistic", "Period",
                    "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData"):
            if key not in alarm:
                problems.append(f"{name}: no {key}")
        if not alarm.get("Dimensions"):
            problems.append(f"{name}: no Dimensions (it would watch nothing)")
        for dimension in alarm.get("Dimensions", []):
            if dimension.get("Name") == "FunctionName":
                watched_functions.add(json.dumps(dimension.get("Value"), sort_keys=True))
        actions = alarm.get("AlarmActions", [])
        if alarm_topics and not any(_names(a, t) for a in actions for t in alarm_topics):
            problems.append(f"{name}: AlarmActions do not notify {alarm_topics}")
        for action in actions:
            if not (_refs(action) & set(resources)):
                problems.append(f"{name}: AlarmAction {action!r} names nothing in the stack")
    names = {json.dumps(p.get("FunctionName"), sort_keys=True): n for n, p in functions.items()}
    for fn_name, logical in names.items():
        if fn_name not in watched_functions:
            problems.append(f"{logical}: no Errors alarm watches it")
    if len(alarms) < len(functions) + 4:
        problems.append(f"only {len(alarms)} alarms for {len(functions)} functions")

    # SES receiving: the rule set, the one rule: S3 action to inbound/ with the topic, scans
    set_id, rule_set = one("AWS::SES::ReceiptRuleSet")
    rule_id, rule = one("AWS::SES::ReceiptRule")
    if set_id and "setu-${Stage}-inbound" not in json.dumps(rule_set.get("RuleSetName")):
        problems.append(f"{set_id}: RuleSetName is not setu-<Stage>-inbound (the documented "
                        "activation command names it)")
    if rule_id:
        body = rule.get("Rule", {})
        if not _names(rule.get("RuleSetName"), set_id):
            problems.append(f"{rule_id} is not in {set_id}")
        for key, wanted in (("Enabled", True), ("ScanEnabled", True), ("TlsPolicy", "Require")):
            if body.get(key) != wanted:
                problems.append(f"{rule_id}: {key} is {body.get(key)!r}, not {wanted!r}")
        if not any(_names(r, "SupportDomain") for r in body.get("Recipients", [])):
            problems.append(f"{rule_id}: Recipients do not name SupportDomain")
        s3_actions = [a["S3Action"] for a in body.get("Actions", []) if "S3Action" in a]
        if len(s3_actions) != 1:
            problems.append(f"{rule_id}: expected one S3Action, found {len(s3_actions)}")
        else:
            action = s3_actions[0]
            if not _names(action.get("BucketName"), "MailBucket"):
                problems.append(f"{rule_id}: S3Action does not write MailBucket")
            if action.get("ObjectKeyPrefix") != "inbound/":
                problems.append(f"{rule_id}: S3Action prefix {action.get('ObjectKeyPrefix')!r}")
            if not _names(action.get("TopicArn"), "InboundEmailTopic"):
                problems.append(f"{rule_id}: S3Action does not notify InboundEmailTopic")
        depends = resources[rule_id].get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        if not {"MailBucketPolicy", "SesPublishPolicy"} <= set(depends):
            problems.append(f"{rule_id}: must depend on MailBucketPolicy and SesPublishPolicy "
                            "(SES checks its access when the rule is created)")

    # SMS delivery events
    sms_id, sms = one("AWS::SMSVOICE::ConfigurationSet")
    if sms_id:
        destinations = sms.get("EventDestinations", [])
        if not any(d.get("Enabled") and _names((d.get("SnsDestination") or {}).get("TopicArn"),
                                                "SmsEventsTopic") for d in destinations):
            problems.append(f"{sms_id}: no enabled event destination to SmsEventsTopic")

    # Resource policies: SES may write inbound/ of the mail bucket and publish to its topics
    policies = by_type.get("AWS::S3::BucketPolicy", {})
    mail_policy = policies.get("MailBucketPolicy", {})
    if not _names(mail_policy.get("Bucket"), "MailBucket"):
        problems.append("MailBucketPolicy: missing, or not on MailBucket")
    statements = (mail_policy.get("PolicyDocument") or {}).get("Statement", [])
    if not any(s.get("Principal", {}) == {"Service": "ses.amazonaws.com"}
               and s.get("Action") == "s3:PutObject" and "/inbound/*" in json.dumps(s["Resource"])
               for s in statements):
        problems.append("MailBucketPolicy: SES may not put inbound/*")
    if not any(s.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(s)
               for s in statements):
        problems.append("MailBucketPolicy: insecure transport is not denied")
    topic_policies = by_type.get("AWS::SNS::TopicPolicy", {})
    for policy_id, topics, service in (("SesPublishPolicy", ("InboundEmailTopic", "SesEventsTopic"),
                                        "ses.amazonaws.com"),
                                       ("SmsEventsPublishPolicy",
                                        ("SmsEventsTopic", "InboundSmsTopic"),
                                        "sms-voice.amazonaws.com")):
        policy = topic_policies.get(policy_id)
        if policy is None:
            problems.append(f"{policy_id}: missing")
            continue
        for topic in topics:
            if not any(_names(t, topic) for t in policy.get("Topics", [])):
                problems.append(f"{policy_id}: not on {topic}")
        if service not in json.dumps(policy.get("PolicyDocument")):
            problems.append(f"{policy_id}: {service} may not publish")

    # SNS handlers: each subscribed to its topic (the invoke permission is created for real)
    subscriptions = by_type.get("AWS::SNS::Subscription", {})
    for function, topic in EXPECTED_SUBSCRIPTIONS.items():
        if not any(s.get("Protocol") == "lambda" and _names(s.get("Endpoint"), function)
                   and _names(s.get("TopicArn"), topic) for s in subscriptions.values()):
            problems.append(f"{function} is not subscribed to {topic}")

    # the signing secret: generated at deploy time as {"current": "k1", "k1": <64 chars>}
    # (services/messaging/signing.py reads that shape), kept when the stack goes
    secret_id, secret = one("AWS::SecretsManager::Secret")
    if secret_id:
        generate = secret.get("GenerateSecretString") or {}
        try:
            template_value = json.loads(generate.get("SecretStringTemplate") or "null")
        except ValueError:
            template_value = None
        if template_value != {"current": "k1"} or generate.get("GenerateStringKey") != "k1":
            problems.append(f"{secret_id}: not generated as {{\"current\": \"k1\", \"k1\": ...}}")
        if (generate.get("PasswordLength") or 0) < 32:
            problems.append(f"{secret_id}: the generated key is shorter than 32 characters")
        if "SecretString" in secret:
            problems.append(f"{secret_id}: a SecretString in the template is not a secret")
        if resources[secret_id].get("DeletionPolicy") != "Retain":
            problems.append(f"{secret_id}: DeletionPolicy is not Retain")

    # the console's user pool: invitations only, email as user name (changed only once the new
    # address is verified), optional TOTP; its app
    # client public (no secret) with SRP; the API's Cognito authorizer names the pool
    pool_id, pool = one("AWS::Cognito::UserPool")
    if pool_id:
        if not (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
            problems.append(f"{pool_id}: self sign-up is allowed (AllowAdminCreateUserOnly)")
        if pool.get("UsernameAttributes") != ["email"]:
            problems.append(f"{pool_id}: the user name is not the email address")
        if pool.get("MfaConfiguration") != "OPTIONAL" or \
                "SOFTWARE_TOKEN_MFA" not in (pool.get("EnabledMfas") or []):
            problems.append(f"{pool_id}: TOTP MFA is not offered")
        if resources[pool_id].get("DeletionPolicy") != "Retain":
            problems.append(f"{pool_id}: DeletionPolicy is not Retain")
        if "email" not in ((pool.get("UserAttributeUpdateSettings") or {})
                           .get("AttributesRequireVerificationBeforeUpdate") or []):
            problems.append(f"{pool_id}: a user can change their email unverified "
                            "(UserAttributeUpdateSettings)")
        authorizers = [s.get("x-amazon-apigateway-authorizer", {}) for s in
                       ((api.get("Body") or {}).get("securityDefinitions") or {}).values()]
        cognito = [a for a in authorizers if a.get("type") == "cognito_user_pools"]
        if not cognito or not all(_names(a.get("providerARNs"), pool_id) for a in cognito):
            problems.append(f"the API's Cognito authorizer does not name {pool_id}")
    client_id, app_client = one("AWS::Cognito::UserPoolClient")
    if client_id:
        if app_client.get("GenerateSecret"):
            problems.append(f"{client_id}: a browser client cannot keep a secret")
        if "ALLOW_USER_SRP_AUTH" not in (app_client.get("ExplicitAuthFlows") or []):
            problems.append(f"{client_id}: no SRP sign-in")
        if pool_id and not _names(app_client.get("UserPoolId"), pool_id):
            problems.append(f"{client_id}: not a client of {pool_id}")

    # every type the emulator cannot create is accounted for above
    for kind in CANNOT_CREATE:
        if kind not in by_type:
            problems.append(f"no {kind} in the template (CANNOT_CREATE lists it)")
    return problems


# ---- 4. the rest, created -------------------------------------------------------------------

def _stand_in(logical_id: str, attribute: str | None = None) -> str:
    """What a reference to a resource that is not created becomes: a name, or an ARN-shaped
    string for Arn attributes."""
    if attribute and attribute.endswith("Arn"):
        return f"arn:aws:rehearsal:{REGION}:{ACCOUNT}:not-created/{logical_id}"
    return f"not-created-{logical_id}"


def _replace_refs(value: Any, left_out: set[str], used: set[str]) -> Any:
    if isinstance(value, list):
        return [_replace_refs(v, left_out, used) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        key, item = next(iter(value.items()))
        if key == "Ref" and item in left_out:
            used.add(item)
            return _stand_in(item)
        if key == "Fn::GetAtt":
            target, attribute = (item if isinstance(item, list) else str(item).split(".", 1))
            if target in left_out:
                used.add(target)
                return _stand_in(target, attribute)
        if key == "Fn::Sub":
            text, variables = (item if isinstance(item, list) else (item, {}))
            variables = _replace_refs(variables, left_out, used)

            def sub(match: re.Match) -> str:
                name = match.group(1)
                target, _, attribute = name.partition(".")
                if target in left_out and name not in variables:
                    used.add(target)
                    return _stand_in(target, attribute or None)
                return match.group(0)

            text = re.sub(r"\$\{([^}!]+)\}", sub, text)
            return {"Fn::Sub": [text, variables] if variables else text}
    return {k: _replace_refs(v, left_out, used) for k, v in value.items()}


def creatable(template: dict) -> tuple[dict, set[str], set[str]]:
    """(template without CANNOT_CREATE resources, their logical ids, the ones stood in for)."""
    rendered = copy.deepcopy(template)
    resources = rendered["Resources"]
    left_out = {n for n, r in resources.items() if r["Type"] in CANNOT_CREATE}
    for name in left_out:
        del resources[name]
    used: set[str] = set()
    for name, resource in list(resources.items()):
        depends = resource.get("DependsOn")
        if depends is not None:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends)
                    if d not in left_out]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
        resources[name] = _replace_refs(resource, left_out, used)
    rendered["Outputs"] = _replace_refs(rendered.get("Outputs", {}), left_out, used)
    return rendered, left_out, used


def _create(cloudformation, s3, bucket: str, stack_name: str, template: dict,
            stage: str) -> dict[str, str]:
    body = json.dumps(template)
    key = f"{stack_name}.template.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    url = f"https://{bucket}.s3.amazonaws.com/{key}"
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    try:
        cloudformation.create_stack(
            StackName=stack_name, TemplateURL=url,
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
    except (ClientError, BotoCoreError, ResponseParserError) as exc:  # the emulator's 500s
        raise RehearsalFailed("create", [f"create_stack refused: {exc}"]) from None
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        reasons = [f"{e['LogicalResourceId']}: {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
                   for e in events if "FAILED" in e["ResourceStatus"]]
        status = (f"stack {stack_name} is {stack['StackStatus']}: "
                  f"{stack.get('StackStatusReason', '')}")
        raise RehearsalFailed("create", [status, *reasons])
    summaries = cloudformation.list_stack_resources(StackName=stack_name)[
        "StackResourceSummaries"]
    physical = {s["LogicalResourceId"]: s.get("PhysicalResourceId") for s in summaries
                if s.get("ResourceStatus") == "CREATE_COMPLETE"}
    missing = sorted(n for n, r in template["Resources"].items()
                     if not physical.get(n) and r["Type"] not in NO_PHYSICAL_ID)
    if missing:
        raise RehearsalFailed("create", [
            f"{n} ({template['Resources'][n]['Type']}) was not created: the emulator skips "
            "types it does not know; list the type in infra/rehearse.py CANNOT_CREATE with the "
            "reason and check it statically" for n in missing])
    return physical


# ---- 5. what was created, read back ----------------------------------------------------------

def created_problems(endpoint: str, translated: dict, physical: dict[str, str],
                     rehearsal: Rehearsal) -> list[str]:
    resources = translated["Resources"]
    problems: list[str] = []
    lam = _client("lambda", endpoint)
    sqs = _client("sqs", endpoint)
    dynamodb = _client("dynamodb", endpoint)
    failure_queue = sqs.get_queue_attributes(
        QueueUrl=physical["StreamFailureQueue"], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    timer_queue_arn = sqs.get_queue_attributes(
        QueueUrl=physical["TimerQueue"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    streams = {t: dynamodb.describe_table(TableName=physical[t])["Table"]["LatestStreamArn"]
               for t in ("TicketsTable", "TimelineTable")}
    sources = {"TimerQueue": timer_queue_arn, **streams}

    wanted = {n: r["Properties"] for n, r in resources.items()
              if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    for function, source in EXPECTED_MAPPINGS.items():
        name = physical.get(function)
        if not name:
            problems.append(f"{function}: no function created")
            continue
        mappings = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
        if len(mappings) != 1:
            problems.append(f"{function}: {len(mappings)} event source mappings, not 1")
            continue
        got = mappings[0]
        rehearsal.mappings[function] = {k: v for k, v in got.items()
                                        if k not in ("UUID", "LastModified", "ResponseMetadata")}
        if got["EventSourceArn"] != sources[source]:
            problems.append(f"{function}: reads {got['EventSourceArn']}, not {source}")
        template_props = next((p for p in wanted.values() if p["FunctionName"] == {"Ref": function}),
                              {})
        if got.get("BatchSize") != template_props.get("BatchSize"):
            problems.append(f"{function}: BatchSize {got.get('BatchSize')} "
                            f"(template {template_props.get('BatchSize')})")
        rules = QUEUE_MAPPING if source == "TimerQueue" else STREAM_MAPPING
        for key, value in rules.items():
            if got.get(key) != value:
                problems.append(f"{function}: {key} is {got.get(key)!r}, not {value!r}")
        if source != "TimerQueue":
            destination = (got.get("DestinationConfig") or {}).get("OnFailure", {}).get(
                "Destination")
            if destination != failure_queue:
                problems.append(f"{function}: OnFailure destination {destination!r}, not the "
                                "stream-failures queue")
    extra = set(wanted) - {n for n in wanted if wanted[n]["FunctionName"].get("Ref")
                           in EXPECTED_MAPPINGS}
    if extra:
        problems.append(f"unexpected event source mappings: {sorted(extra)}")

    # the timer state machine: every ${...} substituted, the timer queue's URL in it
    sfn = _client("stepfunctions", endpoint)
    definition = sfn.describe_state_machine(stateMachineArn=physical["TimerStateMachine"])[
        "definition"]
    rehearsal.state_machine_definition = definition
    left = re.findall(r"\$\{[^}]*\}", definition)
    if left:
        problems.append(f"TimerStateMachine: unsubstituted {sorted(set(left))}")
    if physical["TimerQueue"] not in definition:
        problems.append("TimerStateMachine: the timer queue's URL is not in its definition")
    try:
        json.loads(definition)
    except ValueError as exc:
        problems.append(f"TimerStateMachine: definition is not JSON ({exc})")

    # Lambda permissions: each statement in its function's resource policy
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Permission":
            continue
        props = resource["Properties"]
        function = props["FunctionName"].get("Ref") if isinstance(props["FunctionName"], dict) \
            else props["FunctionName"]
        try:
            policy = json.loads(lam.get_policy(FunctionName=physical[function])["Policy"])
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{logical}: no resource policy on {function} ({exc})")
            continue
        principals = json.dumps([s.get("Principal") for s in policy.get("Statement", [])])
        if props["Principal"] not in principals:
            problems.append(f"{logical}: {props['Principal']} may not invoke {function}")

    # every function: the runtime the zip was built for, its code from the uploaded zip, its
    # environment resolved to plain strings
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        config = lam.get_function(FunctionName=physical[logical])["Configuration"]
        if config.get("Runtime") != resource["Properties"].get("Runtime"):
            problems.append(f"{logical}: runtime {config.get('Runtime')}")
        if not config.get("CodeSize"):
            problems.append(f"{logical}: no code")
        variables = config.get("Environment", {}).get("Variables", {})
        odd = {k: v for k, v in variables.items() if not isinstance(v, str) or "${" in v}
        if odd or not variables.get("SETU_TICKETS_TABLE", "").startswith(f"setu-{rehearsal.stage}-"):
            problems.append(f"{logical}: environment not resolved: {odd or variables}")
    return problems


# ---- the whole rehearsal ---------------------------------------------------------------------

def rehearse(sam: dict | Path | str, zip_path: Path | str, endpoint: str,
             stage: str | None = None) -> Rehearsal:
    """Upload, translate, check statically, create, read back. Raises RehearsalFailed."""
    from infra import render

    if not isinstance(sam, dict):
        sam = render.load_yaml(sam)
    stage = stage or "r" + uuid.uuid4().hex[:8]
    rehearsal = Rehearsal(stack_name=f"setu-{stage}", stage=stage,
                          template_bytes=len(json.dumps(sam)))
    s3 = _client("s3", endpoint)
    bucket = f"setu-artifacts-{stage}"
    s3.create_bucket(Bucket=bucket)
    packaged = upload_code(sam, Path(zip_path), s3, bucket)
    translated = translate(packaged)
    rehearsal.translated_bytes = len(json.dumps(translated))

    problems = static_problems(translated)
    if problems:
        raise RehearsalFailed("static checks", problems)
    template, left_out, used = creatable(translated)
    rehearsal.checked_statically = {n: translated["Resources"][n]["Type"] for n in sorted(left_out)}
    rehearsal.stand_ins = sorted(used)
    rehearsal.created = {n: r["Type"] for n, r in template["Resources"].items()}

    cloudformation = _client("cloudformation", endpoint)
    physical = _create(cloudformation, s3, bucket, rehearsal.stack_name, template, stage)
    problems = created_problems(endpoint, template, physical, rehearsal)
    if problems:
        raise RehearsalFailed("created resources", problems)
    return rehearsal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.rehearse",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="a running emulator, e.g. "
                        "http://127.0.0.1:5000 (make dev's)")
    parser.add_argument("--build", default=str(ROOT / "build" / "dev"),
                        help="folder holding sam.yaml and deployment.zip (make package)")
    parser.add_argument("--stage", help="stage of the rehearsal stack (default: random)")
    args = parser.parse_args(argv)
    build = Path(args.build)
    try:
        result = rehearse(build / "sam.yaml", build / "deployment.zip", args.endpoint, args.stage)
    except RehearsalFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{result.stack_name}: CREATE_COMPLETE, {len(result.created)} resources created, "
          f"{len(result.checked_statically)} checked statically "
          f"({', '.join(sorted(set(result.checked_statically.values())))}); "
          f"{len(result.mappings)} event source mappings and the state machine read back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
