"""Sending mail through SES. The MIME is built here; headers cannot carry injected lines
because EmailMessage refuses CR/LF in header values."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache

from chalicelib.integrations.aws import client


@lru_cache(maxsize=1)
def policy():
    """RFC 5322's hard line limit: the default 78 would fold a long List-Unsubscribe URL into
    encoded words, which mail clients do not read back as a URL. Made on first use: the
    email package's header registry costs ~3 ms of a cold start that sends no mail."""
    from email.policy import default  # deferred: cold start

    return default.clone(max_line_length=998)


def build(*, sender_name: str, sender: str, to: str, subject: str, text: str,
          html: str | None, message_id: str, in_reply_to: str | None = None,
          references: list[str] | None = None, when=None, reply_to: str | None = None,
          automatic: bool = False, list_unsubscribe: str | None = None,
          attachments: list[tuple[str, str, bytes]] | None = None) -> EmailMessage:
    from email.headerregistry import Address  # deferred: cold start (see policy)

    msg = EmailMessage(policy=policy())
    local, _, domain = sender.partition("@")
    msg["From"] = Address(display_name=sender_name, username=local, domain=domain)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = reply_to
    if when is not None:
        msg["Date"] = format_datetime(when)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    if automatic:
        # RFC 3834: automatic mail says so, which keeps well-behaved autoresponders quiet.
        msg["Auto-Submitted"] = "auto-generated"
    if list_unsubscribe:
        # RFC 2369 + RFC 8058: the mail client may offer "unsubscribe" and POST
        # "List-Unsubscribe=One-Click" to the URL itself (SES's DKIM signature covers both)
        msg["List-Unsubscribe"] = f"<{list_unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or ():
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype or "application",
                           subtype=subtype or "octet-stream", filename=filename)
    return msg


def send(message: EmailMessage, *, source: str, destination: str) -> str:
    """Send raw MIME; returns the SES message id."""
    response = client("ses").send_raw_email(
        Source=source, Destinations=[destination], RawMessage={"Data": message.as_bytes()},
    )
    return response["MessageId"]
