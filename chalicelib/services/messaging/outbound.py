"""Composing outbound messages. Composing is separate from sending: a composed message is
written to the timeline with status `queued` in the same transaction as the change that caused
it, and services/messaging/dispatch.py sends it from the timeline stream (a transactional outbox)."""
from __future__ import annotations

from typing import Any

from chalicelib import clock, config, ids
from chalicelib.db.models import Ticket
from chalicelib.services.messaging import links as page_links
from chalicelib.services.messaging import reply_address, sms_text, templates
from chalicelib.services.team import departments


def email_message_id(message_uid: str) -> str:
    domain = config.settings().support_address.rpartition("@")[2] or "setu.local"
    return f"<{message_uid}@{domain}>"


def acknowledgement(ticket: Ticket, *, channel: str, recipient: str, name: str, message: str,
                    links: list[dict[str, str]], in_reply_to: str | None = None,
                    text: dict[str, Any] | None = None, echo: bool = True) -> dict[str, Any]:
    """Timeline fields of the auto-acknowledgement for a new ticket, on `channel`: the one
    place an acknowledgement is composed. `text`: the department's own text fields
    (services/authoring/macros.custom_ack), used instead of the built-in templates, which are
    then not rendered at all. `echo` False (the recipient has not written to us from that
    address): nothing the sender typed is repeated (no name, subject or message), so the
    acknowledgement cannot carry a stranger's text to someone else (docs/security.md)."""
    lang = ticket.lang
    if not echo:
        name, message = "", ""
    due = ticket.sla.as_dict().get("first_response_due")
    context = {
        "business": config.settings().support_name,
        "name": name,
        "ref": ticket.ref,
        "subject": ticket.subject if echo else "",
        "department": departments.display_name(ticket.department, lang),
        "due_at": clock.parse_iso(due) if due else None,
        "message": message,
        "links": links,
        # the customer's page for this ticket (services/messaging/links.py): status, conversation, reply;
        # None (left out) without an absolute SETU_PUBLIC_URL
        "status_url": page_links.status_url(ticket.id, ticket.ref),
        "unsubscribe_url": None,
    }
    uid = ids.new_id("m")
    common = {"message_uid": uid, "direction": "out", "kind": "ack", "status": "queued",
              "lang": lang, "channel": channel, "recipient": recipient}
    if channel == "email":
        if text is None:
            context["unsubscribe_url"] = page_links.unsubscribe_url(recipient, lang)
            subject, body, html = templates.render_email("ack", lang, **context)
            text = {"subject": subject, "body": body, "html": html}
        fields = {**common, **text,
                  "message_id": email_message_id(uid),
                  "reply_to": reply_address.address(ticket.ref),
                  "from_address": departments.sender_address(ticket.department)}
        if in_reply_to:  # the ack answers the customer's mail: their client threads it
            fields.update(in_reply_to=in_reply_to, references=[in_reply_to])
        return fields
    if text is not None:
        return {**common, **text}
    body = templates.render(f"sms/ack.{lang}.txt", **context).strip()
    if sms_text.segments(body).count > SMS_LINK_MAX_SEGMENTS:  # the link only if short enough
        body = templates.render(f"sms/ack.{lang}.txt", **{**context, "status_url": None}).strip()
    return {**common, "body": body, **sms_fields(body)}


# An SMS acknowledgement carries the status link only while the whole text stays within this
# many segments (Bengali is UCS-2: 67 characters per part), so the link never costs more.
SMS_LINK_MAX_SEGMENTS = 3


def sms_fields(text: str) -> dict[str, Any]:
    return {"segments": sms_text.segments(text).count}


def reply(ticket: Ticket, *, channel: str, recipient: str, body: str, author: str,
          references: list[str] | None = None, uid: str | None = None) -> dict[str, Any]:
    """Timeline fields of an agent's reply."""
    uid = uid or ids.new_id("m")
    fields: dict[str, Any] = {"message_uid": uid, "direction": "out", "kind": "reply",
                              "status": "queued", "channel": channel, "recipient": recipient,
                              "body": body, "sender": author, "lang": ticket.lang}
    if channel == "email":
        prefix = "Re: " if ticket.lang == "en" else "উত্তর: "
        fields["subject"] = f"{prefix}[{templates.ref_for(ticket.ref, ticket.lang)}] {ticket.subject}"
        fields["message_id"] = email_message_id(uid)
        fields["reply_to"] = reply_address.address(ticket.ref)
        fields["from_address"] = departments.sender_address(ticket.department)
        # multipart: the agent's text as typed, and the same text as HTML (autoescaped)
        fields["html"] = templates.render("email/reply.html.j2", lang=ticket.lang, body=body,
                                          subject=fields["subject"], ref=ticket.ref,
                                          business=config.settings().support_name)
        if references:
            fields["in_reply_to"] = references[-1]
            fields["references"] = references[-20:]
    else:
        fields.update(sms_fields(body))
    return fields

