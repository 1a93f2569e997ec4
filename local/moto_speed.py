"""What makes moto 5.x's emulation answer faster without changing what it answers.

Two costs that grew with the data, so the local stack slowed down as a load run went on
(bench/load_mixed.py: contacts per second fell from the first hundred to the last):

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

And work done again for every request (docs/throughput.md has the profiles): finding the
service (a directory listing per request), converting DynamoDB attribute values by walking the
model, looking each member of an answer up under a dozen spellings, parsing the same DynamoDB
expressions and Step Functions JSONPaths again, and sizing an item once per attribute.

`apply()` is called by local/moto_main.py before the server starts; SETU_EMULATOR_STOCK=1 skips
it with the other patches.
"""
from __future__ import annotations

import copy
import functools
import inspect
import json
import pickle


def apply() -> None:
    query_reads_its_partition()
    cache_asl_programs()
    remember_service_lookups()
    convert_attribute_values_directly()
    pick_dict_members_directly()
    remember_parsed_expressions()
    size_items_once()
    remember_json_paths()


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


def remember_json_paths() -> None:
    """Step Functions evaluates each JSONPath of a state (`TimestampPath`, `ResultPath`, ...)
    by parsing it with a parser jsonpath_ng builds anew for every call (ply's tables, about a
    millisecond). A parsed path is only read when it is applied, so each is parsed once."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        if not hasattr(module.parse, "cache_info"):
            module.parse = functools.lru_cache(maxsize=256)(module.parse)


def _remember(store: dict, key, value, limit: int = 4096) -> None:
    """Keep `value` under `key`, forgetting everything once `limit` answers are kept: the
    local stack asks the same few questions again and again, and a bound keeps a stranger
    stream of them from growing the emulator without end."""
    if len(store) >= limit:
        store.clear()
    store[key] = value


# --- per request: what moto works out again for every call ------------------------------------

def remember_service_lookups() -> None:
    """moto's server finds the service of each request by listing its own package directory
    (a listdir and ~150 isdir calls, twice per request) and by matching the host against every
    service's URL patterns, and finds an action's handler by listing the handler class's
    methods with inspect.getmembers. None of these answers changes while the server runs, so
    each is worked out once (about a third of the emulator's CPU for a small GetItem)."""
    from moto import backends
    from moto.core import responses, utils
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication, "_setu_remembered", False):
        return
    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    methods = functools.lru_cache(maxsize=None)(utils.method_names_from_class)
    responses.method_names_from_class = lambda clazz: methods(clazz)
    find_backend = DomainDispatcherApplication.get_backend_for_host
    found: dict = {}

    @functools.wraps(find_backend)
    def get_backend_for_host(self, host):
        if host not in found:  # hosts naming buckets could grow it; the local stack's don't
            _remember(found, host, find_backend(self, host))
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
    DomainDispatcherApplication._setu_remembered = True


# --- DynamoDB attribute values: most of every item-carrying request and answer ---------------

class _Unusual(Exception):
    """A value the direct conversion does not handle; moto's own walk takes it instead."""


_MEMBERS = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")  # the shape's order


def attribute_value_out(value, blob):
    """What moto's JSON serializer makes of one AttributeValue dict, without walking the model
    for each member (its attribute picker tries several key spellings for each of the ten
    members of every value: a GetRecords page of 100 records took 170 ms)."""
    return _convert(value, blob, _text)


def attribute_value_in(value, blob):
    """What moto's JSON request parser makes of one AttributeValue, the same way round (it
    takes text as it comes)."""
    return _convert(value, blob, lambda text: text)


def _convert(value, blob, text):
    if type(value) is not dict:
        raise _Unusual
    out = {}
    for name in _MEMBERS:
        member = value.get(name)
        if member is None:
            continue
        if name == "S" or name == "N":
            out[name] = text(member)
        elif name == "B":
            out[name] = blob(member)
        elif name == "SS" or name == "NS":
            out[name] = [text(each) for each in _list(member)]
        elif name == "BS":
            out[name] = [blob(each) for each in _list(member)]
        elif name == "M":
            out[name] = {key: _convert(each, blob, text) for key, each in _map(member)}
        elif name == "L":
            out[name] = [_convert(each, blob, text) for each in _list(member)]
        else:
            out[name] = member
    return out


def _text(value):
    if type(value) is not str:
        raise _Unusual
    return value


def _list(value):
    if type(value) is not list:
        raise _Unusual
    return value


def _map(value):
    if type(value) is not dict:
        raise _Unusual
    return value.items()


def convert_attribute_values_directly() -> None:
    from moto.core.parse import BaseJSONParser
    from moto.core.serialize import BaseJSONSerializer

    if getattr(BaseJSONSerializer, "_setu_direct_values", False):
        return
    serialize = BaseJSONSerializer._serialize_type_structure
    parse = BaseJSONParser._parse_structure

    @functools.wraps(serialize)
    def serialize_structure(self, serialized, value, shape, key):
        if key and shape.name == "AttributeValue":
            try:
                serialized[self.get_serialized_name(shape, key)] = attribute_value_out(
                    value, self._base64)
                return
            except _Unusual:
                pass
        serialize(self, serialized, value, shape, key)

    @functools.wraps(parse)
    def parse_structure(self, shape, value):
        if shape.name == "AttributeValue" and self.MAP_TYPE is dict:
            try:
                return attribute_value_in(value, self._blob_parser)
            except _Unusual:
                pass
        return parse(self, shape, value)

    BaseJSONSerializer._serialize_type_structure = serialize_structure
    BaseJSONParser._parse_structure = parse_structure
    BaseJSONSerializer._setu_direct_values = True


def pick_dict_members_directly() -> None:
    """moto's serializer looks each member of an answer up through an attribute picker that
    tries up to a dozen spellings (the shape's name, the member's, snake_case forms...). For a
    plain dict holding the member under its own name the picker's answer is that entry, unless
    an earlier spelling (the shape's name, tried first for lists and structures) is in the dict
    too; that case, and every other, still goes through the picker."""
    from botocore import xform_name
    from moto.core.serialize import AttributePickerContext, ResponseSerializer, ShapeNameAlias

    if getattr(ResponseSerializer, "_setu_direct_members", False):
        return
    pick = ResponseSerializer.get_value

    @functools.wraps(pick)
    def get_value(self, value, key, shape):
        if (type(value) is dict and key in value
                and not getattr(self._value_picker, "response_transformers", None)):
            alias = ShapeNameAlias(AttributePickerContext(obj=value, key=key, shape=shape))
            if not alias.has_alias(key):
                return value[key]
            earlier = alias.get_alias(key)
            if earlier not in value and xform_name(earlier) not in value:
                return value[key]
        return pick(self, value, key, shape)

    ResponseSerializer.get_value = get_value
    ResponseSerializer._setu_direct_members = True


# --- DynamoDB expressions: parsed up to three times per item of every write ---------------------

def remember_parsed_expressions() -> None:
    """moto parses a write's condition with a character-by-character lexer up to three times
    (the request's validation, the transaction, the put) and its update expression twice, about
    half a millisecond to a millisecond each; a web-form create's transaction has eight items.
    Parsing depends only on the expression and its names and values, so:

    * a condition's evaluated tree (`Op`; evaluating it reads the item and changes nothing) is
      kept with the names and values the parse found, per (expression, names, values);
    * an update expression's tree is kept pickled per expression and each caller gets a fresh
      copy (moto's validator rewrites the tree in place), a fifth of the parse.

    A bad expression raises as before and is not kept."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    if getattr(ConditionExpressionParser, "_setu_remembered", False):
        return
    parse = ConditionExpressionParser.parse
    conditions: dict = {}

    @functools.wraps(parse)
    def parse_remembered(self):
        try:
            key = (self.condition_expression,
                   json.dumps(self.expression_attribute_names, sort_keys=True),
                   json.dumps(self.expression_attribute_values, sort_keys=True))
        except (TypeError, ValueError):  # not JSON as a request holds it: moto's own way
            return parse(self)
        found = conditions.get(key)
        if found is None:
            names, values = len(self.expr_attr_names_found), len(self.expr_attr_values_found)
            op = parse(self)  # a condition naming its values is new for each request: bounded
            _remember(conditions, key, (op, self.expr_attr_names_found[names:],
                                        self.expr_attr_values_found[values:]))
            return op
        op, names, values = found
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    make = UpdateExpressionParser.make  # a bound classmethod
    updates: dict = {}

    @functools.wraps(make)
    def make_remembered(expression_str):
        pickled = updates.get(expression_str)
        if pickled is None:
            tree = make(expression_str)
            _remember(updates, expression_str, pickle.dumps(tree))
            return tree
        return pickle.loads(pickled)

    ConditionExpressionParser.parse = parse_remembered
    UpdateExpressionParser.make = staticmethod(make_remembered)
    ConditionExpressionParser._setu_remembered = True


# --- DynamoDB items: sized once, not once per attribute ----------------------------------------

ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict: between DynamoDB's measured 409 and 410 KB


def size_items_once() -> None:
    """moto builds an item attribute by attribute into a dict that, on every insert, sums the
    size of everything already in it: quadratic in the attributes (a ticket has about thirty),
    a twentieth of the emulator's CPU. The item is built whole and sized once; sizes only add
    up, so the total is over the limit exactly when one of moto's partial sums would have been,
    and the same ItemSizeTooLarge is raised."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    if getattr(Item, "_setu_sized_once", False):
        return
    build = Item.__init__

    @functools.wraps(build)
    def item_init(self, hash_key, range_key, attrs):
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, ((key, DynamoType(value)) for key, value in attrs.items()))
        if self.size() > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge

    Item.__init__ = item_init
    Item._setu_sized_once = True
