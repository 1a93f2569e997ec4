"""The scale bench's seeded data (bench/scale_seed.py) is what the app reads, and any page of a
queue holds equally large items at every table size (so capacity can be compared)."""
from __future__ import annotations

from bench import scale, scale_seed
from chalicelib.db.models import Customer, Key, Ticket, TimelineItem

PERIOD = scale_seed.PERIOD


def test_seeded_items_are_the_apps_models():
    for n in (0, 1, 2, 3, 5, 8, scale_seed.HEAVY_INDEX):
        by_table: dict[str, list] = {}
        for table, item in scale_seed.items_for(n):
            by_table.setdefault(table, []).append(item)
        ticket = Ticket.from_raw_data(by_table["tickets"][0])
        assert ticket.id == scale_seed.ticket_id(n) and ticket.ref == scale_seed.ref(n)
        assert ticket.queue_sort.endswith(ticket.id) and ticket.version == 2
        for raw in by_table["timeline"]:
            assert TimelineItem.from_raw_data(raw).ticket_id == ticket.id
        for raw in by_table.get("customers", []):
            assert Customer.from_raw_data(raw).id == ticket.customer_id
        assert {Key.from_raw_data(raw).pk for raw in by_table["keys"]} >= {f"ref#{ticket.ref}"}


def test_the_heavy_ticket_has_a_100_item_timeline():
    assert len(scale_seed.timeline_items(scale_seed.HEAVY_INDEX)) == scale_seed.HEAVY_TIMELINE
    sort_keys = [item["sk"]["S"] for item in scale_seed.timeline_items(scale_seed.HEAVY_INDEX)]
    assert len(set(sort_keys)) == len(sort_keys)


def test_every_cycle_divides_the_period():
    for cycle in (scale_seed.STATUSES, scale_seed.DEPARTMENTS, scale_seed.PRIORITIES,
                  scale_seed.AGENTS):
        assert PERIOD % len(cycle) == 0


def test_items_are_equally_large_one_period_apart():
    for n in range(PERIOD):
        for far in (n + PERIOD * 7, n + PERIOD * 700):
            assert scale.item_size(scale_seed.ticket_item(n)) == scale.item_size(scale_seed.ticket_item(far))
            assert [scale.item_size(i) for i in scale_seed.timeline_items(n + PERIOD)] == \
                   [scale.item_size(i) for i in scale_seed.timeline_items(far)]


def test_item_size_follows_dynamodb_rules():
    assert scale.item_size({"id": {"S": "abc"}}) == 2 + 3
    assert scale.item_size({"n": {"N": "12345"}}) == 1 + 4  # 3 bytes for 5 digits, +1
    assert scale.item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1
    assert scale.item_size({"s": {"S": "বাংলা"}}) == 1 + 15  # UTF-8 bytes


def test_capacity_units():
    small = {"Item": {"id": {"S": "x" * 100}}}
    assert scale.read_cost("GetItem", {"ConsistentRead": True}, small)["rcu"] == 1
    assert scale.read_cost("GetItem", {}, small)["rcu"] == 0.5
    assert scale.read_cost("GetItem", {}, {})["rcu"] == 0.5  # a miss still costs a read
    big = [{"id": {"S": "x" * 2000}}] * 5  # 10 KB together: 3 units, halved on an index
    assert scale.read_cost("Query", {"IndexName": "all-index", "ConsistentRead": False},
                           {"Items": big}) == {"reads": 1, "items": 5, "rcu": 1.5}
    batch = scale.read_cost("BatchGetItem", {"RequestItems": {"t": {"Keys": [1, 2, 3]}}},
                            {"Responses": {"t": big[:2]}})
    assert batch == {"reads": 1, "items": 2, "rcu": 1.5}
