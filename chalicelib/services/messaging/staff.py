"""Staff mail: the one place that tells agents, leads and admins about their work. Kinds
(services/team/notifications.py KINDS): `assigned` (a ticket assigned to you), `customer_replied`
(the customer wrote on your ticket, also when that reopened a pending or resolved one),
`callback_due`, `sla_warning` (on your ticket), `decision_requested` (asked of you, reminders and
overdue included), `decision_decided` (the decision you asked for), `escalation`.

Each mail is in the recipient's `lang` (bn with Bengali digits, else en), its times in the
business time zone with the zone named ("৭ ডিসেম্বর ২০২৬, ১১:১৯ (ঢাকা)", "7 Dec 2026, 11:19
(Dhaka time)"), and says the ticket ref, subject, customer, channel, department, priority, the
SLA due time and how to open the ticket: `staff_link` (the console's `/tickets/<ref>` once
SETU_CONSOLE_URL is set) or, until then, the status in plain words and the `setu tickets --q
<ref>` command. Never an `/api/...` link. Templates: chalicelib/templates/email/staff.*.

Design (exactly once, one place to queue, one trigger):
- `notify` composes the mail as a queued message on the ticket's timeline (kind
  `MESSAGE_KINDS[kind]`), returned to the caller, who writes it in the same transaction as the
  event itself: a redelivered event that is not written again composes nothing again. Nobody is
  told of what they did themselves (`actor`), nor of a kind they switched off, nor of a ticket
  outside their departments (team/scope.py: an agent assigned across departments, or whose
  ticket moved away, gets no customer's name or words by mail).
- The outbox (dispatch.py) claims it once, as every message, then asks `hold`: in the agent's
  quiet hours, or past `digest_after` mails in the current window (SETU_STAFF_DIGEST_MINUTES,
  default 15), the mail is not sent but recorded (status `digest`) in the window's digest item
  in the keys table (`staff-digest / <window end>#<agent id>`, TTL 2 days). Quiet hours have
  their own item, ending when they end.
- `send_digests` (the scheduled tick of events/schedule.py, every 5 minutes: no new function
  or timer) sends each ended window's held entries as one mail, grouped by ticket; a
  conditional claim on the item makes a digest go once. A digest SES refuses is logged and not
  tried again: its single mails stay on the tickets' timelines (status `digest`).

AWS calls: `notify` one GetItem for the agent (cached per container, services/team/agents.py)
and, without a `customer_name` from the caller, one GetItem for the customer; nothing at all
when the ticket has no one to tell (the customer-facing paths of an unassigned ticket cost
what they did). Sending: the outbox's calls plus `hold`'s one UpdateItem (keys).
`send_digests` one Query, then per digest one UpdateItem (the claim), one GetItem of the agent
(cached), one BatchGetItem (the tickets' status) and one SendRawEmail.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from chalicelib import clock, config, ids
from chalicelib.db import keys, timeline
from chalicelib.db.models import Customer, StaffDigest, Ticket, TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.services.messaging import outbound, templates
from chalicelib.services.team import agents, departments, identities, notifications, scope

log = logging.getLogger("setu.staff")

KINDS = notifications.KINDS
MESSAGE_KINDS = {"assigned": "staff_assigned", "customer_replied": "staff_replied",
                 "callback_due": "staff_callback", "sla_warning": "staff_sla_warning",
                 "decision_requested": "decision_request", "decision_decided": "staff_decision",
                 "escalation": "escalation"}
STAFF_MESSAGE_KINDS = frozenset(MESSAGE_KINDS.values())
DEFAULT_WINDOW_MINUTES = 15
DIGEST_TTL = timedelta(days=2)
DIGEST_LOOKBACK = timedelta(days=1)  # windows ended longer ago than this are not sent any more
EXCERPT_CHARS = 300
MAX_ENTRIES = 300  # per window and agent: beyond, the digest counts them ("and N more")
# an entry's customer-written parts, in UTF-8 bytes (a 200-character name or subject is up to
# 800): MAX_ENTRIES of the largest entries (~580 bytes) take under half the item's 400 KB, the
# margin an update that replaces the list needs on the local emulator (moto counts the list
# being replaced and its replacement together)
ENTRY_SUBJECT_BYTES, ENTRY_LINE_BYTES = 120, 300
SLA_TARGETS = ("first_response", "next_reply", "resolution")


# ---- what the mail says -------------------------------------------------------------------------

def staff_link(ref: str) -> str | None:
    """The link people open a ticket with: `<SETU_CONSOLE_URL>/tickets/<ref>`, or None while no
    console URL is set (the mail then names the `setu` command instead)."""
    console = config.settings().console_url
    if not console.startswith(("https://", "http://")):
        return None
    return f"{console}/tickets/{ref}"


def open_command(ref: str) -> str:
    """The command that shows the ticket: `setu tickets --q <ref>` (the admin command line)."""
    return f"setu tickets --q {ref}"


def when(value: datetime | str | None, lang: str) -> str | None:
    """A time as staff read it: business time zone, the zone named, Bengali digits in bn."""
    if value is None or value == "":
        return None
    instant = clock.parse_iso(value) if isinstance(value, str) else value
    local = instant.astimezone(clock.business_zone())
    if lang == "bn":
        return templates.bn_digits(f"{local.day} {templates.BN_MONTHS[local.month - 1]} "
                                   f"{local.year}, {local:%H:%M}") + f" ({templates.zone_name('bn')})"
    return f"{local.day} {local:%b} {local.year}, {local:%H:%M} ({templates.zone_name('en')})"


def sla_due(ticket: Ticket) -> str | None:
    """The earliest armed SLA target's due time (ISO), if any runs."""
    timers = as_dict(ticket.timers)
    dues = [as_dict(timers.get(t)).get("due_at") for t in SLA_TARGETS
            if as_dict(timers.get(t)).get("state") == "armed"]
    dues = [d for d in dues if d]
    return min(dues) if dues else None


def facts(ticket: Ticket, kind: str, lang: str, *, recipient: str, customer_name: str | None,
          actor_name: str | None = None, **extra: Any) -> dict[str, Any]:
    """Everything a staff template reads (every key present: templates are strict)."""
    n = {"kind": kind, "recipient": recipient, "ref": ticket.ref, "subject": ticket.subject,
         "customer": customer_name, "channel": ticket.channel,
         "department": departments.display_name(ticket.department, lang),
         "priority": ticket.priority, "status": ticket.status,
         "sla_due": when(sla_due(ticket), lang), "link": staff_link(ticket.ref),
         "command": open_command(ticket.ref), "actor": actor_name,
         "question": None, "decision_due": None, "reminder": False, "overdue": False,
         "outcome": None, "comment": None, "note": None, "callback_at": None,
         "reopened": False, "from_status": None, "excerpt": None, "target": None,
         "target_due": None, "level": None}
    for key, value in extra.items():
        if key not in n:
            raise TypeError(f"unknown staff mail fact {key!r}")
        n[key] = value
    for key in ("decision_due", "callback_at", "target_due"):
        if isinstance(n[key], (str, datetime)) and n[key]:
            n[key] = when(n[key], lang)
    if n["excerpt"]:
        text = " ".join(str(n["excerpt"]).split())
        n["excerpt"] = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"
    return n


def render(n: dict[str, Any], lang: str) -> tuple[str, str, str, str]:
    """(subject, text, html, headline) of one staff mail in `lang`."""
    lang = lang if lang in ("bn", "en") else "en"
    subject, text, html = templates.render_email("staff", lang, n=n)
    labels = templates.environment().get_template(f"email/staff.{lang}.labels.j2")
    headline = str(labels.module.headline(n)).strip()
    return subject, text, html, headline


# ---- who is told, and the message on the timeline -------------------------------------------

def notify(ticket: Ticket, kind: str, to: str | None, *, now: datetime, actor: str | None = None,
           actor_name: str | None = None, customer_name: str | None = None,
           **extra: Any) -> list[TimelineItem]:
    """The staff mail of `kind` for the agent `to`, as a queued timeline message to write with
    the event ([] when there is nobody to tell: no agent, the actor, inactive, no address, the
    kind switched off). `actor_name`: how the mail names the actor (else looked up, cached)."""
    if kind not in KINDS:
        raise ValueError(f"no staff mail kind {kind!r}")
    if not to or to == actor:
        return []
    agent = agents.recipient(to)
    if agent is None or not agent.email or kind not in agent.notifications["kinds"]:
        return []
    if not scope.covers(agent, ticket.department):
        # an agent assigned a ticket outside their departments, or one moved away from them:
        # the mail would carry a customer's name and words they may not read (team/scope.py)
        log.info("staff mail withheld: out of scope", extra={"ticket": ticket.id, "kind": kind})
        return []
    if customer_name is None:
        customer_name = _customer_name(ticket)
    if actor and actor != "system" and actor_name is None:
        found = agents.recipient(actor)
        actor_name = found.display_name if found else identities.plain_name(actor)
    n = facts(ticket, kind, agent.lang, recipient=agent.display_name,
              customer_name=customer_name or None, actor_name=actor_name, **extra)
    subject, text, html, headline = render(n, agent.lang)
    uid = ids.new_id("m")
    prefs = agent.notifications
    return [timeline.message(
        ticket.id, now, message_uid=uid, direction="out", kind=MESSAGE_KINDS[kind],
        status="queued", channel="email", recipient=agent.email, subject=subject, body=text,
        html=html, message_id=outbound.email_message_id(uid), lang=agent.lang, sender="system",
        data={"staff": kind, "agent": to, "ref": ticket.ref, "subject": ticket.subject,
              "line": headline,
              "quiet_hours": prefs["quiet_hours"], "digest_after": prefs["digest_after"]})]


def notify_many(ticket: Ticket, kind: str, recipients: list[str], *, now: datetime,
                actor: str | None = None, **extra: Any) -> list[TimelineItem]:
    """`notify` for each of several agents (the customer's name is read once)."""
    items: list[TimelineItem] = []
    name = extra.pop("customer_name", None)
    for principal in dict.fromkeys(recipients):
        if principal == actor or agents.recipient(principal) is None:
            continue
        if name is None:
            name = _customer_name(ticket)
        items += notify(ticket, kind, principal, now=now, actor=actor, customer_name=name, **extra)
    return items


def _customer_name(ticket: Ticket) -> str:
    try:
        customer = Customer.get(ticket.customer_id)
    except Customer.DoesNotExist:
        return ""
    return customer.name or ""


# ---- quiet hours and digests ----------------------------------------------------------------

def window_minutes() -> int:
    return config.env_int("SETU_STAFF_DIGEST_MINUTES", DEFAULT_WINDOW_MINUTES, minimum=1)


def window_end(now: datetime) -> datetime:
    """The end of the window `now` falls in (windows start on the hour, in whole minutes)."""
    size = timedelta(minutes=window_minutes())
    epoch = datetime(2000, 1, 1, tzinfo=timezone.utc)
    return epoch + ((now - epoch) // size + 1) * size


def is_staff_mail(item: TimelineItem) -> bool:
    return item.kind in STAFF_MESSAGE_KINDS and bool(as_dict(item.data).get("staff"))


def hold(item: TimelineItem, now: datetime) -> bool:
    """Count this staff mail in its window (or its quiet hours); True when it waits for the
    digest instead of being sent now. One UpdateItem (ALL_NEW: the count)."""
    data = as_dict(item.data)
    quiet_end = notifications.quiet_until({"quiet_hours": as_dict(data.get("quiet_hours")) or None},
                                          now)
    end = quiet_end or window_end(now)
    after = int(data.get("digest_after", notifications.DEFAULT_DIGEST_AFTER))
    principal = str(data.get("agent") or "")
    ticket_subject = str(data.get("subject") or "")
    digest = StaffDigest(keys.STAFF_DIGEST_PK, keys.staff_digest_sk(
        clock.iso(end), agents.agent_id(principal), quiet=quiet_end is not None))
    fields = [
        StaffDigest.count.add(1),
        StaffDigest.recipient.set(item.recipient or ""),
        StaffDigest.agent.set(principal),
        StaffDigest.lang.set(item.lang or "en"),
        StaffDigest.quiet.set(quiet_end is not None),
        StaffDigest.after.set(0 if quiet_end is not None else after),
        StaffDigest.expires_at.set(int((end + DIGEST_TTL).timestamp())),
    ]
    entry = {"ticket_id": item.ticket_id, "ref": str(data.get("ref") or ""),
             "kind": data.get("staff") or "",
             "line": clip(str(data.get("line") or item.subject or ""), ENTRY_LINE_BYTES),
             "at": clock.iso(now), "message": item.message_uid or "",
             "subject": clip(ticket_subject, ENTRY_SUBJECT_BYTES)}
    try:  # the entry joins the list while it has room (an item holds at most 400 KB)
        digest.update(actions=[*fields, StaffDigest.entries.set(
            (StaffDigest.entries | []).append([entry]))],
            condition=StaffDigest.entries.does_not_exist()
            | (size(StaffDigest.entries) < MAX_ENTRIES))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        digest.update(actions=fields)  # full: counted, the digest says "and N more"
    return quiet_end is not None or int(digest.count or 0) > after


def clip(text: str, max_bytes: int) -> str:
    """`text` in at most `max_bytes` UTF-8 bytes, whole characters, "…" when cut."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    cut = text.encode("utf-8")[:max_bytes - len("…".encode("utf-8"))]
    return cut.decode("utf-8", errors="ignore").rstrip() + "…"


def held_entries(digest: StaffDigest) -> list[dict[str, Any]]:
    """The entries of a window that were not mailed one by one: all of them in quiet hours,
    else those past `after` (the list is in the order they were counted)."""
    entries = [as_dict(e) for e in digest.entries or ()]
    return entries if digest.quiet else entries[int(digest.after or 0):]


def group(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries by ticket, tickets in the order of their first entry, entries oldest first."""
    tickets: dict[str, dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda e: e.get("at") or ""):
        ticket = tickets.setdefault(entry.get("ticket_id") or entry.get("ref") or "", {
            "ref": entry.get("ref") or "", "ticket_id": entry.get("ticket_id"), "lines": [],
            "subject": entry.get("subject") or ""})
        ticket["lines"].append(entry)
    return list(tickets.values())


def render_digest(digest: StaffDigest, statuses: dict[str, str],
                  recipient_name: str = "") -> tuple[str, str, str]:
    """(subject, text, html) of a digest; `statuses`: ticket id -> its status now."""
    lang = digest.lang if digest.lang in ("bn", "en") else "en"
    groups = []
    for g in group(held_entries(digest)):
        groups.append({**g, "status": statuses.get(g["ticket_id"] or "", ""),
                       "link": staff_link(g["ref"]), "command": open_command(g["ref"]),
                       "lines": [{**line, "at": when(line.get("at"), lang)}
                                 for line in g["lines"]]})
    end = digest.sk.split("#", 1)[0]
    listed = sum(len(g["lines"]) for g in groups)
    held = int(digest.count or 0) - (0 if digest.quiet else int(digest.after or 0))
    d = {"recipient": recipient_name or identities.plain_name(digest.agent), "quiet": bool(digest.quiet),
         "until": when(end, lang), "groups": groups, "count": max(held, listed),
         "more": max(held - listed, 0)}
    return templates.render_email("staff_digest", lang, d=d)


def send_digests(now: datetime | None = None) -> dict[str, int]:
    """Send every ended window's digest once (the scheduled tick). One Query; per digest one
    UpdateItem (the claim), one BatchGetItem of the tickets' status and one SendRawEmail. A
    send that fails is logged and not tried again (the single mails are on the timelines)."""
    from chalicelib.integrations import email_out  # deferred: cold start (the tick only)

    now = now or clock.now()
    sent = failed = 0
    due = StaffDigest.query(
        keys.STAFF_DIGEST_PK,
        StaffDigest.sk.between(clock.iso(now - DIGEST_LOOKBACK), clock.iso(now)),
        filter_condition=StaffDigest.flushed.does_not_exist(), consistent_read=True)
    for digest in due:
        entries = held_entries(digest)
        if not entries or not digest.recipient:
            continue
        try:
            digest.update(actions=[StaffDigest.flushed.set(clock.iso(now))],
                          condition=StaffDigest.flushed.does_not_exist())
        except Exception as exc:  # noqa: BLE001 - lost the claim: another tick sends it
            if "ConditionalCheckFailed" in str(exc):
                continue
            raise
        found = agents.recipient(digest.agent)
        if found is None or not found.email:
            # deactivated (or their address removed) since the entries were held: customers'
            # words go to no one who is no longer an agent; the claim keeps it from coming back
            log.info("staff digest dropped: no active agent", extra={"sk": digest.sk})
            continue
        statuses = {t.id: t.status for t in Ticket.batch_get(
            {e["ticket_id"] for e in entries if e.get("ticket_id")},
            attributes_to_get=["id", "status"])}
        subject, text, html = render_digest(digest, statuses, found.display_name)
        sender = config.settings().support_address
        try:  # to the agent's address now (changed since the entries were held: the new one)
            email_out.send(email_out.build(
                sender_name=config.settings().support_name, sender=sender, to=found.email,
                subject=subject, text=text, html=html,
                message_id=f"<{ids.new_id('m')}@{sender.rpartition('@')[2]}>", when=now,
                automatic=True), source=sender, destination=found.email)
            sent += 1
        except Exception:  # noqa: BLE001 - one bad address does not stop the others
            log.exception("staff digest not sent")
            failed += 1
    return {"sent": sent, "failed": failed}
