"""Key shapes in the keys table (pk, sk) and the small operations on them.

  counter#ticket_ref / _        value: last ticket ref handed out
  email#<casefolded address> / _  target: customer id
  phone#<E.164> / _             target: customer id
  ref#<ref> / _                 target: ticket id
  word#<search word> / <ticket id>  target: ticket id
  rate#<scope>#<subject> / <window>   value: count, expires_at: TTL
  inbound#<source>#<provider id> / _  dedupe marker + raw event
  ... and more, each described where it is used: docs/data-model.md lists them all.
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


def ref_pk(ref: str) -> str:
    return f"ref#{ref}"


def word_pk(word: str) -> str:
    return f"word#{word}"


def next_ticket_ref() -> str:
    """Atomically hand out the next ticket ref (1001, 1002, ...). One UpdateItem."""
    counter = Key(pk="counter#ticket_ref", sk=NO_SORT)
    counter.update(actions=[Key.value.set((Key.value | FIRST_REF) + 1)])
    return str(int(counter.value))


def lookup(pks: list[str]) -> dict[str, str]:
    """pk -> target for those of `pks` that exist. One BatchGetItem."""
    unique = list(dict.fromkeys(pks))
    if not unique:
        return {}
    return {item.pk: item.target for item in Key.batch_get([(pk, NO_SORT) for pk in unique])}


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
          first: bool = False) -> None:
    """Remember which ticket a Message-ID belongs to, in the caller's transaction. `first`:
    only if no message with that id was recorded before (else the transaction is cancelled
    with the label "extra": an inbound copy of a message we already have)."""
    message_id = usable_message_id(message_id)
    if message_id:
        tx.save(Key(pk=msgid_pk(message_id), sk=NO_SORT, target=ticket_id),
                condition=Key.pk.does_not_exist() if first else None,
                label="extra" if first else "thread")
