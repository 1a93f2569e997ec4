"""Key shapes in the keys table (pk, sk) and the small operations on them. Every partition
key prefix of the keys table is built here, and only here:

  counter#ticket_ref / _                 value: last ticket ref handed out
  email#<casefolded address> / _         target: customer id
  phone#<E.164> / _                      target: customer id
  ref#<ref> / _                          target: ticket id
  word#<search word> / <ticket id>       target: ticket id
  msgid#<Message-ID> / _                 target: ticket id (email threading); data: the
                                         sender, content digest and SES id of the customer
                                         message first seen with it, `reused` once another
                                         message arrived with the same id
  rate#<scope>#<subject> / <window>      value: count, expires_at: TTL
  inbound#<source>#<provider id> / _     once-marker + raw event (services/inbound/once.py)
  held#open / <held id>                  a held item: what a customer sent that is not (yet)
  held#closed / <held id>                on a ticket, and the rejected events; released or
                                         discarded ones move to closed (services/inbound/held.py)
  sent#<provider message id> / _         target: ticket id, data: the timeline item's sk
  suppress#<channel>#<address> / _       target: why (bounce, complaint, unsubscribe, opt-out)
  texted#<E.164> / _                     target: the ticket we last sent an SMS to that number
                                         from; data: at, message (SMS threading)
  agent-id#<id> / _                      target: the principal ARN
  agent-sub#<cognito sub> / _            target: the principal ARN (whom the console user is)
  audit#<YYYY-MM-DD> / <at>#<random>     one audit entry
  rr#<department> / _                    value: round-robin counter
  customer-merge#<customer id> / <ticket id>   a ticket a merge moved
  split#<ticket id>#<message uid> / _    target: the ticket a message was split into
  nonce#<purpose>#<nonce> / _            a single-use form nonce
  briefing#<department>#<day> / done|to#<agent>   a briefing sent (or claimed per recipient)
  report#<YYYY-MM-DD> / <dimension>      report counters; reported#<table>#<key>#<sk>: applied once
  staff-digest / <window end>#<agent id>[#quiet]   staff mail counted in a window, the entries
                                         a digest sends at its end (services/messaging/staff.py)
docs/data-model.md says what each holds and who writes it.
"""
from __future__ import annotations

from chalicelib.db.connection import Transaction
from chalicelib.db.models import Key

FIRST_REF = 1000
MAX_MESSAGE_ID = 500  # a DynamoDB key is at most 2 KB; real Message-IDs are far shorter
NO_SORT = "_"


def email_pk(address_key: str) -> str:
    return f"email#{address_key}"


def phone_pk(e164: str) -> str:
    return f"phone#{e164}"


def inbound_pk(source: str, provider_id: str) -> str:
    """The once-marker of an inbound event (services/inbound/once.py)."""
    return f"inbound#{source}#{provider_id}"


def held_pk(state: str) -> str:
    """The partition of held items: `open` (to be decided) or `closed` (released, discarded)."""
    return f"held#{state}"


def rate_pk(scope: str, subject: str) -> str:
    return f"rate#{scope}#{subject}"


def sent_pk(provider_id: str) -> str:
    return f"sent#{provider_id}"


def suppress_pk(channel: str, address_key: str) -> str:
    return f"suppress#{channel}#{address_key}"


def texted_pk(e164: str) -> str:
    """The conversation we last texted `e164` from (services/messaging/dispatch.py writes it,
    services/inbound/sms.py follows it)."""
    return f"texted#{e164}"


def agent_id_pk(agent_id: str) -> str:
    return f"agent-id#{agent_id}"


def agent_sub_pk(sub: str) -> str:
    """A console user (Cognito `sub`) -> the agent they were invited as (target: its ARN)."""
    return f"agent-sub#{sub}"


def audit_pk(day: str) -> str:
    return f"audit#{day}"


def round_robin_pk(department: str) -> str:
    return f"rr#{department}"


def customer_merge_pk(other_id: str) -> str:
    return f"customer-merge#{other_id}"


def split_pk(ticket_id: str, message_uid: str) -> str:
    return f"split#{ticket_id}#{message_uid}"


def nonce_pk(purpose: str, nonce: str) -> str:
    return f"nonce#{purpose}#{nonce}"


def briefing_pk(department: str, day: str) -> str:
    return f"briefing#{department}#{day}"


def report_pk(day: str) -> str:
    return f"report#{day}"


def reported_pk(table: str, key: str, sk: str) -> str:
    return f"reported#{table}#{key}#{sk}"


def ref_pk(ref: str) -> str:
    return f"ref#{ref}"


def word_pk(word: str) -> str:
    return f"word#{word}"


def name_pk(word: str) -> str:
    """Words of customers' names on their tickets (tickets/search.py): partitioned by the
    word's first two letters, sort key `<word>#<ticket id>`, so a prefix is one Query."""
    return f"name#{word[:2]}"


def name_sk(word: str, ticket_id: str) -> str:
    return f"{word}#{ticket_id}"


def next_ticket_ref() -> str:
    """Atomically hand out the next ticket ref (1001, 1002, ...). One UpdateItem."""
    counter = Key(pk="counter#ticket_ref", sk=NO_SORT)
    counter.update(actions=[Key.value.set((Key.value | FIRST_REF) + 1)])
    return str(int(counter.value))


def lookup(pks: list[str]) -> dict[str, str]:
    """pk -> target for those of `pks` that exist. One BatchGetItem."""
    return {pk: item.target for pk, item in lookup_items(pks).items()}


def lookup_items(pks: list[str]) -> dict[str, Key]:
    """pk -> the item, for those of `pks` that exist. One BatchGetItem."""
    unique = list(dict.fromkeys(pks))
    if not unique:
        return {}
    return {item.pk: item for item in Key.batch_get([(pk, NO_SORT) for pk in unique])}


def target(pk: str) -> str | None:
    try:
        return Key.get(pk, NO_SORT).target
    except Key.DoesNotExist:
        return None


def msgid_pk(message_id: str) -> str:
    return f"msgid#{message_id}"


def usable_message_id(message_id: str | None) -> str | None:
    if not message_id:
        return None
    message_id = message_id.strip()
    if not (message_id.startswith("<") and message_id.endswith(">")) or len(message_id) > MAX_MESSAGE_ID:
        return None
    return message_id


def index_message_id(tx: Transaction, message_id: str | None, ticket_id: str, *,
                     first: bool = False, data: dict | None = None) -> None:
    """Remember which ticket a Message-ID belongs to, in the caller's transaction. `first`:
    only if no message with that id was recorded before (else the transaction is cancelled
    with the label "extra": another message with this id was recorded meanwhile). `data`:
    what identifies the message (sender, content digest), to tell a copy from a reuse."""
    message_id = usable_message_id(message_id)
    if message_id:
        tx.save(Key(pk=msgid_pk(message_id), sk=NO_SORT, target=ticket_id, data=data),
                condition=Key.pk.does_not_exist() if first else None,
                label="extra" if first else "thread")


def mark_message_id_reused(tx: Transaction, message_id: str) -> None:
    """Another message arrived with a Message-ID already recorded: threading stops trusting
    it (services/inbound/thread.py), in the caller's transaction."""
    tx.update(Key(pk=msgid_pk(message_id), sk=NO_SORT),
              actions=[Key.data["reused"].set(True)], condition=Key.pk.exists(), label="extra")


STAFF_DIGEST_PK = "staff-digest"


def staff_digest_sk(window_end: str, agent_id: str, *, quiet: bool = False) -> str:
    return f"{window_end}#{agent_id}" + ("#quiet" if quiet else "")
