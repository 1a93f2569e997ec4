"""local/moto_speed.py changes how fast the local stack's emulator answers, never what: the
same Queries (table and index, pages, both directions) answer the same with and without it, and
Step Functions executions sharing one parsed program still each run their own input. In-process
moto: this tests the emulator patch itself, not Setu."""
from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from local import moto_safety, moto_speed


@pytest.fixture(scope="module")
def patched():
    moto_safety.make_dynamodb_thread_safe()
    moto_speed.apply()
    from moto.dynamodb.models.table import Table

    return Table


def _pages(client, **request):
    out, start = [], None
    while True:
        page = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        out.append([(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]])
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}},
    {"KeyConditionExpression": "pk = :p AND sk > :s", "Limit": 4, "ScanIndexForward": False,
     "ExpressionAttributeValues": {":p": {"S": "p1"}, ":s": {"S": "s03"}}},
    {"KeyConditionExpression": "pk = :p", "FilterExpression": "n > :n", "Limit": 3,
     "ExpressionAttributeValues": {":p": {"S": "p2"}, ":n": {"N": "4"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
    {"IndexName": "by-g", "KeyConditionExpression": "g = :g", "Limit": 5,
     "ExpressionAttributeValues": {":g": {"S": "even"}}},
    {"IndexName": "by-g", "KeyConditionExpression": "g = :g AND n < :n", "ScanIndexForward": False,
     "ExpressionAttributeValues": {":g": {"S": "odd"}, ":n": {"N": "7"}}},
]


@pytest.mark.parametrize("request_", QUERIES)
def test_queries_answer_as_the_stock_emulator_does(patched, request_, monkeypatch):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": k} for a, k in
                                  (("pk", "S"), ("sk", "S"), ("g", "S"), ("n", "N"))],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                   {"AttributeName": "n", "KeyType": "RANGE"}]}])
        for p in range(5):
            for s in range(10):
                client.put_item(TableName="t", Item={
                    "pk": {"S": f"p{p}"}, "sk": {"S": f"s{s:02d}"}, "n": {"N": str((p * s) % 9)},
                    "g": {"S": "even" if (p + s) % 2 == 0 else "odd"}})
        fast = _pages(client, TableName="t", **request_)
        monkeypatch.setattr(patched, "query", patched.query.__wrapped__)
        stock = _pages(client, TableName="t", **request_)
    assert fast == stock
    assert sum(map(len, fast)) > 0 or request_["ExpressionAttributeValues"][":p"]["S"] == "none"


def test_executions_sharing_a_parsed_program_each_run_their_own_input(patched):
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            queue = sqs.create_queue(QueueName="timers")["QueueUrl"]
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            with open("infra/timer.asl.json", encoding="utf-8") as handle:
                definition = handle.read().replace("${TimerQueueUrl}", queue)
            arn = sfn.create_state_machine(name="timer", definition=definition,
                                           roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
            for n in range(3):
                sfn.start_execution(stateMachineArn=arn, name=f"e{n}", input=json.dumps(
                    {"n": n, "wake_at": "2020-01-01T00:00:00Z"}))
            bodies, deadline = [], time.monotonic() + 20
            while len(bodies) < 3 and time.monotonic() < deadline:
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                bodies += [json.loads(m["Body"])["n"] for m in got]
                time.sleep(0.1)
    finally:
        default_user_config["stepfunctions"]["execute_state_machine"] = False
    assert sorted(bodies) == [0, 1, 2]


# --- answers and requests carrying attribute values, serialized and parsed directly -----------

IMAGE = {"pk": {"S": "ticket#1"}, "n": {"N": "42"}, "bin": {"B": b"\x00\x01raw"},
         "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "2.5"]}, "blobs": {"BS": [b"x", b"\xff"]},
         "nested": {"M": {"s": {"S": "আমার অর্ডার"}, "l": {"L": [
             {"N": "1"}, {"BOOL": False}, {"NULL": True}, {"M": {}}, {"L": []}]}}},
         "empty": {"S": ""}, "flag": {"BOOL": True}}
RECORD = {"eventID": "e1", "eventName": "INSERT", "eventVersion": "1.1",
          "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
          "dynamodb": {"Keys": {"pk": IMAGE["pk"]}, "NewImage": IMAGE, "SequenceNumber": "7",
                       "SizeBytes": 120, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
ANSWERS = [
    ("dynamodb", "GetItem", {"Item": IMAGE}),
    ("dynamodb", "Query", {"Items": [IMAGE, {"pk": {"S": "p2"}}], "Count": 2, "ScannedCount": 2,
                           "LastEvaluatedKey": {"pk": {"S": "p2"}}}),
    ("dynamodbstreams", "GetRecords", {"Records": [RECORD, RECORD], "NextShardIterator": "it"}),
    # a dict holding a member under the shape's name too: moto's picker takes that one first
    ("dynamodbstreams", "GetRecords", {"Records": [{**RECORD, "StreamRecord": {
        "Keys": {"pk": {"S": "other"}}}}]}),
    # values the direct conversion leaves to moto: not dicts, numbers where text belongs
    ("dynamodb", "GetItem", {"Item": {"a": {"N": 5}, "b": {"M": {"x": None}}, "c": None}}),
]


def _serialize(service, operation, result):
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    serializer = get_serializer_class(service, model.protocol)(
        operation_model=model.operation_model(operation), value_picker=XFormedAttributePicker())
    return serializer.serialize(result)


def _stock_serializer(monkeypatch):
    from moto.core.serialize import BaseJSONSerializer, ResponseSerializer

    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure",
                        BaseJSONSerializer._serialize_type_structure.__wrapped__)
    monkeypatch.setattr(ResponseSerializer, "get_value", ResponseSerializer.get_value.__wrapped__)


@pytest.mark.parametrize("service,operation,result", ANSWERS)
def test_answers_serialize_as_the_stock_emulator_does(patched, monkeypatch, service, operation,
                                                      result):
    fast = _serialize(service, operation, result)
    _stock_serializer(monkeypatch)
    stock = _serialize(service, operation, result)
    assert fast == stock
    assert json.loads(fast["body"])  # a real answer, not an empty one


REQUESTS = [
    ("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t", "ConditionExpression": "attribute_not_exists(pk)", "Item": {
            "pk": {"S": "p"}, "bin": {"B": "AAFyYXc="}, "blobs": {"BS": ["eA==", "/w=="]},
            "nested": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
            "tags": {"SS": ["a"]}}}},
        {"Update": {"TableName": "t", "Key": {"pk": {"S": "q"}}, "UpdateExpression": "SET a = :a",
                    "ExpressionAttributeValues": {":a": {"M": {}}}}}]}),
    ("dynamodb", "GetItem", {"TableName": "t", "Key": {"pk": {"S": "p"}, "odd": {"SS": "ab"}}}),
]


@pytest.mark.parametrize("service,operation,body", REQUESTS)
def test_requests_parse_as_the_stock_emulator_does(patched, monkeypatch, service, operation, body):
    from moto.core.parse import PROTOCOL_PARSERS, BaseJSONParser
    from moto.core.utils import get_service_model

    model = get_service_model(service)

    def parse():
        parser = PROTOCOL_PARSERS[model.protocol](model.operation_model(operation), map_type=dict)
        return parser.parse({"method": "POST", "values": {}, "headers": {}, "url_path": "/",
                             "url_params": {}, "body": json.dumps(body).encode()})

    fast = parse()
    monkeypatch.setattr(BaseJSONParser, "_parse_structure",
                        BaseJSONParser._parse_structure.__wrapped__)
    stock = parse()
    assert fast == stock
    assert fast and repr(fast) != repr(body)  # the parser did work (blobs decoded)


def test_the_server_finds_each_service_as_the_stock_lookup_does(patched):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    stock = DomainDispatcherApplication.get_backend_for_host.__wrapped__
    hosts = ["dynamodb.us-east-1.amazonaws.com", "streams.dynamodb.us-east-1.amazonaws.com",
             "sqs.us-east-1.amazonaws.com", "email.us-east-1.amazonaws.com", "states", "sns",
             "moto_api", "nothing.example", None]
    for _ in range(2):  # the second round is answered from what the first remembered
        assert [app.get_backend_for_host(h) for h in hosts] == [stock(app, h) for h in hosts]
    assert app.get_backend_for_host("sqs.us-east-1.amazonaws.com") == "sqs"
