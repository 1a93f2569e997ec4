"""Macros (versioned canned replies), preview, reply with a macro, and per-department
acknowledgement templates, against the emulated AWS."""
from __future__ import annotations

import pytest

from chalicelib.services.team import agents
from chalicelib.services.team import audit
from tests.integration.helpers import ADMIN, Api, events, new_ticket, timeline, write_in

AGENT = "arn:aws:iam::123456789012:user/agent-rina"
LEAD = "arn:aws:iam::123456789012:user/lead-karim"
STRANGER = "arn:aws:iam::123456789012:user/stranger"

DELAY = {
    "title": "Delivery delayed",
    "body": {"bn": "প্রিয় {{ customer.first_name }},\nআপনার অনুরোধ {{ ticket.ref | ref }} "
                   "আমরা দেখছি।\n{{ agent.name }}",
             "en": "Dear {{ customer.first_name }},\nwe are looking into {{ ticket.ref | ref }}.\n"
                   "{{ agent.name }}"},
    "subject": {"en": "About your order {{ ticket.ref | ref }}"},
    "channels": ["email", "sms"],
    "actions": {"status": "pending", "priority": "high"},
}


@pytest.fixture
def api(stack):
    agents.ensure_agent(AGENT, role="agent", display_name="Rina", departments={"general"})
    agents.ensure_agent(LEAD, role="lead", display_name="Karim")
    return Api(stack.client)


def delete(api: Api, path: str, principal: str | None = ADMIN):
    return api.as_principal(principal).call("DELETE", path, None, content_type=None)[:2]


def audited(action: str) -> list[dict]:
    entries, _ = audit.day(audit.today(), limit=200)
    return [e for e in entries if e["action"] == action]


# ---- macros: save, versions, read, archive --------------------------------------------------

def test_versions_are_kept_and_a_stale_version_is_409(api):
    status, first = api.put("/api/macros/delay", DELAY)
    assert status == 200, first
    assert first["version"] == 1 and first["title"] == "Delivery delayed"
    assert first["channels"] == ["email", "sms"] and first["actions"]["status"] == "pending"
    changed = {**DELAY, "title": "Delivery delayed (v2)", "version": 1}
    status, second = api.as_principal(LEAD).put("/api/macros/delay", changed)
    assert status == 200 and second["version"] == 2 and second["updated_by"] == LEAD
    status, error = api.put("/api/macros/delay", {**DELAY, "version": 1})
    assert status == 409 and error["error"]["fields"]["version"] == "current version is 2"

    status, current = api.as_principal(AGENT).get("/api/macros/delay")
    assert status == 200 and current["version"] == 2 and current["title"] == "Delivery delayed (v2)"
    status, old = api.as_principal(AGENT).get("/api/macros/delay?version=1")
    assert status == 200 and old["version"] == 1 and old["title"] == "Delivery delayed"
    assert old["current_version"] == 2
    assert api.get("/api/macros/delay?version=3")[0] == 404
    assert api.get("/api/macros/delay?version=0")[0] == 400
    assert api.get("/api/macros/delay?version=x")[0] == 400
    assert api.get("/api/macros/nothing")[0] == 404

    saves = audited("macro.saved")
    assert [e["after"]["version"] for e in saves] == [1, 2]
    assert saves[1]["before"]["version"] == 1 and saves[1]["target"] == "macro:delay"


def test_list_pages_by_name_and_hides_archived(api):
    for name in ("b-macro", "a-macro", "c-macro"):
        assert api.put(f"/api/macros/{name}", {"title": name, "body": {"en": "Hi"}})[0] == 200
    status, page = api.as_principal(AGENT).get("/api/macros?limit=2")
    assert status == 200 and [m["name"] for m in page["items"]] == ["a-macro", "b-macro"]
    status, rest = api.get(f"/api/macros?limit=2&cursor={page['next']}")
    assert [m["name"] for m in rest["items"]] == ["c-macro"] and rest["next"] is None
    status, archived = delete(api, "/api/macros/b-macro")
    assert status == 200 and archived["archived"] is True
    assert [m["name"] for m in api.get("/api/macros")[1]["items"]] == ["a-macro", "c-macro"]
    assert [m["name"] for m in api.get("/api/macros?archived=true")[1]["items"]] == [
        "a-macro", "b-macro", "c-macro"]
    assert api.get("/api/macros?archived=maybe")[0] == 400
    assert api.get("/api/macros?limit=0")[0] == 400
    assert api.get("/api/macros?cursor=bad cursor!")[0] == 400


def test_archive_is_soft_and_a_save_revives(api):
    assert api.put("/api/macros/delay", DELAY)[0] == 200
    assert delete(api, "/api/macros/delay", AGENT)[0] == 403
    assert delete(api, "/api/macros/delay", LEAD)[0] == 403
    assert delete(api, "/api/macros/delay", None)[0] == 401
    status, gone = delete(api, "/api/macros/delay")
    assert status == 200 and gone["archived"] and gone["version"] == 1
    assert api.get("/api/macros/delay")[0] == 404
    assert api.get("/api/macros/delay?version=1")[1]["archived"] is True  # history stays readable
    assert delete(api, "/api/macros/delay")[0] == 404
    assert delete(api, "/api/macros/never")[0] == 404
    assert delete(api, "/api/macros/bad name")[0] == 400
    assert [e["target"] for e in audited("macro.archived")] == ["macro:delay"]
    status, revived = api.put("/api/macros/delay", {**DELAY, "version": 1})
    assert status == 200 and revived["version"] == 2 and not revived["archived"]


def test_who_may_save(api):
    assert api.as_principal(None).put("/api/macros/x", DELAY)[0] == 401
    assert api.as_principal(None).get("/api/macros")[0] == 401
    assert api.as_principal(STRANGER).get("/api/macros")[0] == 403
    assert api.as_principal(AGENT).put("/api/macros/x", DELAY)[0] == 403
    assert api.as_principal(LEAD).put("/api/macros/x", DELAY)[0] == 200


@pytest.mark.parametrize("body,field", [
    ({**DELAY, "body": {"bn": "প্রিয় {{ customer.name }\n"}}, "body.bn"),
    ({**DELAY, "body": {"en": "ok\n{{ ''.__class__.__mro__ }}"}}, "body.en"),
    ({**DELAY, "body": {"en": "{{ tiket.ref }}"}}, "body.en"),
    ({**DELAY, "body": {"en": "{% for i in range(10**9) %}x{% endfor %}"}}, "body.en"),
    ({**DELAY, "body": {"en": "{{ 'x' * 10**9 }}"}}, "body.en"),
    ({**DELAY, "body": {"fr": "Bonjour"}}, "body.fr"),
    ({**DELAY, "body": {"en": "x" * 10_001}}, "body.en"),
    ({**DELAY, "body": "just text"}, "body"),
    ({**DELAY, "title": ""}, "title"),
    ({**DELAY, "channels": ["fax"]}, "channels[0]"),
    ({**DELAY, "actions": {"status": "new"}}, "actions.status"),
    ({**DELAY, "actions": {"assign": "me"}}, "actions.assign"),
    ({**DELAY, "version": "1"}, "version"),
    ({**DELAY, "subject": {"bn": "বিষয়"}, "body": {"en": "Hi"}}, "subject.bn"),
])
def test_invalid_macros_are_422_naming_the_field(api, body, field):
    status, error = api.put("/api/macros/delay", body)
    assert status == 422, error
    assert field in error["error"]["fields"], error
    assert api.get("/api/macros/delay")[0] == 404  # nothing was written


def test_syntax_error_names_its_line(api):
    status, error = api.put("/api/macros/delay", {**DELAY, "body": {"en": "a\nb\n{% if %}"}})
    assert status == 422 and error["error"]["fields"]["body.en"].startswith("line 3:")


def test_bad_requests_are_400_or_415(api):
    assert api.put("/api/macros/bad name!", DELAY)[0] == 400
    assert api.put("/api/macros/delay", {**DELAY, "colour": "red"})[0] == 422
    assert api.put("/api/macros/delay", [1])[0] == 400
    assert api.put("/api/macros/delay", raw="{oops")[0] == 400
    assert api.call("PUT", "/api/macros/delay", raw="x", content_type="text/plain")[0] == 415


# ---- preview ------------------------------------------------------------------------------

def _entries(api: Api, ticket_id: str) -> list[tuple]:
    return [(e["sk"], e.get("status")) for e in timeline(api, ticket_id)]


def test_preview_renders_for_the_ticket_and_writes_nothing(api, stack):
    created = new_ticket(api, name="Md. Rahim Uddin", phone="+8801711000002")
    assert api.put("/api/macros/delay", DELAY)[0] == 200
    stack.pump.drain()
    before, version = _entries(api, created["id"]), api.get(f"/api/tickets/{created['id']}")[1]["version"]
    audit_before = len(audited("macro.saved"))

    status, shown = api.as_principal(AGENT).post(f"/api/tickets/{created['id']}/preview",
                                                  {"macro": "delay"})
    assert status == 200, shown
    bn_ref = "#" + created["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    assert shown["lang"] == "bn" and shown["channel"] == "email"
    assert shown["body"] == f"প্রিয় Rahim,\nআপনার অনুরোধ {bn_ref} আমরা দেখছি।\nRina"
    assert shown["subject"].startswith("উত্তর: ") and shown["macro"] == {
        "name": "delay", "version": 1, "actions": DELAY["actions"]}

    status, en = api.post(f"/api/tickets/{created['id']}/preview",
                          {"macro": "delay", "lang": "en", "channel": "sms"})
    assert status == 200 and en["body"].startswith("Dear Rahim,") and "subject" not in en
    assert en["sms"]["encoding"] == "GSM-7" and en["sms"]["segments"] == 1 and en["sms"]["units"] > 0

    status, inline = api.post(f"/api/tickets/{created['id']}/preview", {
        "template": "{{ ticket.subject }} / {{ ticket.department }} / {{ links[0].url }}",
        "subject": "Re {{ ticket.ref }}", "lang": "en"})
    assert status == 200 and inline["body"].startswith("Order late / General / ")
    assert inline["subject"] == f"Re {created['ref']}"

    stack.pump.drain()
    assert _entries(api, created["id"]) == before
    assert api.get(f"/api/tickets/{created['id']}")[1]["version"] == version
    assert len(audited("macro.saved")) == audit_before


def test_preview_errors(api):
    created = new_ticket(api)
    assert api.put("/api/macros/delay", {**DELAY, "channels": ["email"]})[0] == 200
    path = f"/api/tickets/{created['id']}/preview"
    assert api.as_principal(None).post(path, {"macro": "delay"})[0] == 401
    assert api.as_principal(STRANGER).post(path, {"macro": "delay"})[0] == 403
    assert api.post(path, {})[0] == 400
    assert api.post(path, {"macro": "delay", "template": "x"})[0] == 400
    assert api.post(path, {"macro": "delay", "colour": "red"})[0] == 422
    assert api.post(path, {"template": "x", "version": 1})[0] == 400
    assert api.post(path, raw="[1]")[0] == 400
    assert api.post(path, {"macro": "nothing"})[0] == 404
    assert api.post(path, {"macro": "delay", "version": 7})[0] == 404
    assert api.post("/api/tickets/t_missing/preview", {"macro": "delay"})[0] == 404
    status, error = api.post(path, {"macro": "delay", "channel": "sms"})
    assert status == 422 and "macro" in error["error"]["fields"]
    assert api.post(path, {"macro": "delay", "lang": "fr"})[0] == 422
    status, error = api.post(path, {"template": "{{ ''.__class__ }}"})
    assert status == 422 and error["error"]["fields"]["template"].startswith("line 1:")
    status, error = api.post(path, {"template": "{{ 'x' * 10**9 }}"})
    assert status == 422
    assert api.call("POST", path, raw="x", content_type="text/plain")[0] == 415


# ---- reply with a macro -------------------------------------------------------------------

def test_reply_with_a_macro_sends_it_and_applies_its_actions(api, stack):
    created = new_ticket(api, name="Rahim Uddin", lang="en")
    assert api.put("/api/macros/delay", DELAY)[0] == 200
    assert api.put("/api/macros/delay", {**DELAY, "body": {"en": "Version two, {{ customer.name }}."},
                                         "subject": None, "actions": {}})[0] == 200
    stack.pump.drain()
    status, sent = api.as_principal(AGENT).post(f"/api/tickets/{created['id']}/replies",
                                                {"macro": "delay", "macro_version": 1})
    assert status == 201, sent
    assert sent["macro"]["name"] == "delay" and sent["macro"]["version"] == 1
    assert sent["ticket"]["status"] == "pending" and sent["ticket"]["priority"] == "high"
    stack.pump.drain()
    entries = timeline(api, created["id"])
    reply = [e for e in entries if e.get("kind") == "reply"][0]
    assert reply["macro"] == {"name": "delay", "version": 1}
    assert reply["body"] == f"Dear Rahim,\nwe are looking into #{created['ref']}.\nRina"
    assert reply["subject"] == f"About your order #{created['ref']}"
    assert reply["status"] == "sent"
    names = events(api, created["id"])
    assert "ticket.priority_changed" in names and "sla.met" in names
    statuses = [e["data"]["to"] for e in entries if e.get("type") == "ticket.status_changed"]
    assert statuses == ["open", "pending"]

    status, second = api.post(f"/api/tickets/{created['id']}/replies", {"macro": "delay"})
    assert status == 201 and second["macro"]["version"] == 2
    assert [e["body"] for e in timeline(api, created["id"]) if e.get("kind") == "reply"][-1] == \
        "Version two, Rahim Uddin."


def test_reply_with_a_macro_errors(api):
    created = new_ticket(api)
    assert api.put("/api/macros/mail-only", {**DELAY, "channels": ["email"]})[0] == 200
    path = f"/api/tickets/{created['id']}/replies"
    assert api.post(path, {"macro": "mail-only", "body": "x"})[0] == 422
    assert api.post(path, {"macro_version": 1, "body": "x"})[0] == 400
    assert api.post(path, {"version": 1, "body": "x"})[0] == 422  # unknown: not the ticket's
    assert api.post(path, {"macro": "nothing"})[0] == 404
    assert api.post(path, {"macro": "mail-only", "macro_version": 9})[0] == 404
    status, error = api.post(path, {"macro": "mail-only", "macro_version": "1"})
    assert status == 422 and "macro_version" in error["error"]["fields"]
    status, error = api.post(path, {"macro": "mail-only", "channel": "sms"})
    assert status == 422
    assert not [e for e in timeline(api, created["id"]) if e.get("kind") == "reply"]


# ---- acknowledgement templates per department ---------------------------------------------

ACK = {
    "email": {
        "bn": {"subject": "[{{ ticket.ref | ref }}] বিক্রয় বিভাগ আপনার বার্তা পেয়েছে",
               "body": "প্রিয় {{ customer.first_name or 'গ্রাহক' }},\nআপনার অনুরোধ {{ ticket.ref | ref }} "
                       "পেয়েছি।\n{% for link in links %}{{ link.label }}: {{ link.url }}\n{% endfor %}"},
        "en": {"subject": "[{{ ticket.ref | ref }}] Sales got your message",
               "body": "Dear {{ customer.first_name }},\nwe got {{ ticket.ref | ref }}: "
                       "{{ message | truncate(40) }}\n{% for link in links %}{{ link.label }}: "
                       "{{ link.url }}\n{% endfor %}",
               "html": "<p>Dear {{ customer.first_name }}, we got <b>{{ ticket.ref }}</b>.</p>"},
    },
    "sms": {"bn": "{{ business }}: অনুরোধ {{ ticket.ref | ref }} পেয়েছি।",
            "en": "{{ business }}: we got {{ ticket.ref | ref }}."},
    "links": [{"label": {"bn": "মূল্য তালিকা ২০২৬", "en": "Price list 2026"},
               "url": "https://shop.example.com/prices"}],
}


def test_ack_template_is_used_for_its_department(api, stack):
    status, saved = api.put("/api/ack-templates/sales", ACK)
    assert status == 200 and saved["version"] == 1 and saved["department"] == "sales"
    status, read = api.as_principal(AGENT).get("/api/ack-templates/sales")
    assert status == 200 and read["links"] == ACK["links"]

    for address in ("rahim@example.com", "k@example.com", "+8801711000003"):
        write_in(stack, address)  # proven: their acknowledgements may repeat what they typed
    created = new_ticket(api, department="sales", name="Md. Karim", message="Where is my <order>?")
    other = new_ticket(api, department="billing", email="b@example.com")
    stack.pump.drain()
    ack = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"][0]
    bn_ref = "#" + created["ref"].translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    assert ack["subject"] == f"[{bn_ref}] বিক্রয় বিভাগ আপনার বার্তা পেয়েছে"
    assert ack["body"].startswith(f"প্রিয় Karim,\nআপনার অনুরোধ {bn_ref} পেয়েছি।\n"
                                  "মূল্য তালিকা ২০২৬: https://shop.example.com/prices")
    assert ack["status"] == "sent"
    assert "ack.template_failed" not in events(api, created["id"])
    builtin = [e for e in timeline(api, other["id"]) if e.get("kind") == "ack"][0]
    assert builtin["subject"].startswith("[#") and "বিক্রয় বিভাগ" not in builtin["subject"]

    english = new_ticket(api, department="sales", lang="en", name="Karim", email="k@example.com",
                         message="Where is my <order>?")
    sms = new_ticket(api, department="sales", lang="en", email="", phone="+8801711000003")
    stack.pump.drain()
    ack = [e for e in timeline(api, english["id"]) if e.get("kind") == "ack"][0]
    assert ack["body"].startswith(f"Dear Karim,\nwe got #{english['ref']}: Where is my <order>?\n"
                                  "Price list 2026: https://shop.example.com/prices")
    sms_ack = [e for e in timeline(api, sms["id"]) if e.get("kind") == "ack"][0]
    assert sms_ack["channel"] == "sms" and sms_ack["body"].endswith(f": we got #{sms['ref']}.")
    assert sms_ack["segments"] == 1


def test_ack_template_in_html_is_escaped(api, stack):
    from chalicelib.db.models import TimelineItem

    assert api.put("/api/ack-templates/sales", ACK)[0] == 200
    write_in(stack, "rahim@example.com")
    created = new_ticket(api, department="sales", lang="en", name="<script>x</script> Karim")
    ack = [i for i in TimelineItem.query(created["id"]) if i.kind == "ack"][0]
    assert "<b>" + created["ref"] + "</b>" in ack.html
    assert "&lt;script&gt;" in ack.html and "<script>" not in ack.html


def test_a_broken_ack_template_falls_back_to_the_built_in_one(api, stack):
    from chalicelib.db.models import Setting

    # written past the API's checks: renders fine on a sample, fails on this ticket
    broken = {**ACK, "email": {"bn": {"subject": "{{ 1 // (ticket.ref | int - ticket.ref | int) }}",
                                      "body": "x"}}}
    Setting("ack-template", "sales", data={"department": "sales", "version": 1, **broken}).save()
    created = new_ticket(api, department="sales")
    stack.pump.drain()
    ack = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"][0]
    assert ack["status"] == "sent" and ack["subject"].startswith("[#")  # the built-in subject
    failed = [e for e in timeline(api, created["id"]) if e.get("type") == "ack.template_failed"]
    assert len(failed) == 1 and "ZeroDivisionError" in failed[0]["data"]["error"]
    assert failed[0]["data"]["used"] == "built-in" and failed[0]["data"]["lang"] == "bn"


def test_ack_template_validation_locking_and_removal(api, stack):
    assert api.as_principal(None).put("/api/ack-templates/sales", ACK)[0] == 401
    assert api.as_principal(AGENT).put("/api/ack-templates/sales", ACK)[0] == 403
    assert api.as_principal(LEAD).put("/api/ack-templates/sales", ACK)[0] == 403
    assert api.put("/api/ack-templates/mars", ACK)[0] == 404
    assert api.get("/api/ack-templates/mars")[0] == 404
    assert api.get("/api/ack-templates/sales")[0] == 404  # none yet: the built-in one is used
    assert api.put("/api/ack-templates/bad name", ACK)[0] == 400
    assert api.put("/api/ack-templates/sales", {**ACK, "colour": "red"})[0] == 422
    assert api.put("/api/ack-templates/sales", raw="{oops")[0] == 400
    for bad, field in (({**ACK, "links": [{"label": {"en": "x"}, "url": "http://shop.example.com"}]}, "links[0].url"),
                       ({**ACK, "links": [{"label": {"en": "x"}, "url": "javascript:alert(1)"}]}, "links[0].url"),
                       ({**ACK, "links": [{"label": {"fr": "x"}, "url": "https://a.example"}]}, "links[0].label.fr"),
                       ({**ACK, "email": {"en": {"subject": "x"}}}, "email.en"),
                       ({**ACK, "email": {"en": {"subject": "x", "body": "{{ ticket.__class__ }}"}}}, "email.en.body"),
                       ({**ACK, "sms": {"bn": "{% for %}"}}, "sms.bn"),
                       ({**ACK, "sms": {"bn": "অনেক লম্বা " * 80}}, "sms.bn"),
                       ({"links": []}, "email")):
        status, error = api.put("/api/ack-templates/sales", bad)
        assert status == 422 and field in error["error"]["fields"], (field, error)
    assert api.get("/api/ack-templates/sales")[0] == 404

    assert api.put("/api/ack-templates/sales", {**ACK, "version": 0})[0] == 200
    assert api.put("/api/ack-templates/sales", {**ACK, "version": 0})[0] == 409
    status, second = api.put("/api/ack-templates/sales", {**ACK, "version": 1})
    assert status == 200 and second["version"] == 2
    assert [e["target"] for e in audited("ack_template.saved")] == ["ack-template:sales"] * 2

    assert delete(api, "/api/ack-templates/sales", AGENT)[0] == 403
    assert delete(api, "/api/ack-templates/sales")[0] == 200
    assert delete(api, "/api/ack-templates/sales")[0] == 404
    assert delete(api, "/api/ack-templates/mars")[0] == 404
    assert audited("ack_template.removed")[0]["before"]["version"] == 2
    created = new_ticket(api, department="sales")
    ack = [e for e in timeline(api, created["id"]) if e.get("kind") == "ack"][0]
    assert "বিক্রয় বিভাগ" not in ack["subject"]  # the built-in acknowledgement again


def test_openapi_documents_the_routes(api):
    status, document = api.get("/api/openapi.json")
    assert status == 200
    for path in ("/api/macros", "/api/macros/{name}", "/api/tickets/{ticket_id}/preview",
                 "/api/ack-templates/{department}"):
        assert path in document["paths"]
    assert {"put", "get", "delete"} <= set(document["paths"]["/api/macros/{name}"])
    assert "macro" in document["components"]["schemas"]["Reply"]["properties"]
