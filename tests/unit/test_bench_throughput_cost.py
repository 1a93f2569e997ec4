"""The throughput and cost benches' own logic: DynamoDB billing rules, the cost model's arithmetic,
the load summary and figures, and the emulator patch that makes concurrent transactions safe.
No timing is asserted."""
from __future__ import annotations

import threading
import time

import boto3
import pytest
from moto import mock_aws

from bench import cost, throughput
from local import moto_safety


# --- DynamoDB billing rules ----------------------------------------------------------------------

def test_item_size_follows_dynamodb_rules():
    assert cost.item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert cost.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits -> 3 bytes + 1
    assert cost.item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert cost.item_size({"s": {"S": "আ"}}) == 1 + 3  # UTF-8 bytes, not characters
    assert cost.item_size({"m": {"M": {"a": {"S": "x"}}}}) == 1 + 3 + 1 + 1 + 1


def test_write_units_transactions_and_indexes():
    capacity = cost.Capacity({"tickets": [{"kind"}, {"status", "due"}], "other": []})
    small = {"id": {"S": "t1"}, "kind": {"S": "ticket"}}
    # 1 WRU for the item, 1 for the one index whose keys it has
    assert capacity.units("PutItem", {"TableName": "tickets", "Item": small}, {}) == (2.0, 0.0)
    big = {"id": {"S": "t1"}, "body": {"S": "x" * 1500}}
    assert capacity.units("PutItem", {"TableName": "other", "Item": big}, {}) == (2.0, 0.0)
    transact = {"TransactItems": [
        {"Put": {"TableName": "other", "Item": {"id": {"S": "a"}}}},
        {"ConditionCheck": {"TableName": "other", "Key": {"id": {"S": "b"}}}},
    ]}
    assert capacity.units("TransactWriteItems", transact, {}) == (4.0, 0.0)


def test_read_units_consistency_and_missing_keys():
    capacity = cost.Capacity({})
    item = {"id": {"S": "x"}, "body": {"S": "y" * 5000}}  # two 4 KB units
    assert capacity.units("GetItem", {"TableName": "t", "ConsistentRead": True},
                          {"Item": item}) == (0.0, 2.0)
    assert capacity.units("GetItem", {"TableName": "t"}, {}) == (0.0, 0.5)
    batch = {"RequestItems": {"t": {"Keys": [{"id": {"S": "x"}}, {"id": {"S": "gone"}}]}}}
    assert capacity.units("BatchGetItem", batch, {"Responses": {"t": [item]}}) == (0.0, 1.5)
    assert capacity.units("Query", {"TableName": "t", "IndexName": "i"},
                          {"Items": [item, item]}) == (0.0, 1.5)


def _step(**kw):
    base = {"calls": 3, "wru": 10.0, "rru": 1.0, "ses_emails": 0, "sms": 0, "sms_parts": 0,
            "sfn_executions": 0, "s3_put": 0, "s3_get": 0, "sqs": 0, "sns_publish": 0,
            "invocations": {"api_handler": 1}, "operations": {"dynamodb:PutItem": 3}}
    return base | kw


def test_model_scales_steps_by_the_mix_and_prices_sms_apart():
    steps = {name: _step() for name in (
        "web_form_create", "inbound_email_new", "inbound_sms_new", "inbound_email_reply",
        "inbound_sms_followup", "agent_reply_email", "agent_reply_sms", "agent_ticket_view",
        "agent_queue_page", "resolve")}
    steps["agent_reply_sms"] = _step(sms=1, sms_parts=2)
    result = cost.model(steps, timer_fire_calls=3, tickets=10_000)
    sms_replies = cost.MIX["opened_by"]["sms"] * cost.MIX["agent_replies"]
    assert result["quantities"]["sms_parts"] == round(sms_replies * 2 * 10_000)
    assert result["monthly_usd"]["SMS to Bangladesh"] == pytest.approx(
        sms_replies * 2 * 10_000 * cost.PRICES["sms_bd_part"], rel=1e-6)
    assert result["total_usd"] == pytest.approx(sum(result["monthly_usd"].values()), abs=0.05)
    assert result["total_without_sms_usd"] < result["total_usd"]
    assert result["per_ticket_usd"] == pytest.approx(result["total_usd"] / 10_000, abs=1e-4)
    assert result["saas_10_agents_usd"]["Freshdesk Growth"] == 10 * cost.SAAS["Freshdesk Growth"]


# --- throughput helpers ----------------------------------------------------------------------

def test_percentile_is_nearest_rank():
    values = [i / 1000 for i in range(1, 101)]
    assert throughput._percentile(values, 50) == 0.05
    assert throughput._percentile(values, 99) == 0.099
    assert throughput._percentile([0.3], 99) == 0.3


def test_figures_mark_a_missing_peer_as_not_measured():
    setu = {"tickets_per_s": 20.0, "p50_ms": 100.0, "p99_ms": 300.0, "max_ms": 400.0,
            "listed": 1008, "errors": 0, "first_errors": [],
            "acknowledgements_sent_during_run": 10, "acknowledgements_sent": 500,
            "acknowledgements_drained_s": None, "acknowledgements_watched_s": 30.0,
            "pump_acknowledgements_per_s": 6.0, "load_average_1m": [1.0, 2.0]}
    figures = throughput.figures(setu, None, None, "peer not installed: make peer")
    by_name = {f.name: f for f in figures}
    assert by_name["throughput: peer django-helpdesk (not measured)"].fails
    ratio = by_name["throughput: Setu / peer, tickets per second"]
    assert ratio.value is None and ratio.fails
    assert not by_name["throughput: Setu errors (non-201, or not listed afterwards)"].fails


def test_peer_runs_are_combined_by_mean():
    run = {"tickets_per_s": 10.0, "p50_ms": 100.0, "p99_ms": 200.0, "mean_ms": 110.0,
           "max_ms": 250.0, "errors": 0, "first_errors": [], "sql_per_create_min": 19,
           "sql_per_create_max": 19, "stored": 1008, "load_average_1m": [1, 1]}
    combined = throughput._combine(run, {**run, "tickets_per_s": 20.0, "errors": 1})
    assert combined["tickets_per_s"] == 15.0
    assert combined["errors"] == 1
    assert throughput._combine(run, None) is None


# --- the emulator patch --------------------------------------------------------------------------

@pytest.fixture
def patched_dynamodb(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        moto_safety.make_dynamodb_thread_safe()
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        yield client


def _stream_records(client) -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return len(dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["t"].stream_shard.items)


def test_cancelled_transaction_leaves_no_item_and_no_stream_record(patched_dynamodb):
    client = patched_dynamodb
    client.put_item(TableName="t", Item={"id": {"S": "taken"}, "v": {"S": "old"}})
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"id": {"S": "new"}}}},
            {"Update": {"TableName": "t", "Key": {"id": {"S": "other"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "changed"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"id": {"S": "taken"}},
                                "ConditionExpression": "attribute_not_exists(id)"}},
        ])
    assert "Item" not in client.get_item(TableName="t", Key={"id": {"S": "new"}})
    assert "Item" not in client.get_item(TableName="t", Key={"id": {"S": "other"}})
    assert client.get_item(TableName="t", Key={"id": {"S": "taken"}})["Item"]["v"] == {"S": "old"}
    assert _stream_records(client) == 1  # only the first put_item


def test_concurrent_transactions_lose_nothing(patched_dynamodb):
    client = patched_dynamodb
    errors: list[Exception] = []

    def writer(worker: int) -> None:
        local = boto3.client("dynamodb", region_name="us-east-1")
        for n in range(40):
            try:
                local.transact_write_items(TransactItems=[
                    {"Put": {"TableName": "t", "Item": {"id": {"S": f"w{worker}-{n}-{k}"}}}}
                    for k in range(3)])
            except Exception as exc:  # noqa: BLE001 - collected and asserted on
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert client.describe_table(TableName="t")["Table"]["ItemCount"] == 4 * 40 * 3


def test_concurrent_increments_each_answer_their_own_value(patched_dynamodb, monkeypatch):
    """How a ticket ref is handed out: UpdateItem ADD with ReturnValues. moto built the answer
    from the live item after its lock was released, so two increments could both answer the
    later value (two tickets, one ref). Every answer must be distinct and they must be 1..N."""
    from moto.dynamodb.models.dynamo_type import Item

    to_json = Item.to_json

    def slow_to_json(self, *args, **kwargs):
        time.sleep(0.0005)  # another thread's turn, wherever an answer is read from the item
        return to_json(self, *args, **kwargs)

    monkeypatch.setattr(Item, "to_json", slow_to_json)
    answers: list[int] = []
    errors: list[Exception] = []

    def incrementer() -> None:
        local = boto3.client("dynamodb", region_name="us-east-1")
        for _ in range(50):
            try:
                answer = local.update_item(
                    TableName="t", Key={"id": {"S": "counter"}}, UpdateExpression="ADD v :one",
                    ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
                answers.append(int(answer["Attributes"]["v"]["N"]))
            except Exception as exc:  # noqa: BLE001 - collected and asserted on
                errors.append(exc)

    threads = [threading.Thread(target=incrementer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(answers) == list(range(1, 6 * 50 + 1))
