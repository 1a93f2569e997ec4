"""moto's DynamoDB made safe for concurrent clients (the local stack's emulator runs it).

moto 5.x's `transact_write_items` backs up, before every transaction, each table it names with
`copy.deepcopy(table)` and, when any part fails, puts those copies back. With several clients
on moto's threaded server that loses data: a deep copy taken while another thread writes raises
"dictionary changed size during iteration" (the request answers 500), and the rollback puts
back a table copied before the other threads' writes, silently dropping items they had just
written. Measured on the stock emulator, 200 web-form posts from 4 clients: 103 answered 500
and only 105 of 208 tickets existed afterwards (docs/throughput.md).

`make_dynamodb_thread_safe()` (called by local/moto_main.py before the server starts):

* every DynamoDB request, from reading its parameters to writing its answer, and DynamoDB
  Streams' GetRecords, runs under one re-entrant lock, so requests are atomic with respect to
  each other. The answer is inside the lock too: moto builds an UpdateItem's answer from the
  live item after its write, so two increments of one counter could both answer the second's
  value (two tickets given one ref, the second create cancelled: the intermittent 409 that
  docs/throughput.md tracked down);
* a transaction backs up only the items it touches (and the length of each table's stream)
  and, if it is cancelled, restores those items and drops the stream records it appended, as
  DynamoDB does (a cancelled transaction leaves no trace and no stream record), instead of
  deep-copying whole tables.

`SETU_EMULATOR_STOCK=1` leaves moto as it is (to reproduce the problem).
"""
from __future__ import annotations

import copy
import functools
import json
import logging
import os
import threading
from typing import Any

_LOCK = threading.RLock()
_STATE = threading.local()
LOCKED_BACKEND_METHODS = ("put_item", "get_item", "query", "scan", "update_item", "delete_item",
                          "transact_write_items", "execute_statement", "execute_transaction",
                          "batch_execute_statement")


def _locked(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)
    return wrapper


def make_dynamodb_thread_safe() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    if getattr(DynamoDBBackend, "_setu_thread_safe", False):
        return
    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            backups = _backup(self, transact_items)
            _STATE.in_transaction = True
            try:
                return original_transact(self, transact_items)
            except BaseException as exc:
                _restore(backups)
                if os.environ.get("SETU_EMULATOR_LOG_CANCELLED") == "1":
                    logging.getLogger("setu.emulator").warning(
                        "transaction cancelled: %r\n%s", exc, json.dumps(transact_items)[:4000])
                raise
            finally:
                _STATE.in_transaction = False

    def table_deepcopy(self, memo):
        # moto's transaction backs up each named table with copy.deepcopy; inside a patched
        # transaction that copy is not needed (the touched items are backed up instead) and the
        # "restore" moto then does puts the very same table back.
        if getattr(_STATE, "in_transaction", False):
            return self
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, copy.deepcopy(value, memo))
        return clone

    if "__deepcopy__" in Table.__dict__:
        raise RuntimeError("moto's Table defines __deepcopy__ now; revisit this patch")
    Table.__deepcopy__ = table_deepcopy
    DynamoHandler.call_action = _locked(DynamoHandler.call_action)
    for name in LOCKED_BACKEND_METHODS:
        if name != "transact_write_items" and hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = transact_write_items
    DynamoDBStreamsBackend.get_records = _locked(DynamoDBStreamsBackend.get_records)
    DynamoDBBackend._setu_thread_safe = True


def _backup(backend, transact_items: list[dict[str, Any]]) -> list[tuple]:
    """(table, hash, range, deep copy of the item or None) per touched item, and the length of
    each touched table's stream."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    items: list[tuple] = []
    streams: dict[int, tuple[Any, int]] = {}
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName") or "")
        if table is None:
            continue
        key = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        current = table.get_item(hash_value, range_value)
        items.append((table, hash_value, range_value, copy.deepcopy(current)))
        if table.stream_shard is not None:
            streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    return [("items", items), ("streams", list(streams.values()))]


def _restore(backups: list[tuple]) -> None:
    items = dict(backups)["items"]
    streams = dict(backups)["streams"]
    for table, hash_value, range_value, before in reversed(items):
        if range_value is not None:
            bucket = table.items[hash_value]
            if before is None:
                bucket.pop(range_value, None)
                if not bucket:
                    table.items.pop(hash_value, None)
            else:
                bucket[range_value] = before
        elif before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
    for shard, length in streams:
        del shard.items[length:]
