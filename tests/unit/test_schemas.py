"""Issue 21: one schema per payload (chalicelib/api/schemas.py), the document built from it, and
services that answer 4xx, never raise, on a value of the wrong type."""
from __future__ import annotations

import pytest
import yaml

from chalicelib.errors import ValidationFailed


@pytest.fixture(scope="module")
def document():
    import app  # noqa: F401 - the route modules register their schemas
    from chalicelib.api import openapi

    return openapi.build()


def _request_schemas(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            schema = ((operation.get("requestBody") or {}).get("content", {})
                      .get("application/json", {}).get("schema"))
            if schema is not None:
                yield f"{method.upper()} {path}", schema


def test_every_request_body_is_a_registered_schema(document):
    from chalicelib.api.schemas import every_definition

    registered = every_definition()
    bodies = dict(_request_schemas(document))
    assert len(bodies) >= 20
    for operation, schema in bodies.items():
        name = schema["$ref"].rsplit("/", 1)[-1]
        assert name in registered, operation
        # the document serves the very dict the validator compiles: no second copy
        assert document["components"]["schemas"][name] is registered[name]


def _free_form(schema, where="body"):
    """Objects that take any keys: neither additionalProperties false nor a schema for them."""
    if isinstance(schema, dict):
        is_object = schema.get("type") == "object" or "object" in (schema.get("type") or [])
        if is_object and "additionalProperties" not in schema and "properties" in schema:
            yield where
        if is_object and "properties" not in schema and "additionalProperties" not in schema:
            yield where
        for key, value in schema.get("properties", {}).items():
            yield from _free_form(value, f"{where}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from _free_form(schema[key], f"{where}[]")


def test_no_request_body_takes_free_form_objects(document):
    from chalicelib.api.schemas import resolved

    found = {}
    for operation, schema in _request_schemas(document):
        loose = list(_free_form(resolved(schema)))
        if loose:
            found[operation] = loose
    assert found == {}


def test_path_parameters_are_documented_from_the_checked_table(document):
    from chalicelib.api.http import PATH_PARAMETERS

    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                    rule = PATH_PARAMETERS[parameter["name"]]
                    assert parameter["schema"]["pattern"] == rule["pattern"], path
                    assert parameter["schema"]["maxLength"] == rule["maxLength"], path


def test_validators_are_compiled_on_first_use_only():
    import subprocess
    import sys

    code = ("import app, sys\n"
            "print('fastjsonschema' in sys.modules, 'chalicelib.services.authoring.sandbox' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"SETU_STAGE": "dev", "AWS_DEFAULT_REGION": "us-east-1",
                              "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "False"]


# ---- services: a wrong type is a 422, never a TypeError (the 500s of issue 21) ---------------

def test_ticket_update_refuses_wrong_types_before_any_lookup():
    from chalicelib.services.tickets import work

    for change, field in (({"department": {"a": 1}}, "department"), ({"department": ["sales"]}, "department"),
                          ({"assignee": ""}, "assignee"), ({"assignee": ["x"]}, "assignee")):
        with pytest.raises(ValidationFailed) as raised:
            work.update("t_x", None, change)
        assert field in raised.value.fields


def test_routing_refuses_unhashable_values():
    from chalicelib.services.team import routing

    with pytest.raises(ValidationFailed) as raised:
        routing.validate({"rules": [{"name": "a", "then": {"department": ["billing"],
                                                           "priority": {"x": 1}}}],
                          "assignment": {"sales": ["round_robin"]}})
    assert {"rules[0].then.department", "rules[0].then.priority", "assignment.sales"} \
        <= set(raised.value.fields)


def test_a_recipient_that_is_only_a_plus_tag_is_refused():
    # found at 200 examples: "+x@shop.test" was stored as "@shop.test", not an address
    from chalicelib.services.team import routing

    with pytest.raises(ValidationFailed) as raised:
        routing.validate({"rules": [{"name": "a", "when": {"recipient": ["+x@shop.test"]},
                                     "then": {"department": "sales"}}]})
    assert set(raised.value.fields) == {"rules[0].when.recipient[0]"}


@pytest.mark.parametrize("name", ["", " ", "x" * 65, None, ["24x7"], "a/b"])
def test_a_calendar_name_no_calendar_can_have_is_not_looked_up(name):
    from chalicelib.services.sla import store

    assert store.find_calendar(name) is None  # no DynamoDB call: an empty key was a 500


# ---- 405 where API Gateway routes: every resource gets ANY (infra/package.py) ----------------

def test_packaging_adds_any_to_every_resource(tmp_path):
    from infra import package

    integration = {"type": "aws_proxy", "httpMethod": "POST", "uri": "arn"}
    template = {"Resources": {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {
        "DefinitionBody": {"paths": {
            "/api/x": {"get": {"security": [{"sigv4": []}], "responses": {},
                               "x-amazon-apigateway-integration": integration}},
            "/health": {"get": {"responses": {}, "x-amazon-apigateway-integration": integration}},
        }}}}}}
    path = tmp_path / "sam.yaml"
    path.write_text(yaml.safe_dump(template))
    assert package.add_any_methods(path) == 2
    paths = yaml.safe_load(path.read_text())["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert paths["/api/x"][package.ANY_METHOD]["security"] == [{"sigv4": []}]
    assert "security" not in paths["/health"][package.ANY_METHOD]
    assert paths["/health"][package.ANY_METHOD]["x-amazon-apigateway-integration"] == integration
    response = yaml.safe_load(path.read_text())["Resources"]["RestAPIMissingTokenResponse"]
    assert response["Properties"]["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"
    assert '"code": "forbidden"' in response["Properties"]["ResponseTemplates"]["application/json"]
    response = yaml.safe_load(path.read_text())["Resources"]["RestAPIUnauthorizedResponse"]
    assert response["Properties"]["ResponseType"] == "UNAUTHORIZED"
    assert response["Properties"]["StatusCode"] == "401"
    assert '"code": "unauthenticated"' in response["Properties"]["ResponseTemplates"]["application/json"]
    assert package.add_any_methods(path) == 0  # idempotent
