"""Two costs of moto 5.x's emulation that grew with the data, so the local stack slowed down
as a load run went on (bench/load_mixed.py: contacts per second fell from the first hundred to
the last). Neither changes what a request answers.

* A DynamoDB Query, even on a table's own partition key, listed and sorted every item of the
  table (`Table.all_items()`) and then kept the partition's. With ten key items per ticket the
  Query behind each SMS's exactly-once marker cost 30 ms of the emulator's CPU at 150 tickets
  and grew from there. Now a Query on the table reads its partition's items, and a Query on an
  index gets the table's items unsorted (moto sorts the matches by the index's keys itself);
  DynamoDB does the first by design. An index Query still reads the whole table, as the scale
  bench notes: the emulator has no index structure.
* Each Step Functions execution parsed its state machine's definition again with ANTLR (8 to
  30 ms; every new ticket starts two timers). The parsed program is kept per definition and each
  execution evaluates its own deep copy (half a millisecond), so no two executions share state.

`apply()` is called by local/moto_main.py before the server starts; SETU_EMULATOR_STOCK=1 skips
it with the other patches.
"""
from __future__ import annotations

import copy
import functools
import inspect


def apply() -> None:
    query_reads_its_partition()
    cache_asl_programs()


def query_reads_its_partition() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_setu_partition_query", False):
        return
    original = Table.query
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs).arguments
        items = _candidates(self, bound.get("hash_key"), bound.get("index_name"))
        # all_items() is what moto's query filters; shadow it for this call only (the
        # DynamoDB backend runs one request at a time: local/moto_safety.py)
        self.all_items = lambda: items
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query
    Table._setu_partition_query = True


def _candidates(table, hash_key, index_name) -> list:
    def unsorted(buckets) -> list:
        if table.range_key_attr:
            return [item for bucket in buckets for item in bucket.values()]
        return list(buckets)

    if index_name or hash_key is None:
        return unsorted(table.items.values())
    bucket = table.items.get(hash_key)  # .get: the items are a defaultdict
    return unsorted([bucket]) if bucket is not None else []


def cache_asl_programs() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if getattr(ExecutionWorker, "_setu_cached_programs", False):
        return

    @functools.lru_cache(maxsize=64)
    def parsed(definition: str):
        return AmazonStateLanguageParser.parse(definition)[0]

    def entrypoint(worker):
        return copy.deepcopy(parsed(worker._evaluation_details.state_machine_details.definition))

    ExecutionWorker._get_evaluation_entrypoint = entrypoint
    ExecutionWorker._setu_cached_programs = True
