"""Issue 21: every request body is validated at the API layer with the schema the OpenAPI
document serves, before any service runs; hostile input answers 4xx, never 5xx."""
import pytest

from tests.integration.helpers import Api, new_ticket


@pytest.fixture
def api(stack):
    return Api(stack.client)


# ---- the server errors found by fuzzing the served document (each once a 500) ---------------

@pytest.mark.parametrize("change,field", [
    ({"department": {"name": "billing"}}, "department"),  # was: unhashable type: 'dict'
    ({"department": ["billing"]}, "department"),
    ({"assignee": ""}, "assignee"),  # was: DynamoDB refused an empty key
    ({"assignee": {"arn": "x"}}, "assignee"),
])
def test_patch_ticket_with_wrong_types_is_422(api, change, field):
    created = new_ticket(api)
    status, error = api.patch(f"/api/tickets/{created['id']}", change)
    assert status == 422 and set(error["error"]["fields"]) == {field}, error
    assert error["error"]["code"] == "validation_failed"


def test_routing_rule_department_as_a_list_is_422(api):
    rules = {"rules": [{"name": "bills", "when": {"keywords": ["bill"]},
                        "then": {"department": ["billing"]}}]}  # was a 500
    status, error = api.put("/api/routing", rules)
    assert status == 422 and "rules[0].then.department" in error["error"]["fields"], error
    rules["rules"][0]["then"] = {"department": "billing", "priority": ["high"]}
    status, error = api.put("/api/routing", rules)
    assert status == 422 and "rules[0].then.priority" in error["error"]["fields"], error


@pytest.mark.parametrize("calendar", ["", " ", "x" * 65, 7, ["24x7"]])
def test_sla_policy_with_an_impossible_calendar_is_422(api, calendar):
    status, error = api.put("/api/sla-policies/vip", {"first_response": "PT1H", "calendar": calendar})
    assert status == 422 and set(error["error"]["fields"]) == {"calendar"}, error  # "" was a 500


def test_sla_policy_naming_a_missing_calendar_is_422_from_the_service(api):
    status, error = api.put("/api/sla-policies/vip", {"first_response": "PT1H", "calendar": "mars"})
    assert status == 422 and error["error"]["fields"] == {"calendar": "no calendar named mars"}


# ---- each bad field named; schema first, then the rules only a service knows ----------------

def test_every_bad_field_is_named_with_its_path(api):
    created = new_ticket(api)
    status, error = api.patch(f"/api/tickets/{created['id']}",
                              {"status": "nope", "priority": 3, "colour": "red"})
    assert status == 422 and set(error["error"]["fields"]) == {"status", "priority", "colour"}
    status, error = api.put("/api/calendars/shop", {"hours": {"sun": [["09:00"]]}, "x": 1})
    assert status == 422 and set(error["error"]["fields"]) == {"hours.sun[0]", "x"}, error


def test_a_service_rule_still_answers_4xx(api):
    created = new_ticket(api)
    ghost = "arn:aws:iam::123456789012:user/ghost"
    status, error = api.patch(f"/api/tickets/{created['id']}", {"assignee": ghost})
    assert status == 422 and error["error"]["fields"] == {"assignee": "not an active agent"}


def test_malformed_and_non_object_bodies_stay_400(api):
    created = new_ticket(api)
    path = f"/api/tickets/{created['id']}"
    assert api.patch(path, raw="{oops")[0] == 400
    status, error = api.patch(path, raw="[1]")
    assert status == 400 and error["error"]["fields"] == {"body": "must be an object"}


# ---- every documented JSON body refuses an unknown field, so each one is validated -----------

def _json_body_operations():
    import app  # noqa: F401 - the route modules register their schemas
    from chalicelib.api import openapi

    document = openapi.build()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content and path != "/tickets":
                yield method.upper(), path


@pytest.mark.parametrize("method,path", sorted(_json_body_operations()))
def test_every_json_body_is_validated_before_the_service(api, method, path):
    concrete = (path.replace("{ticket_id}", "t_00000000000000000000000000")
                .replace("{customer_id}", "c_00000000000000000000000000")
                .replace("{agent_id}", "ag_" + "0" * 20).replace("{decision_id}", "d_0")
                .replace("{name}", "schema-test").replace("{department}", "general")
                .replace("{held_id}", "20260101T000000000Z.00000000"))
    status, error, _ = api.call(method, concrete, {"not_a_field_21": True})
    # 422 from the schema, before any service looked the (missing) resource up
    assert status == 422, (status, error)
    assert error["error"]["fields"].get("not_a_field_21") == "unknown field", error


# ---- path parameters are checked before they reach DynamoDB --------------------------------

def test_path_parameters_are_checked_first(api):
    assert api.get("/api/tickets/" + "9" * 65)[0] == 404
    status, error = api.get("/api/customers/c_not-an-id!")
    assert status == 404 and "customer_id" in error["error"]["fields"]
    status, error = api.get("/api/agents/ag_not-an-id")
    assert status == 400 and "agent_id" in error["error"]["fields"]
    status, error = api.put("/api/calendars/bad name!", {"hours": {"sun": [["09:00", "17:00"]]}})
    assert status == 400 and "name" in error["error"]["fields"]
    assert api.get("/api/sla-policies/" + "x" * 65)[0] == 400


def test_a_method_a_route_lacks_is_405_with_allow(api):
    status, error, headers = api.call("DELETE", "/api/routing", None)
    assert status == 405 and error["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in headers["Allow"].split(",")} == {"GET", "PUT"}
