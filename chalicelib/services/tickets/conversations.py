"""Agent-started conversations: a new ticket whose first message is ours (an SMS or an email
to a customer who has not written, or has no ticket yet).

The ticket is the starting agent's (assigned to them, `ticket.assigned` on the timeline and
`ticket.updated` in the audit, in the same write) unless the request names another active
agent as `assignee`, or `null` to leave it in the queue. The customer's answer joins it: by
SMS through `texted#<number>` (services/inbound/sms.py), by email through the Message-ID and
the signed reply address of our first mail (services/inbound/thread.py). No acknowledgement:
we spoke first. AWS calls: the create path of services/tickets/intake.py (the assignee, when
named, is one cached GetItem more)."""
from __future__ import annotations

from typing import Any

from chalicelib import config
from chalicelib.errors import ValidationFailed
from chalicelib.services.customers import contacts
from chalicelib.services.messaging import sms_text
from chalicelib.services.portal.webform import WebContact
from chalicelib.services.team import agents, audit, departments, scope
from chalicelib.services.tickets import intake, views
from chalicelib.services.tickets import store as ticket_store

FIELDS = ("name", "email", "phone", "subject", "body", "channel", "department", "lang")
OPTIONAL = ("assignee",)  # absent: the starting agent; null: nobody


def start(agent: agents.AgentView, body: dict[str, Any]) -> dict[str, Any]:
    errors = {k: "unknown field" for k in body if k not in (*FIELDS, *OPTIONAL)}
    values = {k: body.get(k) for k in FIELDS}
    assignee = body.get("assignee", agent.principal)
    if assignee is not None:
        try:  # an ARN, an id, a short name or "me" (team/agents.find_reference)
            assignee = agents.find_reference(assignee, agent)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            errors[name] = "must be text"
    if errors:
        raise ValidationFailed("Invalid conversation.", errors)
    text = (values["body"] or "").strip()
    email, phone = (values["email"] or "").strip(), (values["phone"] or "").strip()
    if not text:
        errors["body"] = "required"
    elif len(text) > ticket_store.MAX_BODY:
        errors["body"] = f"at most {ticket_store.MAX_BODY} characters"
    try:
        email = contacts.normalise_email(email) if email else ""
    except contacts.InvalidContact:
        errors["email"] = "not a valid email address"
    try:
        phone = contacts.normalise_phone(phone) if phone else ""
    except contacts.InvalidContact:
        errors["phone"] = "not a valid phone number"
    if not email and not phone and "email" not in errors and "phone" not in errors:
        errors["email"] = errors["phone"] = "email or phone is required"
    channel = values["channel"] or ("sms" if phone and not email else "email")
    if channel not in ("email", "sms"):
        errors["channel"] = "email or sms"
    elif not (email if channel == "email" else phone) and not {"email", "phone"} & set(errors):
        errors["email" if channel == "email" else "phone"] = f"required to start by {channel}"
    department = values["department"] or (
        "general" if scope.covers(agent, "general") else min(agent.departments, default="general"))
    if not departments.is_department(department):
        errors["department"] = departments.problem(department) or "unknown department"
    elif not scope.covers(agent, department):
        scope.check_starting(agent, department)
    lang = values["lang"] or "bn"
    if lang not in ("bn", "en"):
        errors["lang"] = "bn or en"
    limit = config.settings().sms_max_segments
    if channel == "sms" and text and sms_text.segments(text).count > limit:
        errors["body"] = f"{sms_text.segments(text).count} SMS segments; at most {limit}"
    if errors:
        raise ValidationFailed("Invalid conversation.", errors)
    subject = " ".join((values["subject"] or text).split())[:120]
    contact = WebContact(message=text, name=(values["name"] or "").strip()[:100], email=email,
                         phone=phone, subject=subject, department=department, lang=lang)

    def audited(tx, ticket_id: str) -> None:
        audit.add(tx, agent.principal, "ticket.started", f"ticket:{ticket_id}",
                  after={"channel": channel, "department": department, "email": email,
                         "phone": phone, "subject": subject, "assignee": assignee},
                  department=department)
        if assignee:  # as PATCH records an assignment
            audit.add(tx, agent.principal, "ticket.updated", f"ticket:{ticket_id}",
                      before={"assignee": None}, after={"assignee": assignee},
                      department=department)

    ticket = intake.create(contact, intake.Arrival(channel=channel, agent=agent.principal,
                                                   assignee=assignee, acknowledge=False,
                                                   extra_writes=audited))
    out = {"ticket": views.summary(ticket)}
    if channel == "sms":
        out["sms"] = sms_text.segments(text).to_dict()
    return out
