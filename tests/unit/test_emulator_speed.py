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


CONDITIONS = [
    ("attribute_not_exists(#0)", {"#0": "pk"}, None),
    ("#v = :v", {"#v": "version"}, {":v": {"N": "1"}}),
    ("#v = :v", {"#v": "version"}, {":v": {"N": "2"}}),  # same text, another value
    ("attribute_exists(#0) AND (#s IN (:a, :b) OR size(#t) > :n)",
     {"#0": "pk", "#s": "status", "#t": "tags"},
     {":a": {"S": "open"}, ":b": {"S": "pending"}, ":n": {"N": "1"}}),
    ("NOT begins_with(#s, :p)", {"#s": "status"}, {":p": {"S": "clo"}}),
]


def test_remembered_conditions_decide_and_report_as_a_fresh_parse(patched):
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    stock = ConditionExpressionParser.parse.__wrapped__
    items = [None, Item(DynamoType({"S": "k"}), None, {
        "pk": {"S": "k"}, "version": {"N": "1"}, "status": {"S": "open"},
        "tags": {"SS": ["a", "b"]}})]
    for _ in range(2):  # the second round is answered from what the first remembered
        for expression, names, values in CONDITIONS:
            fast = ConditionExpressionParser(expression, names, values)
            slow = ConditionExpressionParser(expression, names, values)
            fast_op, slow_op = fast.parse(), stock(slow)
            assert [fast_op.expr(i) for i in items] == [slow_op.expr(i) for i in items], expression
            assert (fast.expr_attr_names_found, fast.expr_attr_values_found) == (
                slow.expr_attr_names_found, slow.expr_attr_values_found)
    # the value is part of what is remembered: version 1 passes, version 2 does not
    versions = [ConditionExpressionParser(e, n, v).parse().expr(items[1])
                for e, n, v in CONDITIONS[1:3]]
    assert versions == [True, False]
    for _ in range(2):  # a bad expression raises every time; nothing is remembered of it
        with pytest.raises(Exception):
            ConditionExpressionParser("#v = = :v", {"#v": "version"}, {":v": {"N": "1"}}).parse()


def _tree(node):
    """A parse tree as plain data: each node's class, type and children (leaves as they are;
    `parent` points back up and is left out)."""
    if isinstance(node, (list, tuple)):
        return [_tree(n) for n in node]
    if hasattr(node, "children"):
        return (type(node).__name__, node.type, _tree(node.children))
    return node


def test_a_remembered_update_expression_is_a_fresh_tree_for_each_write(patched):
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    expression = "SET #n = #n + :one, #s = if_not_exists(#s, :s) REMOVE #x ADD #c :one"
    stock = UpdateExpressionParser.make.__wrapped__
    first, second = UpdateExpressionParser.make(expression), UpdateExpressionParser.make(expression)
    assert first is not second
    assert _tree(first) == _tree(second) == _tree(stock(expression))
    with mock_aws():  # moto's validator rewrites the tree it is given; each write gets its own
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="u", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        for n in range(3):
            client.update_item(
                TableName="u", Key={"pk": {"S": "a"}},
                UpdateExpression="SET #n = if_not_exists(#n, :zero) + :step",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":zero": {"N": "0"}, ":step": {"N": str(n + 1)},
                                           ":limit": {"N": "10"}})
        assert client.get_item(TableName="u", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "6"}
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.update_item(
                TableName="u", Key={"pk": {"S": "a"}}, UpdateExpression="SET #n = :v",
                ConditionExpression="#n < :limit", ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":v": {"N": "0"}, ":limit": {"N": "6"}})


@pytest.mark.parametrize("padding", [0, 404_000, 404_990, 405_010, 500_000])
def test_items_are_sized_as_the_stock_emulator_sizes_them(patched, padding):
    """Built whole and sized once: the same attributes, and too large exactly when moto's
    attribute-by-attribute check says so."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attrs = {"pk": {"S": "k"}, "n": {"N": "12.5"}, "tags": {"SS": ["a", "bc"]},
             "m": {"M": {"x": {"L": [{"S": "y"}, {"BOOL": True}]}}}, "pad": {"S": "p" * padding}}
    stock = Item.__init__.__wrapped__

    def build(init):
        item = Item.__new__(Item)
        try:
            init(item, DynamoType({"S": "k"}), None, attrs)
        except ItemSizeTooLarge:
            return "too large"
        return item.to_json(), item.size()

    fast, slow = build(Item.__init__), build(stock)
    assert fast == slow
    assert (fast == "too large") == (padding > 404_980)


def test_remembered_json_paths_read_and_write_each_document_as_a_fresh_parse(patched):
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    stock = json_path.parse.__wrapped__
    documents = [{"wake_at": "2020-01-01T00:00:00Z", "n": 1, "l": [{"a": 1}, {"a": 2}]},
                 {"wake_at": "2031-05-05T05:05:05Z", "n": 2, "l": [{"a": 3}]}]
    for _ in range(2):  # the second round reads with the paths the first one parsed
        for document in documents:
            for path in ("$.wake_at", "$.n", "$.l[*].a", "$.l[0]"):
                expected = [m.value for m in stock(path).find(document)]
                assert json_path.extract_json(path, document) == (
                    expected if "[*]" in path else expected[0])
    assert json_path.parse.cache_info().hits >= 8
    # ResultPath writes into each state's own input: a remembered path leaks nothing
    outputs = [result_path.parse("$.result").update_or_create({"n": n}, {"r": n}) for n in (1, 2)]
    assert outputs == [{"n": 1, "result": {"r": 1}}, {"n": 2, "result": {"r": 2}}]
