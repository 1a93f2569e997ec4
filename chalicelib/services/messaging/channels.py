"""The channel boundary: services compose a message as a timeline item; a channel turns it
into a provider call (chalicelib/integrations: SES, End User Messaging SMS, S3 for files).
Adding a channel (WhatsApp through AWS End User Messaging Social, see docs/channels.md) means
one class here and one inbound adapter in chalicelib/events/, with no change to the services
that decide what to send.

AWS calls per send: email 1 SendRawEmail (+ 1 GetObject per attached file), SMS 1 send."""
from __future__ import annotations

from typing import Protocol

from chalicelib import clock, config
from chalicelib.db.models import TimelineItem
from chalicelib.db.values import as_dict
from chalicelib.integrations import email_out, sms_out, storage
from chalicelib.services.messaging import links

AUTOMATIC_KINDS = ("ack", "followup", "csat", "reminder", "help")


class Channel(Protocol):
    name: str

    def send(self, item: TimelineItem) -> str:
        """Send the composed message; returns the provider's message id, raises on failure."""


class Email:
    name = "email"

    def send(self, item: TimelineItem) -> str:
        current = config.settings()
        sender = item.from_address or current.support_address
        message = email_out.build(
            sender_name=current.support_name, sender=sender,
            to=item.recipient, subject=item.subject or "", text=item.body or "",
            html=item.html, message_id=item.message_id, in_reply_to=item.in_reply_to,
            references=list(item.references or []), when=clock.now(), reply_to=item.reply_to,
            automatic=item.kind in AUTOMATIC_KINDS, list_unsubscribe=_list_unsubscribe(item),
            attachments=_files(item))
        return email_out.send(message, source=sender, destination=item.recipient)


def _list_unsubscribe(item: TimelineItem) -> str | None:
    """Automatic mail to a customer carries List-Unsubscribe (one-click, RFC 8058), the same
    URL as its footer link (services/links.unsubscribe_url: None, so no header, without an
    absolute public URL)."""
    if item.kind not in AUTOMATIC_KINDS or not item.recipient:
        return None
    return links.unsubscribe_url(item.recipient, item.lang)


def _files(item: TimelineItem) -> list[tuple[str, str, bytes]]:
    """The message's attachments from the mail bucket (a missing one fails the send)."""
    bucket = config.settings().mail_bucket
    files = []
    for attachment in item.attachments or ():
        meta = as_dict(attachment)
        data = storage.get_raw(bucket, meta["key"])
        if data is None:
            raise FileNotFoundError(f"attachment {meta['key']} is missing")
        files.append((meta["filename"], meta["content_type"], data))
    return files


class Sms:
    name = "sms"

    def send(self, item: TimelineItem) -> str:
        return self.send_text(item.recipient, item.body or "")

    @staticmethod
    def send_text(phone: str, text: str) -> str:
        """A text that belongs to no ticket (the answer to HELP from an unknown number)."""
        current = config.settings()
        return sms_out.send(phone, text, sender=current.sms_number,
                            configuration_set=current.sms_configuration_set)


CHANNELS: dict[str, Channel] = {channel.name: channel for channel in (Email(), Sms())}


def get(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        raise ValueError(f"no channel {name!r}") from None
