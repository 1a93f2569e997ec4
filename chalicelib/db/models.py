"""pynamodb models. Access patterns: docs/data-model.md. Tables: infra/template.yaml."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import SetuModel


def _index(name: str, hash_attr: str) -> type[GlobalSecondaryIndex]:
    """A GSI over tickets: `hash_attr` as partition key, queue_sort as sort key."""
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    return type(name.title().replace("-", ""), (GlobalSecondaryIndex,), {
        "Meta": meta,
        hash_attr: UnicodeAttribute(hash_key=True),
        "queue_sort": UnicodeAttribute(range_key=True),
    })


class Ticket(SetuModel):
    class Meta:
        logical_table = "tickets"
        table_name = "setu-tickets"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="ticket")  # constant: partition of all-index
    ref = UnicodeAttribute()
    subject = UnicodeAttribute()
    status = UnicodeAttribute()
    priority = UnicodeAttribute(default="normal")
    department = UnicodeAttribute()
    assignee = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    lang = UnicodeAttribute(default="bn")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    first_response_at = UTCDateTimeAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)
    # "<next due ISO or 9999>#<created ISO>#<id>": every queue index sorts by urgency.
    queue_sort = UnicodeAttribute()
    # SLA state: policy name, calendar, due times (ISO strings), breached/warned targets.
    sla = MapAttribute(default=dict)
    # Live timers: kind -> {"generation": int, "due_at": ISO, "state": "armed"|"fired"|"stopped"}.
    # The tickets stream reconciles Step Functions executions against this map.
    timers = MapAttribute(default=dict)
    # The manager decision asked on this ticket (services/followup/decisions.py); the latest one, the
    # history is on the timeline.
    decision = MapAttribute(null=True)
    # Merging (services/tickets/actions.py): a merged ticket is closed and names the ticket it
    # was merged into (inbound replies follow it, one hop); that ticket lists its sources.
    merged_into = UnicodeAttribute(null=True)
    merged_from = UnicodeSetAttribute(null=True)
    # the words of the customer's name indexed for this ticket (tickets/search.py), so erasure
    # finds the index entries to delete
    name_words = UnicodeSetAttribute(null=True)
    # The conversation's own address (an email address or E.164 number of the customer):
    # where they wrote from. Replies and notices go there first (services/messaging/routes.py).
    contact = UnicodeAttribute(null=True)
    erased_at = UTCDateTimeAttribute(null=True)  # its customer's personal data was erased
    version = VersionAttribute()

    all_index = _index("all-index", "kind")()
    status_index = _index("status-index", "status")()
    department_index = _index("department-index", "department")()
    assignee_index = _index("assignee-index", "assignee")()
    customer_index = _index("customer-index", "customer_id")()


class TimelineItem(SetuModel):
    """One entry on a ticket's append-only timeline: a message or an event.

    sk = "<ISO instant>#<sequence>" so a Query returns the timeline oldest first.
    """

    class Meta:
        logical_table = "timeline"
        table_name = "setu-timeline"

    ticket_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = UnicodeAttribute()  # "message" | "event"
    at = UTCDateTimeAttribute()
    # events
    type = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    data = MapAttribute(null=True)
    # messages
    message_uid = UnicodeAttribute(null=True)
    direction = UnicodeAttribute(null=True)  # "in" | "out"
    channel = UnicodeAttribute(null=True)  # "web" | "email" | "sms"
    kind = UnicodeAttribute(null=True)  # "message" | "ack" | "reply" | "note" ...
    status = UnicodeAttribute(null=True)  # received | queued | sending | sent | failed ...
    body = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    sender = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)  # RFC 5322 Message-ID for email
    reply_to = UnicodeAttribute(null=True)  # outbound email: the signed reply address
    from_address = UnicodeAttribute(null=True)  # outbound email: the department's address
    full_body = UnicodeAttribute(null=True)  # inbound email: the text with quotes and signature
    raw_key = UnicodeAttribute(null=True)  # inbound email: the raw MIME in the mail bucket
    automatic = ListAttribute(of=UnicodeAttribute, null=True)  # why mail looks machine-sent
    segments = NumberAttribute(null=True)  # SMS: segments billed
    fallback = ListAttribute(of=MapAttribute, null=True)  # channels skipped, and why
    in_reply_to = UnicodeAttribute(null=True)
    references = ListAttribute(of=UnicodeAttribute, null=True)
    provider_id = UnicodeAttribute(null=True)  # SES/SNS id
    html = UnicodeAttribute(null=True)
    attachments = ListAttribute(of=MapAttribute, null=True)
    # inbound: files not kept (type, size or count policy), {"filename", "content_type",
    # "size", "why"} (services/tickets/attachments.py)
    dropped = ListAttribute(of=MapAttribute, null=True)
    error = UnicodeAttribute(null=True)
    lang = UnicodeAttribute(null=True)
    macro = MapAttribute(null=True)  # a reply made from a macro: {"name", "version"}
    # a copy of another ticket's item (merge, split): {"ticket", "ref", "sk", "via"}
    origin = MapAttribute(null=True)
    # an inbound message split off into a new ticket: {"ticket", "ref"}
    split_to = MapAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # DynamoDB TTL: retention of a closed ticket's content


class Customer(SetuModel):
    class Meta:
        logical_table = "customers"
        table_name = "setu-customers"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    emails = UnicodeSetAttribute(null=True)
    phones = UnicodeSetAttribute(null=True)
    lang = UnicodeAttribute(default="bn")
    # channel -> {"at": ISO, "source": "..."}; empty when the customer accepts everything.
    opted_out = MapAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    last_contact_at = UTCDateTimeAttribute(null=True)
    ticket_count = NumberAttribute(default=0)
    # Agent edits, merges and unmerges (services/customers/admin.py) bump this counter and are
    # conditional on it (the API's `version`). Not a VersionAttribute: intake, opt-outs and
    # unsubscribes update customers blindly (ticket_count, last_contact_at, opted_out).
    revision = NumberAttribute(null=True)
    # On a customer merged into another: the survivor's id, and the merge record
    # {"into", "state": moving|done|unmerging, "at", "by", "emails", "phones"}.
    merged_into = UnicodeAttribute(null=True)
    merge = MapAttribute(null=True)
    # On a survivor: other customer id -> what came from it (services/customers/admin.py).
    merged_from = MapAttribute(null=True)
    # personal data erased (services/customers/erase.py): {state, at, by, tickets}
    erased = MapAttribute(null=True)


class Key(SetuModel):
    """Unique keys and lookups (pk, sk). See docs/data-model.md for the key shapes."""

    class Meta:
        logical_table = "keys"
        table_name = "setu-keys"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="_")
    target = UnicodeAttribute(null=True)
    value = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # DynamoDB TTL (epoch seconds)
    data = MapAttribute(null=True)


class StaffDigest(SetuModel):
    """Staff mail counted in one window of one agent, kept in the keys table
    (`staff-digest / <window end>#<agent id>[#quiet]`, services/messaging/staff.py)."""

    class Meta:
        logical_table = "keys"
        table_name = "setu-keys"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    count = NumberAttribute(null=True)
    entries = ListAttribute(of=MapAttribute, null=True)
    recipient = UnicodeAttribute(null=True)  # the agent's address when counted
    agent = UnicodeAttribute(null=True)  # principal ARN
    lang = UnicodeAttribute(null=True)
    quiet = BooleanAttribute(null=True)  # quiet hours: every entry waits for the digest
    after = NumberAttribute(null=True)  # entries past this many were held
    flushed = UnicodeAttribute(null=True)  # when the digest was claimed for sending
    expires_at = NumberAttribute(null=True)  # DynamoDB TTL


class Setting(SetuModel):
    """Named configuration documents: SLA policies, calendars (kind, name) -> data."""

    class Meta:
        logical_table = "settings"
        table_name = "setu-settings"

    kind = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)


class Agent(SetuModel):
    """An agent, lead or admin, keyed by IAM principal ARN (stored in the settings table)."""

    class Meta:
        logical_table = "settings"
        table_name = "setu-settings"

    kind = UnicodeAttribute(hash_key=True, default="agent")
    name = UnicodeAttribute(range_key=True)  # the principal ARN
    display_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    role = UnicodeAttribute(default="agent")  # agent | lead | admin
    departments = UnicodeSetAttribute(null=True)
    lang = UnicodeAttribute(null=True)  # bn | en: the language of mail to the agent (briefing)
    active = BooleanAttribute(default=True)
    away = BooleanAttribute(default=False)  # skipped by round-robin assignment while set
    # staff mail preferences (services/team/notifications.py); unset: every kind, no quiet hours
    notifications = MapAttribute(null=True)
    # the agent console's Cognito user (docs/console.md): its `sub` and user name (the email)
    cognito_sub = UnicodeAttribute(null=True)
    cognito_username = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()  # optimistic locking for PATCH /api/agents/{id}


ALL_MODELS = (Ticket, TimelineItem, Customer, Key, Setting, Agent, StaffDigest)
