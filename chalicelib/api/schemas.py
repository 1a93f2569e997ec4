"""One JSON Schema per payload: the same definitions validate requests and make the OpenAPI
document (api/openapi.py serves every registered definition as components/schemas).

Each route module declares its payloads once, `SCHEMAS = Schemas(_definitions)`, where
`_definitions()` returns {name: JSON Schema} (refs as `#/components/schemas/<Name>`, resolved
across every module's definitions). A view calls `SCHEMAS.body(request, "Name")` after its
auth check: the body is parsed (415 unless JSON, 400 when malformed or not an object) and
validated before any service runs; a violation is 422 with `error.fields` naming each bad field
(`department`, `rules[3].then.department`, `colour: unknown field`).

Cold start: nothing here runs at import. `_definitions()` runs on first use (it may import
services for their constants), and each schema is compiled to Python by fastjsonschema the
first time it validates (a few ms each); the compiled function is kept for the container's life.
Only an invalid body pays for naming every bad field (each property is checked on its own).
"""
from __future__ import annotations

from typing import Any, Callable

from chalicelib.api.http import json_body
from chalicelib.errors import BadRequest, ValidationFailed

REF = "#/components/schemas/"
MAX_FIELDS = 50  # fields named in one 422 (keys are the client's: bounded)
_REGISTRY: list["Schemas"] = []


class Schemas:
    """A route module's payload definitions, built and compiled on first use."""

    def __init__(self, build: Callable[[], dict[str, dict[str, Any]]]):
        self._build = build
        self._definitions: dict[str, dict[str, Any]] | None = None
        self._validators: dict[tuple[str, str], Callable[[Any], Any]] = {}
        _REGISTRY.append(self)

    def definitions(self) -> dict[str, dict[str, Any]]:
        if self._definitions is None:
            self._definitions = self._build()
        return self._definitions

    def body(self, request, name: str, *, optional: bool = False) -> dict[str, Any]:
        """The request's JSON object, valid against schema `name`; with optional, an empty
        body is an empty object."""
        if optional and not request.raw_body:
            value: Any = {}
        else:
            value = json_body(request)
            if not isinstance(value, dict):
                raise BadRequest("The body must be a JSON object.", {"body": "must be an object"})
        return self.check(name, value)

    def check(self, name: str, value: Any) -> Any:
        """value, or ValidationFailed naming each field that breaks schema `name`."""
        from fastjsonschema import JsonSchemaValueException  # deferred: cold start

        try:
            self._validator(name)(value)
        except JsonSchemaValueException:
            raise ValidationFailed("The request does not match its schema.",
                                   self._fields(name, value)) from None
        return value

    # ---- compiled validators -------------------------------------------------------------

    def _validator(self, name: str, prop: str = "") -> Callable[[Any], Any]:
        key = (name, prop)
        found = self._validators.get(key)
        if found is None:
            import fastjsonschema  # deferred: cold start

            schema = resolved(self._schema(name), self._lookup)
            if prop:
                schema = schema["properties"][prop]
            found = fastjsonschema.compile(schema, use_default=False)
            self._validators[key] = found
        return found

    def _schema(self, name: str) -> dict[str, Any]:
        return self._lookup(name)

    def _lookup(self, name: str) -> dict[str, Any]:
        """This module's definition, else another module's (which builds them all)."""
        own = self.definitions()
        return own[name] if name in own else every_definition()[name]

    def _fields(self, name: str, value: Any) -> dict[str, str]:
        """Each bad field: unknown or missing ones, and each property checked on its own (its
        first problem, with the path inside it); else the whole schema's first problem."""
        from fastjsonschema import JsonSchemaValueException  # deferred: cold start

        schema = resolved(self._schema(name), self._lookup)
        fields: dict[str, str] = {}
        properties = schema.get("properties", {})
        if isinstance(value, dict) and properties:
            for key in value:
                if len(fields) >= MAX_FIELDS:
                    break
                if key in properties:
                    try:
                        self._validator(name, key)(value[key])
                    except JsonSchemaValueException as exc:
                        fields.update(_problems(exc, key))
                elif schema.get("additionalProperties") is False:
                    fields[str(key)[:64]] = "unknown field"
            for key in schema.get("required", ()):
                if key not in value:
                    fields[key] = "required"
        if not fields:
            try:
                self._validator(name)(value)
            except JsonSchemaValueException as exc:
                # a rule over the whole object may name its field and say it in words
                named = schema.get("x-errors", {}).get(exc.rule)
                fields.update([tuple(named) if named and exc.name == "data" else _problem(exc)])
        return fields or {"body": "does not match the schema"}


def _problems(exc: Any, field: str) -> list[tuple[str, str]]:
    """An object's unknown keys each by name (`actions.assign: unknown field`), else _problem."""
    if exc.rule == "additionalProperties" and isinstance(exc.value, dict) \
            and isinstance(exc.definition, dict):
        where, _ = _problem(exc, field)
        known = exc.definition.get("properties", {})
        extra = [key for key in exc.value if key not in known][:MAX_FIELDS]
        if extra:
            return [(f"{where}.{str(key)[:64]}", "unknown field") for key in extra]
    return [_problem(exc, field)]


def _problem(exc: Any, field: str = "") -> tuple[str, str]:
    """("rules[3].then.department", "must be one of [...]") from fastjsonschema's error."""
    where = exc.name[len("data"):] if exc.name.startswith("data") else ""
    message = exc.message
    if message.startswith(exc.name + " "):
        message = message[len(exc.name) + 1:]
    path = f"{field}{where}" if field else where.lstrip(".")
    return (path or "body")[:200], message[:300]


def every_definition() -> dict[str, dict[str, Any]]:
    """Every route module's definitions (each module registers its own at import)."""
    found: dict[str, dict[str, Any]] = {}
    for schemas in _REGISTRY:
        found.update(schemas.definitions())
    return found


def resolved(schema: Any, lookup: Callable[[str], dict[str, Any]] | None = None,
             seen: tuple[str, ...] = ()) -> Any:
    """schema with each `#/components/schemas/X` ref replaced by X (sibling keywords such as
    a description kept), for a validator compiled on its own."""
    lookup = lookup or (lambda name: every_definition()[name])
    if isinstance(schema, list):
        return [resolved(item, lookup, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        name = ref[len(REF):]
        if name in seen:
            raise ValueError(f"recursive schema {name}")
        target = resolved(lookup(name), lookup, (*seen, name))
        siblings = {k: resolved(v, lookup, seen) for k, v in schema.items() if k != "$ref"}
        return {**target, **siblings}
    return {key: resolved(value, lookup, seen) for key, value in schema.items()}
