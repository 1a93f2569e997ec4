"""Rendering templates that admins and leads edit (macros, per-department acknowledgements).

Templates shipped with the code render in services/messaging/templates.py; anything typed in through the
API renders here only, in a jinja2 ImmutableSandboxedEnvironment narrowed further:

- the context is plain data (dicts, lists, text, numbers); `a.b` on a dict is `a["b"]`, and no
  other attribute of any object is reachable (no `__class__`, no methods but a few harmless
  text ones such as `upper`), calls are limited to `range` and those methods;
- the only global is a `range` capped at RANGE_MAX; the filters are a short whitelist
  (FILTERS), each refusing anything but text and numbers;
- statements are `if`, `for` (not recursive), `set` and output: no macros, call blocks,
  include/import/extends, `{% autoescape %}` or block `set`, so nothing recurses and every
  piece of text produced reaches the output, where it is counted;
- a size cap on the source (SOURCE_MAX), on the output (OUTPUT_MAX), on every text or list
  made by `*`, `+`, `~`, `replace` and `join` (its length: the items of a list are not
  counted), on integers made by `*` and `**`; `%` on text is refused; loop iterations are
  counted over the whole render (ITERATIONS_MAX);
- comparisons, `in` and hashing, the only operations whose cost grows with what a list holds
  (`[[1] * 20000] * 20000` is 20,000 items that refer to one list), are bounded by structure:
  every comparison (`==` `!=` `<` `>` `<=` `>=` `in` `not in` and the tests `eq`, `in` ...,
  rewritten at compile time into `_compare`) and `loop.changed` takes text, numbers, or lists
  and dicts holding at most COMPARE_MAX items and characters counted through every level; a
  key (`d[k]`, `{k: v}`) is text or a number; the tests that format or print a value
  (`divisibleby`, `odd`, `even`, `lower`, `upper`) take numbers or text only. So every single
  operation costs at most about a linear pass over OUTPUT_MAX or COMPARE_MAX items;
- the clock is read at every loop iteration, comparison and piece of output, and the render
  is stopped with a 422 once it has run TIME_MAX seconds: it ends within TIME_MAX plus one of
  those bounded operations (the clock cannot interrupt an operation, so the bounds above,
  not the clock, are what make a render finish);
- undefined names are errors (StrictUndefined), not empty text.

Any failure, at compile time or while rendering, is a ValidationFailed (422) naming the field
and the template line. Text (mail text part, SMS) renders with autoescape off, HTML with it on.

Longer than 600 lines: one security boundary, read as a whole (every filter, test and
attribute a template may reach is allow-listed here, next to the reason for each).
"""
from __future__ import annotations

import contextvars
import operator
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib import clock
from chalicelib.errors import ValidationFailed
from chalicelib.services.messaging import templates

SOURCE_MAX = 10_000  # characters of template source
OUTPUT_MAX = 20_000  # characters rendered (tickets.MAX_BODY)
ITERATIONS_MAX = 10_000  # loop iterations per render, all loops together
RANGE_MAX = 1_000
INT_BITS_MAX = 4_096
COMPARE_MAX = 50_000  # items and characters in a list or dict compared, searched or changed()
TIME_MAX = 1.0  # seconds per render, read between operations (see the module's docstring)
FILENAME = "<template>"
STR_METHODS = frozenset({"upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize",
                         "startswith", "endswith", "split", "splitlines", "isdigit", "isspace"})
_NAME_PREFIXES = frozenset({"md", "md.", "mohammad", "mohammed", "muhammad", "mr", "mr.", "mrs",
                            "mrs.", "ms", "ms.", "dr", "dr.", "মোঃ", "মো:", "মো.", "মোহাম্মদ",
                            "জনাব", "ডাঃ", "ডা."})


class _Limit(Exception):
    """A sandbox limit was reached (size, iterations, time, a refused operation)."""


@dataclass
class _Budget:
    iterations: int
    deadline: float

    def step(self, n: int = 1) -> None:
        self.iterations -= n
        if self.iterations < 0:
            raise _Limit(f"more than {ITERATIONS_MAX} loop iterations")
        if time.monotonic() > self.deadline:
            raise _Limit(f"rendering took longer than {TIME_MAX:g} s")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("sandbox_budget",
                                                                        default=None)


def _budget() -> _Budget:
    """The render's budget. Only functions marked pass_context read it: jinja never calls
    those at compile time (constant folding), so they run inside render(), which sets it."""
    budget = _BUDGET.get()
    if budget is None:
        raise RuntimeError("sandbox templates are rendered through sandbox.render() only")
    return budget


# ---- public ------------------------------------------------------------------------------

def check(source: Any, *, html: bool = False, field: str = "body") -> str:
    """Compile `source` (a save-time check): 422 naming `field` and the line when it cannot
    be used. Returns the source."""
    _compiled(_source(source, field), html, field)
    return source


def render(source: Any, context: dict[str, Any], *, html: bool = False, field: str = "body",
           limit: int = OUTPUT_MAX) -> str:
    """`source` rendered with `context` (plain data only) in the sandbox; 422 on any error."""
    template = _compiled(_source(source, field), html, field)
    budget = _Budget(ITERATIONS_MAX, time.monotonic() + TIME_MAX)
    token = _BUDGET.set(budget)
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > limit:
                raise _Limit(f"the text is longer than {limit} characters")
            budget.step(0)
            out.append(chunk)
        return "".join(out)
    except ValidationFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - anything a template does wrong is the author's 422
        raise _failed(exc, field) from None
    finally:
        _BUDGET.reset(token)


def first_name(name: str | None) -> str:
    """'Md. Rahim Uddin' -> 'Rahim'; 'মোঃ করিম' -> 'করিম'; '' -> ''."""
    words = (name or "").split()
    while len(words) > 1 and words[0].lower() in _NAME_PREFIXES:
        words = words[1:]
    return words[0] if words else ""


# ---- compiling -----------------------------------------------------------------------------

def _source(source: Any, field: str) -> str:
    if not isinstance(source, str):
        raise ValidationFailed("A template must be text.", {field: "text"})
    if len(source) > SOURCE_MAX:
        raise ValidationFailed("The template is too long.",
                               {field: f"at most {SOURCE_MAX} characters"})
    return source


def _compiled(source: str, html: bool, field: str):
    try:
        return _compile(source, html)
    except ValidationFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - syntax errors, refused statements, too deep ...
        raise _failed(exc, field) from None


@lru_cache(maxsize=128)
def _compile(source: str, html: bool):
    from jinja2 import TemplateSyntaxError  # deferred: cold start (not loaded by `import app`)

    env = environment(html)
    tree = env.parse(source)
    for node in tree.find_all(_nodes().Node):
        if type(node) not in _allowed_nodes() or getattr(node, "recursive", False):
            what = type(node).__name__
            raise TemplateSyntaxError(f"{_STATEMENT_NAMES.get(what, what)} is not allowed here",
                                      getattr(node, "lineno", 1) or 1)
    tree = _Instrument().visit(tree)
    code = env.compile(tree, filename=FILENAME)
    return env.template_class.from_code(env, code, env.make_globals(None), None)


_STATEMENT_NAMES = {"Macro": "{% macro %}", "Scope": "{% autoescape %}", "CallBlock": "{% call %}", "Include": "{% include %}",
                    "Import": "{% import %}", "FromImport": "{% from ... import %}",
                    "Extends": "{% extends %}", "Block": "{% block %}",
                    "ScopedEvalContextModifier": "{% autoescape %}", "AssignBlock": "{% set %} ... {% endset %}",
                    "FilterBlock": "{% filter %}", "With": "{% with %}", "For": "a recursive loop",
                    "NSRef": "namespace assignment"}


def _nodes():
    from jinja2 import nodes  # deferred: cold start (not loaded by `import app`)

    return nodes


@lru_cache(maxsize=1)
def _allowed_nodes() -> frozenset[type]:
    n = _nodes()
    return frozenset({
        n.Template, n.Output, n.TemplateData, n.If, n.For, n.Assign,
        n.Name, n.Const, n.Tuple, n.List, n.Dict, n.Pair, n.Keyword, n.CondExpr,
        n.Add, n.Sub, n.Mul, n.Div, n.FloorDiv, n.Mod, n.Pow, n.And, n.Or, n.Not, n.Neg, n.Pos,
        n.Compare, n.Operand, n.Concat, n.Getattr, n.Getitem, n.Slice, n.Filter, n.Test, n.Call,
    })


def _Instrument():
    """Rewrites the tree: every loop's iterable goes through `_iterations` (counted), every
    `~` through `_concat` (size checked before the text is built), every comparison through
    `_compare` (operands checked before Python compares them) and every key of a dict literal
    through `_key` (text or a number before Python hashes it)."""
    from jinja2 import nodes  # deferred: cold start (not loaded by `import app`)
    from jinja2.visitor import NodeTransformer  # deferred: cold start (not loaded by `import app`)

    class Instrument(NodeTransformer):
        def visit_For(self, node):
            node = self.generic_visit(node)
            node.iter = nodes.Filter(node.iter, "_iterations", [], [], None, None,
                                     lineno=node.lineno)
            return node

        def visit_Concat(self, node):
            node = self.generic_visit(node)
            return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_concat", [], [],
                                None, None, lineno=node.lineno)

        def visit_Compare(self, node):
            # `a < b < c` becomes _compare([a, 'lt', b, 'lt', c]): every operand is evaluated
            # (Python would skip c when a < b is false), then compared left to right
            node = self.generic_visit(node)
            parts = [node.expr]
            for operand in node.ops:
                parts += [nodes.Const(operand.op, lineno=node.lineno), operand.expr]
            return nodes.Filter(nodes.List(parts, lineno=node.lineno), "_compare", [], [],
                                None, None, lineno=node.lineno)

        def visit_Pair(self, node):
            node = self.generic_visit(node)
            node.key = nodes.Filter(node.key, "_key", [], [], None, None, lineno=node.lineno)
            return node

    return Instrument()


# ---- the environment -----------------------------------------------------------------------

@lru_cache(maxsize=2)
def environment(html: bool):
    from jinja2 import StrictUndefined, Undefined  # deferred: cold start
    from jinja2.runtime import LoopContext  # deferred: cold start (not loaded by `import app`)
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError  # deferred: cold start

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"+", "*", "**", "%", "/", "//"})

        def call_binop(self, context, operator, left, right):
            _check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def getattr(self, obj, attribute):
            if isinstance(obj, Undefined):
                obj._fail_with_undefined_error()
            if isinstance(obj, dict):
                return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
            if isinstance(obj, str) and attribute in STR_METHODS:
                return getattr(obj, attribute)
            if isinstance(obj, LoopContext) and not attribute.startswith("_"):
                return super().getattr(obj, attribute)
            return self.undefined(obj=obj, name=attribute)

        def getitem(self, obj, argument):
            if isinstance(obj, Undefined):
                obj._fail_with_undefined_error()
            if isinstance(obj, dict):
                _key(argument)  # hashing a nested tuple could take hours
                return obj[argument] if argument in obj else self.undefined(obj=obj, name=argument)
            if isinstance(obj, (str, list, tuple)) and isinstance(argument, (int, slice)) \
                    and not isinstance(argument, bool):
                try:
                    return obj[argument]
                except IndexError:
                    return self.undefined(obj=obj, name=str(argument))
            if isinstance(argument, Undefined):
                argument._fail_with_undefined_error()
            # never str() of a list: it could be [[...] * 20000] * 20000
            name = argument if isinstance(argument, (str, int, float)) else type(argument).__name__
            return self.undefined(obj=obj, name=name)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's signature
            if isinstance(__obj, Undefined):
                __obj._fail_with_undefined_error()
            owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", "")
            if not (__obj is _range or (isinstance(owner, str) and name in STR_METHODS)
                    or (isinstance(owner, LoopContext) and name in ("cycle", "changed"))):
                raise SecurityError(f"{name or 'that'} cannot be called in a template")
            if name == "changed" or isinstance(owner, str):
                # changed() compares its arguments with the previous iteration's, and
                # startswith(('…' * 20000,) * 20000) compares each item with the text
                for arg in (*args, *kwargs.values()):
                    _comparable(arg)
            # the context strips jinja's own keyword arguments (_loop_vars ...)
            return __context.call(__obj, *args, **kwargs)

    env = Sandbox(autoescape=html, undefined=StrictUndefined, finalize=_printable,
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                  auto_reload=False, cache_size=0)
    env.globals.clear()
    env.globals["range"] = _range
    env.filters.clear()
    env.filters.update(_filters())
    env.tests.clear()
    env.tests.update(_tests())
    return env


def _range(*args: Any) -> range:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise _Limit("range takes whole numbers")
    found = range(*args)
    if len(found) > RANGE_MAX:
        raise _Limit(f"range is limited to {RANGE_MAX} numbers")
    return found


def _check_binop(operator: str, left: Any, right: Any) -> None:
    sized = (str, list, tuple)
    if operator == "*":
        if isinstance(left, int) and isinstance(right, sized):
            left, right = right, left
        if isinstance(left, sized) and isinstance(right, int):
            if len(left) * max(right, 0) > OUTPUT_MAX:
                raise _Limit(f"repeating makes more than {OUTPUT_MAX} characters or items")
        elif isinstance(left, int) and isinstance(right, int):
            if abs(left).bit_length() + abs(right).bit_length() > INT_BITS_MAX:
                raise _Limit("the number is too large")
    elif operator == "+":
        if isinstance(left, sized) and isinstance(right, sized):
            if len(left) + len(right) > OUTPUT_MAX:
                raise _Limit(f"joining makes more than {OUTPUT_MAX} characters or items")
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            if abs(left).bit_length() * right > INT_BITS_MAX:
                raise _Limit("the number is too large")
        elif isinstance(left, (int, float)) and isinstance(right, (int, float)) and abs(right) > 1024:
            raise _Limit("the power is too large")
    elif operator == "%":
        if isinstance(left, str):
            raise _Limit("% formatting of text is not allowed")


# ---- comparisons, keys and tests ----------------------------------------------------------

_SCALARS = (str, int, float, type(None), range, datetime)  # bool is an int, Markup a str


def _comparable(value: Any) -> None:
    """Refuses a value that Python could take long to compare or hash: anything but text,
    numbers and lists/tuples/dicts holding at most COMPARE_MAX items and characters, counted
    through every level (a list repeated inside a list counts each time). The walk itself
    stops after COMPARE_MAX items, so it is bounded too."""
    from jinja2 import Undefined  # deferred: cold start (not loaded by `import app`)

    left = COMPARE_MAX
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, Undefined):
            item._fail_with_undefined_error()
        if isinstance(item, str):
            left -= len(item)
        elif isinstance(item, _SCALARS):
            pass
        elif isinstance(item, (list, tuple)):
            left -= len(item)
            if left >= 0:
                todo.extend(item)
        elif isinstance(item, dict):
            left -= 2 * len(item)
            if left >= 0:
                todo.extend(item.keys())
                todo.extend(item.values())
        else:
            raise _Limit(f"a {type(item).__name__} cannot be compared")
        if left < 0:
            raise _Limit(f"only text, numbers and lists of at most {COMPARE_MAX} items and "
                         "characters in all can be compared")


def _key(value: Any) -> Any:
    """A dict key or dict lookup: text or a number (hashing is then linear in its size)."""
    from jinja2 import Undefined  # deferred: cold start (not loaded by `import app`)

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if not isinstance(value, (str, int, float, type(None))):
        raise _Limit(f"a key must be text or a number, not a {type(value).__name__}")
    return value


_COMPARISONS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gteq": operator.ge,
                "lt": operator.lt, "lteq": operator.le,
                "in": lambda a, b: a in b, "notin": lambda a, b: a not in b}


def _compare(op: str, left: Any, right: Any) -> bool:
    _budget().step(0)  # the clock, between comparisons that are each bounded below
    _comparable(left)
    _comparable(right)
    if op in ("in", "notin") and not isinstance(right, (str, list, tuple, dict, range)):
        raise _Limit(f"'in' takes text, a list or a dict on its right, not a {type(right).__name__}")
    return _COMPARISONS[op](left, right)


def _tests() -> dict[str, Any]:
    """jinja's tests, less those that print, format or call a value (`lower` was
    str(value), `divisibleby` value % n: '%0999999999d' is divisibleby 1), and with the
    comparing ones going through _compare."""
    from jinja2 import Undefined, pass_context  # deferred: cold start (not loaded by `import app`)
    from jinja2 import tests as jt  # deferred: cold start (not loaded by `import app`)

    def compare_test(op):
        return pass_context(lambda context, value, other: _compare(op, value, other))

    def number(value, what):
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        if not isinstance(value, (int, float)):
            raise _Limit(f"'{what}' takes a number, not a {type(value).__name__}")
        return value

    def text_test(method):
        def test(value):
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            return isinstance(value, str) and getattr(value, method)()
        return test

    found = {name: getattr(jt, f"test_{name}") for name in (
        "defined", "undefined", "none", "boolean", "false", "true", "integer", "float",
        "number", "string", "mapping", "sequence", "iterable", "sameas", "escaped")}
    found.update({
        "odd": lambda v: number(v, "odd") % 2 == 1,
        "even": lambda v: number(v, "even") % 2 == 0,
        "divisibleby": lambda v, n: number(v, "divisibleby") % number(n, "divisibleby") == 0,
        "lower": text_test("islower"), "upper": text_test("isupper"),
        "in": compare_test("in"),
    })
    for op, names in {"eq": ("==", "eq", "equalto"), "ne": ("!=", "ne"),
                      "gt": (">", "gt", "greaterthan"), "gteq": (">=", "ge"),
                      "lt": ("<", "lt", "lessthan"), "lteq": ("<=", "le")}.items():
        found.update(dict.fromkeys(names, compare_test(op)))
    return found


# ---- filters: each takes text or numbers only ----------------------------------------------

def _text(value: Any) -> str:
    """The value as text for a filter: text and numbers only (an undefined name raises)."""
    from jinja2 import Undefined  # deferred: cold start (not loaded by `import app`)

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    raise _Limit(f"expected text, got {type(value).__name__}")


def _printable(value: Any) -> Any:
    """finalize: only text and numbers are printed (a dict or list would print its repr)."""
    from jinja2 import Undefined  # deferred: cold start (not loaded by `import app`)

    if value is None:
        return ""
    if isinstance(value, (str, int, float, Undefined)):
        return value
    raise _Limit(f"cannot print a {type(value).__name__}; print one of its fields")


def _sequence(value: Any) -> Any:
    from jinja2 import Undefined  # deferred: cold start (not loaded by `import app`)

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, (str, list, tuple, dict, range)):
        return value
    raise _Limit(f"expected a list or text, got {type(value).__name__}")


def _filters() -> dict[str, Any]:
    from jinja2 import Undefined, pass_context, pass_eval_context  # deferred: cold start
    from markupsafe import Markup, escape  # deferred: cold start (not loaded by `import app`)

    def default(value, default_value="", boolean=False):
        if isinstance(value, Undefined) or (boolean and not value):
            return default_value
        return value

    def truncate(value, length=255, end="...", killwords=False):
        text = _text(value)
        length = int(length)
        end = _text(end)
        if len(text) <= length:
            return text
        cut = text[:max(length - len(end), 0)]
        if not killwords and " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        return cut + end

    @pass_eval_context
    def replace(eval_ctx, value, old, new, count=None):
        text, old, new = _text(value), _text(old), _text(new)
        found = text.count(old) if old else len(text) + 1
        if count is not None:
            found = min(found, int(count))
        if len(text) + found * (len(new) - len(old)) > OUTPUT_MAX:
            raise _Limit(f"replace makes more than {OUTPUT_MAX} characters")
        result = text.replace(old, new, -1 if count is None else int(count))
        return Markup(result) if eval_ctx.autoescape and isinstance(value, Markup) else result

    @pass_eval_context
    def join(eval_ctx, value, separator=""):
        items = [item if isinstance(item, Markup) else _text(item) for item in _sequence(value)]
        separator = _text(separator)
        if sum(map(len, items)) + len(separator) * len(items) > OUTPUT_MAX:
            raise _Limit(f"join makes more than {OUTPUT_MAX} characters")
        if eval_ctx.autoescape and any(isinstance(item, Markup) for item in items):
            return Markup(escape(separator)).join(escape(item) for item in items)
        return separator.join(items)

    def first(value):
        seq = _sequence(value)
        return next(iter(seq), None) if not isinstance(seq, dict) else None

    def last(value):
        seq = _sequence(value)
        return seq[-1] if seq and not isinstance(seq, dict) else None

    def length(value):
        return len(_sequence(value))

    def to_int(value, fallback=0):
        try:
            return int(float(_text(value)))
        except (ValueError, OverflowError):
            return fallback

    def to_round(value, precision=0):
        number = float(_text(value))
        return round(number, int(precision)) if precision else round(number)

    @pass_context
    def local_time(context, value, lang=None):
        text = value if isinstance(value, datetime) else _text(value)
        if not text:
            return ""
        when = text if isinstance(text, datetime) else clock.parse_iso(text)
        return templates.local_time(when, lang or context.get("lang") or "en")

    @pass_context
    def ref(context, value, lang=None):
        return templates.ref_for(_text(value), lang or context.get("lang") or "en")

    @pass_context
    def digits(context, value, lang=None):
        text = _text(value)
        return templates.bn_digits(text) if (lang or context.get("lang")) == "bn" else text

    @pass_context
    def iterations(context, value):
        seq = _sequence(value) if not isinstance(value, Undefined) else value
        budget = _budget()
        for item in seq:
            budget.step()
            yield item

    @pass_context
    def concat(context, values):
        parts = [v if isinstance(v, Markup) else _text(v) for v in values]
        if sum(map(len, parts)) > OUTPUT_MAX:
            raise _Limit(f"~ makes more than {OUTPUT_MAX} characters")
        if context.eval_ctx.autoescape and any(isinstance(p, Markup) for p in parts):
            return Markup("").join(escape(p) for p in parts)
        return "".join(parts)

    @pass_context
    def compare(context, parts):
        left = parts[0]
        for index in range(1, len(parts), 2):
            right = parts[index + 1]
            if not _compare(parts[index], left, right):
                return False
            left = right
        return True

    def text_filter(method):
        return lambda value: getattr(_text(value), method)()

    return {
        "default": default, "d": default, "truncate": truncate, "replace": replace,
        "join": join, "first": first, "last": last, "length": length, "count": length,
        "upper": text_filter("upper"), "lower": text_filter("lower"),
        "title": text_filter("title"), "capitalize": text_filter("capitalize"),
        "trim": text_filter("strip"), "escape": lambda v: escape(_text(v)),
        "e": lambda v: escape(_text(v)), "int": to_int, "round": to_round,
        "bn_digits": lambda v: templates.bn_digits(_text(v)), "digits": digits,
        "local_time": local_time, "ref": ref,
        "_iterations": iterations, "_concat": concat, "_compare": compare, "_key": _key,
    }


# ---- errors --------------------------------------------------------------------------------

def _failed(exc: BaseException, field: str) -> ValidationFailed:
    line = getattr(exc, "lineno", None) or _template_line(exc)
    message = _describe(exc)
    where = f"line {line}: " if line else ""
    return ValidationFailed(f"The template cannot be used: {where}{message}",
                            {field: f"{where}{message}"})


def _template_line(exc: BaseException) -> int | None:
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if frame.filename == FILENAME]
    return lines[-1] if lines else None


def _describe(exc: BaseException) -> str:
    from jinja2 import TemplateSyntaxError, UndefinedError  # deferred: cold start
    from jinja2.sandbox import SecurityError  # deferred: cold start (not loaded by `import app`)

    if isinstance(exc, (TemplateSyntaxError, UndefinedError, SecurityError, _Limit)):
        text = str(getattr(exc, "message", None) or exc)
    elif isinstance(exc, RecursionError):
        text = "the template is nested too deeply"
    elif isinstance(exc, MemoryError):
        text = "the template needs too much memory"
    elif type(exc) in (TypeError, ZeroDivisionError, OverflowError):
        text = f"{type(exc).__name__}: {exc}"  # CPython's own texts: they name types, not values
    else:  # not str(exc): a ValueError quotes the value ("could not convert string to float:
        # '<what the customer wrote>'"), and this text is logged and stored on the timeline
        text = f"{type(exc).__name__}: {_GENERIC.get(type(exc), 'the operation failed')}"
    return " ".join(text.split())[:300]


_GENERIC = {ValueError: "a value this operation cannot use (e.g. text that is not a number)",
            IndexError: "no item at that position", KeyError: "no such key"}
