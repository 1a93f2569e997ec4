"""local/iam.py: the IAM action(s) and resource ARN(s) each AWS call needs, IAM's wildcard
matching, and the botocore hooks that refuse a call with the error AWS gives. No emulator: a
denied call never leaves the process, and an allowed one is sent to a port nobody listens on."""
from __future__ import annotations

import types

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from local import iam
from local.iam import Need

REGION, ACCOUNT = "us-east-1", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
NOWHERE = "http://127.0.0.1:9"  # discard port: an allowed call fails to connect, visibly


def needs(service, operation, **params):
    return [(n.action, n.resource) for n in iam.required(service, operation, params)]


# ---- what each call Setu makes needs ---------------------------------------------------------

def test_dynamodb_single_item_calls_need_their_action_on_the_table():
    for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"):
        assert needs("dynamodb", op, TableName="t", Key={}) == [(f"dynamodb:{op}", TABLE + "t")]


def test_query_on_an_index_needs_the_index_arn():
    assert needs("dynamodb", "Query", TableName="t") == [("dynamodb:Query", TABLE + "t")]
    assert needs("dynamodb", "Query", TableName="t", IndexName="status-index") == [
        ("dynamodb:Query", TABLE + "t/index/status-index")]
    assert needs("dynamodb", "Scan", TableName="t") == [("dynamodb:Scan", TABLE + "t")]


def test_batch_calls_need_their_own_action_on_each_table():
    assert needs("dynamodb", "BatchGetItem", RequestItems={"a": {}, "b": {}}) == [
        ("dynamodb:BatchGetItem", TABLE + "a"), ("dynamodb:BatchGetItem", TABLE + "b")]
    assert needs("dynamodb", "BatchWriteItem", RequestItems={"a": []}) == [
        ("dynamodb:BatchWriteItem", TABLE + "a")]


def test_a_transaction_needs_each_items_action_on_each_items_table():
    items = [{"ConditionCheck": {"TableName": "a"}}, {"Put": {"TableName": "b"}},
             {"Update": {"TableName": "c"}}, {"Delete": {"TableName": "a"}}]
    assert needs("dynamodb", "TransactWriteItems", TransactItems=items) == [
        ("dynamodb:ConditionCheckItem", TABLE + "a"), ("dynamodb:PutItem", TABLE + "b"),
        ("dynamodb:UpdateItem", TABLE + "c"), ("dynamodb:DeleteItem", TABLE + "a")]
    assert needs("dynamodb", "TransactGetItems", TransactItems=[{"Get": {"TableName": "a"}}]) == [
        ("dynamodb:GetItem", TABLE + "a")]


def test_s3_object_calls_name_the_object():
    assert needs("s3", "GetObject", Bucket="b", Key="inbound/x") == [("s3:GetObject", "arn:aws:s3:::b/inbound/x")]
    assert needs("s3", "HeadObject", Bucket="b", Key="k") == [("s3:GetObject", "arn:aws:s3:::b/k")]
    assert needs("s3", "PutObject", Bucket="b", Key="a/1") == [("s3:PutObject", "arn:aws:s3:::b/a/1")]
    assert needs("s3", "DeleteObjects", Bucket="b", Delete={"Objects": [{"Key": "1"}, {"Key": "2"}]}) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/1"), ("s3:DeleteObject", "arn:aws:s3:::b/2")]
    assert needs("s3", "ListObjectsV2", Bucket="b") == [("s3:ListBucket", "arn:aws:s3:::b")]
    # erasure deletes versions: S3 checks DeleteObjectVersion for those, ListBucketVersions to list
    assert needs("s3", "ListObjectVersions", Bucket="b", Prefix="inbound/") == [
        ("s3:ListBucketVersions", "arn:aws:s3:::b")]
    assert needs("s3", "DeleteObjects", Bucket="b", Delete={"Objects": [
        {"Key": "1", "VersionId": "v1"}, {"Key": "2"}]}) == [
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/1"), ("s3:DeleteObject", "arn:aws:s3:::b/2")]
    assert needs("s3", "DeleteObject", Bucket="b", Key="k", VersionId="v") == [
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")]
    assert needs("s3", "CopyObject", Bucket="b", Key="k2", CopySource={"Bucket": "a", "Key": "k1"}) == [
        ("s3:GetObject", "arn:aws:s3:::a/k1"), ("s3:PutObject", "arn:aws:s3:::b/k2")]


def test_ses_sending_needs_the_senders_domain_identity():
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/setu.local"
    assert needs("ses", "SendRawEmail", Source="Setu সাপোর্ট <support@Setu.Local>",
                 RawMessage={"Data": b""}) == [("ses:SendRawEmail", identity)]
    raw = b"From: Support <support+T1.abc@setu.local>\r\nTo: x@example.com\r\n\r\nhi"
    assert needs("ses", "SendRawEmail", RawMessage={"Data": raw}) == [("ses:SendRawEmail", identity)]


def test_sns_publish_to_a_topic_or_a_phone_number():
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:setu-x-inbound-sms"
    assert needs("sns", "Publish", TopicArn=topic, Message="m") == [("sns:Publish", topic)]
    assert needs("sns", "Publish", PhoneNumber="+8801711000000", Message="m") == [("sns:Publish", "*")]


def test_sqs_calls_name_the_queue_from_its_url():
    url = f"http://127.0.0.1:5000/{ACCOUNT}/setu-x-timers"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:setu-x-timers"
    assert needs("sqs", "SendMessage", QueueUrl=url, MessageBody="") == [("sqs:SendMessage", arn)]
    assert needs("sqs", "DeleteMessageBatch", QueueUrl=url, Entries=[]) == [("sqs:DeleteMessage", arn)]
    assert needs("sqs", "ReceiveMessage", QueueUrl=url) == [("sqs:ReceiveMessage", arn)]


def test_step_functions_start_names_the_machine_and_stop_the_execution():
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:setu-x-timer"
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:setu-x-timer:T-1042-first-response-g3"
    assert needs("stepfunctions", "StartExecution", stateMachineArn=machine, name="n") == [
        ("states:StartExecution", machine)]
    assert needs("stepfunctions", "StopExecution", executionArn=execution) == [
        ("states:StopExecution", execution)]


def test_sms_v2_needs_the_configuration_set_and_the_origination_identity():
    base = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}"
    assert needs("pinpoint-sms-voice-v2", "SendTextMessage", DestinationPhoneNumber="+8801711000000",
                 ConfigurationSetName="setu-dev-sms", OriginationIdentity="+8809612000000") == [
        ("sms-voice:SendTextMessage", f"{base}:configuration-set/setu-dev-sms"),
        ("sms-voice:SendTextMessage", f"{base}:phone-number/+8809612000000")]


def test_metrics_have_no_resource_and_unknown_calls_are_refused_loudly():
    assert needs("cloudwatch", "PutMetricData", Namespace="Setu", MetricData=[]) == [
        ("cloudwatch:PutMetricData", "*")]
    with pytest.raises(iam.Unmapped):
        iam.required("dynamodb", "ExportTableToPointInTime", {})
    with pytest.raises(iam.Unmapped):
        iam.required("lambda", "Invoke", {})


# ---- IAM's matching ---------------------------------------------------------------------------

def test_wildcards_match_as_iam_does():
    assert iam.matches("arn:aws:dynamodb:*:*:table/setu-dev-tickets/index/*",
                       "arn:aws:dynamodb:us-east-1:1:table/setu-dev-tickets/index/status-index")
    assert not iam.matches("arn:aws:dynamodb:*:*:table/setu-dev-tickets",
                           "arn:aws:dynamodb:us-east-1:1:table/setu-dev-tickets/index/x")
    assert iam.matches("arn:aws:s3:::b/attachments/*", "arn:aws:s3:::b/attachments/T-1/a/0")
    assert iam.matches("arn:aws:sqs:*:*:q?", "arn:aws:sqs:us-east-1:1:q1")
    assert not iam.matches("arn:aws:sqs:*:*:q?", "arn:aws:sqs:us-east-1:1:q12")
    assert iam.matches("*", "anything:at/all")
    assert not iam.matches("arn:aws:s3:::b/[ab]", "arn:aws:s3:::b/a")  # no character classes
    assert iam.matches("arn:aws:s3:::b/[ab]", "arn:aws:s3:::b/[ab]")
    # actions ignore case, resources do not
    assert iam.matches("dynamodb:getitem", "dynamodb:GetItem", ignore_case=True)
    assert not iam.matches("arn:aws:s3:::B/*", "arn:aws:s3:::b/x")


POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Query"],
     "Resource": [TABLE + "t", TABLE + "t/index/*"]},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/inbound/*"},
    {"Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": TABLE + "secret"},
    {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE + "*"},
]}


@pytest.mark.parametrize("action,resource,verdict", [
    ("dynamodb:GetItem", TABLE + "t", "allow"),
    ("dynamodb:Query", TABLE + "t/index/status-index", "allow"),
    ("dynamodb:PutItem", TABLE + "t", "implicit-deny"),
    ("dynamodb:Query", TABLE + "other", "implicit-deny"),
    ("s3:GetObject", "arn:aws:s3:::b/inbound/x", "allow"),
    ("s3:GetObject", "arn:aws:s3:::b/attachments/x", "implicit-deny"),
    ("dynamodb:GetItem", TABLE + "secret", "explicit-deny"),  # a Deny wins over any Allow
    ("dynamodb:GetItem", TABLE + "anything", "allow"),
])
def test_evaluate(action, resource, verdict):
    assert iam.evaluate(POLICY, Need(action, resource)) == verdict


def test_not_action_and_not_resource():
    policy = {"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "NotResource": TABLE + "x"}]}
    assert iam.evaluate(policy, Need("dynamodb:GetItem", TABLE + "t")) == "allow"
    assert iam.evaluate(policy, Need("s3:GetObject", TABLE + "t")) == "implicit-deny"
    assert iam.evaluate(policy, Need("dynamodb:GetItem", TABLE + "x")) == "implicit-deny"


# ---- the hooks ----------------------------------------------------------------------------------

@pytest.fixture
def policies(monkeypatch):
    monkeypatch.setenv("SETU_IAM", "enforce")
    monkeypatch.delenv("SETU_IAM_LOG", raising=False)
    monkeypatch.delenv("SETU_FRESH_CONTAINERS", raising=False)
    saved = (iam._state.policies, iam._state.stage)
    iam.use_policies({"timer_fired": POLICY}, stage="t1")
    iam.clear_denials()
    yield
    iam.forget_policies()
    iam._state.stage = saved[1]
    iam.clear_denials()


def _client(service):
    client = boto3.session.Session().client(
        service, region_name=REGION, endpoint_url=NOWHERE, aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}, connect_timeout=1))
    iam.register(client.meta.events)
    return client


def test_a_denied_call_fails_as_aws_fails_it(policies):
    dynamodb = _client("dynamodb")
    with iam.as_function("timer_fired"), pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName="t", Item={"id": {"S": "1"}})
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/setu-t1-TimerFiredRole/setu-t1-timer_fired "
        f"is not authorized to perform: dynamodb:PutItem on resource: {TABLE}t because no "
        "identity-based policy allows the dynamodb:PutItem action")
    assert iam.denials() == [iam.Denial("timer_fired", "dynamodb:PutItem", TABLE + "t", "PutItem")]


def test_an_allowed_call_and_a_call_outside_any_function_go_through(policies):
    dynamodb = _client("dynamodb")
    with iam.as_function("timer_fired"), pytest.raises(EndpointConnectionError):
        dynamodb.get_item(TableName="t", Key={"id": {"S": "1"}})
    with pytest.raises(EndpointConnectionError):  # set-up code: not checked
        dynamodb.put_item(TableName="t", Item={"id": {"S": "1"}})
    assert iam.denials() == []


def test_a_transaction_is_denied_when_one_item_is(policies):
    dynamodb = _client("dynamodb")
    items = [{"ConditionCheck": {"TableName": "t", "Key": {"id": {"S": "1"}},
                                 "ConditionExpression": "attribute_exists(id)"}},
             {"Put": {"TableName": "t", "Item": {"id": {"S": "2"}}}}]
    with iam.as_function("timer_fired"), pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(TransactItems=items)
    assert "dynamodb:ConditionCheckItem" in caught.value.response["Error"]["Message"]
    assert {d.action for d in iam.denials()} == {"dynamodb:ConditionCheckItem", "dynamodb:PutItem"}


def test_each_service_answers_with_its_own_error_code(policies):
    cases = [("s3", lambda c: c.put_object(Bucket="b", Key="inbound/x", Body=b""), "AccessDenied", 403),
             ("sns", lambda c: c.publish(PhoneNumber="+8801711000000", Message="m"), "AuthorizationError", 403),
             ("ses", lambda c: c.send_raw_email(Source="support@setu.local", RawMessage={"Data": b"x"}),
              "AccessDenied", 403),
             ("stepfunctions", lambda c: c.stop_execution(
                 executionArn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:e"), "AccessDeniedException", 400)]
    for service, call, code, status in cases:
        with iam.as_function("timer_fired"), pytest.raises(ClientError) as caught:
            call(_client(service))
        assert caught.value.response["Error"]["Code"] == code, service
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status, service
        assert "is not authorized to perform" in caught.value.response["Error"]["Message"]
        if service == "sns":  # SNS spells its prefix in capitals in the message
            assert "perform: SNS:Publish on resource: *" in caught.value.response["Error"]["Message"]


def test_s3_delete_objects_reports_each_denied_key(policies):
    with iam.as_function("timer_fired"):
        answer = _client("s3").delete_objects(Bucket="b", Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("a", "AccessDenied")]


def test_a_function_without_a_policy_may_do_nothing(policies):
    with iam.as_function("inbound_sms"), pytest.raises(ClientError):
        _client("dynamodb").get_item(TableName="t", Key={"id": {"S": "1"}})


def test_audit_mode_records_and_lets_the_call_through(policies, monkeypatch):
    monkeypatch.setenv("SETU_IAM", "audit")
    with iam.as_function("timer_fired"), pytest.raises(EndpointConnectionError):
        _client("dynamodb").put_item(TableName="t", Item={"id": {"S": "1"}})
    assert [d.action for d in iam.denials()] == ["dynamodb:PutItem"]


def test_pynamodb_sees_the_denial_as_any_other_error(policies, monkeypatch):
    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.exceptions import GetError
    from pynamodb.models import Model

    class Thing(Model):
        class Meta:
            table_name = "secret"
            region = REGION
            host = NOWHERE
            max_retry_attempts = 0

        id = UnicodeAttribute(hash_key=True)

    iam.install()  # pynamodb makes its own botocore clients: every new client is hooked
    with iam.as_function("timer_fired"), pytest.raises(GetError) as caught:
        Thing.get("1")
    assert caught.value.cause_response_code == "AccessDeniedException"
    assert "explicit deny" in caught.value.cause_response_message


def test_the_app_runs_each_handler_as_its_function(monkeypatch):
    from chalice import Chalice
    from chalice.test import Client

    seen = []
    module = types.ModuleType("stub_app")
    module.app = Chalice(app_name="stub")

    @module.app.route("/")
    def index():
        seen.append(iam.current_function())
        return {}

    @module.app.on_sns_message(topic="t")
    def inbound_sms(event):
        seen.append(iam.current_function())

    module.inbound_sms = inbound_sms
    iam.wrap_app(module)
    iam.wrap_app(module)  # idempotent
    with Client(module.app) as client:
        client.http.get("/")
        module.inbound_sms({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "m", "Subject": "s", "MessageAttributes": {}}}]}, None)
    assert seen == ["api_handler", "inbound_sms"]
    assert iam.current_function() is None


def test_fresh_containers_forget_caches_before_each_invocation(monkeypatch):
    from chalicelib import runtime

    resets = []
    monkeypatch.setattr(runtime, "reset", lambda: resets.append(1))
    monkeypatch.setenv("SETU_FRESH_CONTAINERS", "1")
    with iam.as_function("timer_fired"):
        with iam.as_function("timer_fired"):  # nested: still the same invocation
            pass
    assert resets == [1]
    monkeypatch.delenv("SETU_FRESH_CONTAINERS")
    with iam.as_function("timer_fired"):
        pass
    assert resets == [1]


def test_a_missing_object_is_access_denied_without_list_bucket(policies):
    from botocore.awsrequest import AWSResponse

    def get_missing(function):
        context, params = {}, {"Bucket": "b", "Key": "inbound/gone"}
        iam._s3_missing_object_check(function, "s3", "GetObject", params, context)
        http = AWSResponse("http://x", 404, {}, None)
        parsed = {"Error": {"Code": "NoSuchKey", "Message": "gone"}, "ResponseMetadata": {}}
        iam._after_call(http_response=http, parsed=parsed, context=context)
        return http.status_code, parsed["Error"]["Code"]

    assert get_missing("timer_fired") == (403, "AccessDenied")  # POLICY has no s3:ListBucket
    assert iam.denials() == [iam.Denial("timer_fired", "s3:ListBucket", "arn:aws:s3:::b",
                                        "GetObject of a missing key")]
    listing = {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]}
    iam.use_policies({"inbound_email": listing}, stage="t1")
    assert get_missing("inbound_email") == (404, "NoSuchKey")


def test_s3_delete_objects_deletes_the_allowed_keys_and_lists_the_denied(policies):
    from botocore.awsrequest import AWSResponse

    iam.use_policies({"api_handler": {"Statement": [{
        "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/attachments/*"}]}},
        stage="t1")
    params = {"Bucket": "b", "Delete": {"Objects": [{"Key": "attachments/1"}, {"Key": "inbound/2"}]}}
    context = {}
    model = types.SimpleNamespace(name="DeleteObjects",
                                  service_model=types.SimpleNamespace(service_name="s3"))
    with iam.as_function("api_handler"):
        iam._before_parameter_build(params=params, model=model, context=context)
    assert params["Delete"]["Objects"] == [{"Key": "attachments/1"}]  # sent without the denied key
    assert iam._before_call(model=model, context=context) is None
    parsed = {"Deleted": [{"Key": "attachments/1"}]}
    iam._after_call(http_response=AWSResponse("http://x", 200, {}, None), parsed=parsed, context=context)
    assert [(e["Key"], e["Code"]) for e in parsed["Errors"]] == [("inbound/2", "AccessDenied")]


# ---- conditions: dynamodb:LeadingKeys ------------------------------------------------------------

HASH_KEYS = {"settings": "kind", "tickets": "id"}


def test_item_calls_carry_the_partition_keys_they_name():
    def leading(operation, **params):
        return [n.key("dynamodb:LeadingKeys") for n in
                iam.required("dynamodb", operation, params, hash_keys=HASH_KEYS)]

    assert leading("PutItem", TableName="settings", Item={"kind": {"S": "secret"}, "name": {"S": "x"}}) == [("secret",)]
    assert leading("GetItem", TableName="settings", Key={"kind": {"S": "agent"}, "name": {"S": "a"}}) == [("agent",)]
    assert leading("Query", TableName="settings", KeyConditionExpression="#k = :k",
                   ExpressionAttributeNames={"#k": "kind"}, ExpressionAttributeValues={":k": {"S": "agent"}}) == [("agent",)]
    assert leading("BatchGetItem", RequestItems={"tickets": {"Keys": [{"id": {"S": "t1"}}, {"id": {"S": "t2"}}]}}) == [
        ("t1", "t2")]
    items = [{"Put": {"TableName": "settings", "Item": {"kind": {"S": "secret"}}}},
             {"Update": {"TableName": "tickets", "Key": {"id": {"S": "t1"}}}}]
    assert leading("TransactWriteItems", TransactItems=items) == [("secret",), ("t1",)]
    assert leading("PutItem", TableName="other", Item={"kind": {"S": "x"}}) == [None]  # unknown table


SECRET_ONLY = {"Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE + "settings",
                              "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["secret"]}}}]}


def test_a_leading_keys_condition_allows_only_those_items():
    def put(kind):
        (need,) = iam.required("dynamodb", "PutItem", {"TableName": "settings", "Item": {"kind": {"S": kind}}},
                               hash_keys=HASH_KEYS)
        return iam.evaluate(SECRET_ONLY, need)

    assert put("secret") == "allow"
    assert put("agent") == "implicit-deny"


def test_condition_operators():
    need = Need("s3:GetObject", "arn:aws:s3:::b/k", (("aws:TagKeys", ("a", "b")), ("s3:prefix", ("in/x",))))

    def holds(condition):
        return iam._conditions_hold(condition, need)

    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}})
    assert not holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}})
    assert holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}})
    assert holds({"ForAllValues:StringEquals": {"absent:Key": ["x"]}})  # IAM: true when absent
    assert not holds({"ForAnyValue:StringEquals": {"absent:Key": ["x"]}})
    assert holds({"StringLike": {"s3:prefix": "in/*"}})
    assert not holds({"StringEquals": {"s3:prefix": "in/"}})
    with pytest.raises(iam.Unmapped):
        holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
