"""The local stack's SMTP ingress: mail in by SMTP, out as SES receiving delivers it.

On AWS, mail to the support domain reaches SES receiving; the receipt rule in
infra/template.yaml has an S3 action (prefix ``inbound/``) with an SNS topic, so SES

1. stores the message, with a few headers of its own added at the top, as
   ``inbound/<SES message id>`` in the mail bucket, and
2. publishes the receipt notification (``notificationType: Received``) to the inbound-email
   topic, which invokes the ``inbound_email`` Lambda.

`SmtpIngress` does the same against the emulator, so the app's handler sees exactly what it
sees on AWS. The notification follows the AWS documentation, "Contents of notifications for
Amazon SES email receiving" and "Examples of notifications for Amazon SES email receiving"
(https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html,
https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-examples.html)::

    {"notificationType": "Received",
     "mail": {"timestamp", "source" (envelope MAIL FROM), "messageId",
              "destination" (To and Cc addresses of the headers), "headersTruncated",
              "headers": [{"name", "value"}, ...]  (the stored message's, SES's own first),
              "commonHeaders": {"returnPath", "from": [...], "date", "to": [...],
                                "messageId", "subject", ...}},
     "receipt": {"timestamp", "processingTimeMillis",
                 "recipients" (the envelope RCPT TO addresses the rule matched),
                 "spamVerdict", "virusVerdict", "spfVerdict", "dkimVerdict", "dmarcVerdict",
                 "action": {"type": "S3", "topicArn", "bucketName", "objectKeyPrefix",
                            "objectKey"}}}

What it does as SES does:

- RCPT TO is accepted only for the support domain (``setu.local``; any local part, so
  ``support+t123.abcd@setu.local`` and ``billing@setu.local`` too). Other recipients get 550,
  as SES rejects recipients on domains it does not receive for. Several recipients of the
  domain make one stored message and one notification listing all of them.
- SIZE is advertised; the limit is SES's for an S3 action, 40 MB including headers. A larger
  message is refused with 552 (at MAIL FROM when the client declares SIZE, else after DATA).
- The stored object is the message exactly as received (after SMTP dot-unstuffing), preceded
  by ``Return-Path: <envelope sender>``, ``Received: ... with SMTP id <message id> ...``,
  ``X-SES-Spam-Verdict`` and ``X-SES-Virus-Verdict``. (SES also adds Received-SPF,
  Authentication-Results, X-SES-RECEIPT and X-SES-DKIM-SIGNATURE; this ingress checks no
  SPF/DKIM/DMARC, so it leaves them out and reports those verdicts as GRAY.)
- ``mail.messageId`` is SES-style: 28 random lowercase letters and digits. The SMTP reply to
  DATA is ``250 Ok <message id>``.
- ``mail.headers`` lists the stored message's headers in order, values unfolded; it stops
  after 10 KB of headers and sets ``headersTruncated``. Nothing in a message can make the
  ingress fail: a message whose headers cannot be read (junk, undecodable bytes, none at all)
  is still stored and notified, with whatever headers could be read.
- Any client works: HELO or EHLO, 8BITMIME, SMTPUTF8 (UTF-8 addresses and headers), dot
  stuffing. A null sender (``MAIL FROM:<>``, bounces) gives
  ``Return-Path: <>`` and an empty ``source``.

Local differences: no STARTTLS (the AWS rule requires TLS; this binds only 127.0.0.1), lines
longer than SMTP's 1000 octets are accepted (up to LINE_LIMIT), no spam or virus scanning.

Testing aid, local only: a message with the header ``X-Setu-Test-Verdict: spam`` (or
``virus``, ``spf``, ``dkim``, ``dmarc``, several comma-separated) gets that verdict ``FAIL`` in
the receipt (and spam and virus in the ``X-SES-*-Verdict`` header), as if SES's checks had
failed it: forged mail can be tried end to end. SES knows no such header; on AWS it is just a
header, and the ingress binds only 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import string
import time
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import format_datetime, getaddresses

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from chalicelib.observability import fingerprint
from local import stack

log = logging.getLogger("setu.smtp")

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SES receiving with an S3 action, headers included
KEY_PREFIX = "inbound/"
HEADERS_LIMIT = 10 * 1024  # mail.headers stops here and headersTruncated becomes true
LINE_LIMIT = 1024 * 1024  # SMTP says 1000 octets; be lenient, the parser must cope anyway
HEADER_SCAN_LIMIT = 1024 * 1024  # read headers from at most this much of the message
SERVER_NAME = "inbound-smtp.setu.local"
TEST_VERDICT_HEADER = "X-Setu-Test-Verdict"
VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")
NOTIFICATION_SUBJECT = "Amazon SES Email Receipt Notification"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ADDRESS_HEADERS = (("from", "from"), ("sender", "sender"), ("reply-to", "replyTo"),
                    ("to", "to"), ("cc", "cc"), ("bcc", "bcc"))


def ses_message_id() -> str:
    """SES-style message id (e.g. ``d6iitobk75ur44p8kdnnp7g2n800``)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(28))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _clean(text: str) -> str:
    """A string JSON and SNS take: undecodable bytes (surrogate escapes) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", _clean(text))


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(".").lower()


# --- reading a message's headers, never failing ----------------------------------------------

def _header_block(raw: bytes) -> bytes:
    head = raw[:HEADER_SCAN_LIMIT]
    end = re.search(rb"\r?\n\r?\n", head)
    return head[:end.start() + 1] + b"\n" if end else head


def read_headers(raw: bytes) -> list[tuple[str, str]]:
    """The (name, value) headers at the top of `raw`, in order, values unfolded and decoded as
    UTF-8 (undecodable bytes replaced). Whatever cannot be read as headers is left out."""
    try:
        parsed = BytesHeaderParser(policy=compat32).parsebytes(_header_block(raw))
        items = list(parsed.raw_items())
    except Exception:  # noqa: BLE001 - a message must never break the ingress
        log.warning("could not read the headers of a message", exc_info=True)
        return []
    headers = []
    for name, value in items:
        try:
            if not isinstance(value, str):  # compat32 may hand back a Header object
                value = str(value)
            value = re.sub(r"\r?\n(?=[ \t])", "", value).strip("\r\n")
            headers.append((_one_line(str(name)), _one_line(value)))
        except Exception:  # noqa: BLE001
            continue
    return headers


def _decoded(value: str) -> str:
    """RFC 2047 encoded words decoded; the value as it is when that fails."""
    try:
        return _clean(str(make_header(decode_header(value))))
    except Exception:  # noqa: BLE001 - unknown charsets, broken encoded words
        return value


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    try:
        return [(name, addr) for name, addr in getaddresses(values) if name or addr]
    except Exception:  # noqa: BLE001
        return []


def _display(name: str, addr: str) -> str:
    name = _decoded(name).strip()
    if not name:
        return addr
    if any(c in name for c in '()<>@,;:\\".[]'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def common_headers(headers: list[tuple[str, str]], return_path: str) -> dict:
    """SES's `commonHeaders`: address lists, date, Message-ID and the decoded subject."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), []).append(value)
    common: dict = {"returnPath": return_path}
    for header, key in _ADDRESS_HEADERS:
        if header in by_name:
            common[key] = [_display(n, a) for n, a in _addresses(by_name[header])]
    if "date" in by_name:
        common["date"] = by_name["date"][0].strip()
    if "message-id" in by_name:
        common["messageId"] = by_name["message-id"][0].strip()
    if "subject" in by_name:
        common["subject"] = _decoded(by_name["subject"][0].strip())
    return common


def destination(headers: list[tuple[str, str]]) -> list[str]:
    """SES's `mail.destination`: the To and Cc addresses of the headers."""
    values = [v for n, v in headers if n.lower() in ("to", "cc")]
    seen: list[str] = []
    for _name, addr in _addresses(values):
        if addr and addr not in seen:
            seen.append(addr)
    return seen


def verdict_flags(headers: list[tuple[str, str]]) -> set[str]:
    """Local testing aid: `X-Setu-Test-Verdict: spam, virus, spf, dkim, dmarc` makes those
    verdicts FAIL."""
    flagged: set[str] = set()
    for name, value in headers:
        if name.lower() == TEST_VERDICT_HEADER.lower():
            flagged |= {w for w in re.split(r"[\s,;]+", value.lower()) if w in VERDICTS}
    return flagged


# --- the SMTP side -----------------------------------------------------------------------------

class _Smtp(SMTP):
    line_length_limit = LINE_LIMIT


class _Controller(Controller):
    def factory(self):
        return _Smtp(self.handler, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, ingress: "SmtpIngress"):
        self.ingress = ingress

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if _domain_of(address) != self.ingress.domain:
            log.info("refused recipient %s", fingerprint(_clean(address)))
            return f"550 5.7.1 <{_one_line(address)}>: Recipient address rejected: " \
                   f"this server receives mail only for {self.ingress.domain}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received_at = datetime.now(timezone.utc)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            message_id = await loop.run_in_executor(
                None, self.ingress.deliver, envelope.original_content or b"",
                envelope.mail_from or "", list(envelope.rcpt_tos),
                {"helo": session.host_name or "", "peer": session.peer,
                 "extended": bool(session.extended_smtp), "utf8": bool(envelope.smtp_utf8),
                 "received_at": received_at, "started": started})
        except Exception:  # noqa: BLE001 - the client keeps the message and retries later
            log.exception("could not deliver a message to the emulated SES path")
            return "451 4.3.0 Temporary failure storing the message; try again later"
        return f"250 Ok {message_id}"


class SmtpIngress:
    """SMTP on 127.0.0.1:`port` -> raw MIME in the mail bucket + SES receipt notification.

    `port` must be a real port (local.stack.free_port() for tests): aiosmtpd's controller
    connects to it once to check the server is up. `size_limit` is SES's 40 MB unless a test
    wants a smaller one. Usable as a context manager.
    """

    def __init__(self, port: int, endpoint: str, outputs: dict[str, str],
                 region: str = stack.REGION, *, domain: str = stack.SUPPORT_DOMAIN,
                 size_limit: int = MAX_MESSAGE_BYTES, host: str = "127.0.0.1"):
        self.host = host
        self._port = port
        self.domain = domain.lower()
        self.size_limit = size_limit
        self.bucket = outputs["MailBucket"]
        self.topic_arn = outputs["InboundEmailTopicArn"]
        self.s3 = stack.client("s3", endpoint, region)
        self.sns = stack.client("sns", endpoint, region)
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> "SmtpIngress":
        if self._controller is not None:
            return self
        controller = _Controller(_Handler(self), hostname=self.host, port=self._port,
                                 server_hostname=SERVER_NAME, data_size_limit=self.size_limit,
                                 enable_SMTPUTF8=True, decode_data=False,
                                 ident="Setu local SMTP ingress")
        controller.start()
        self._controller = controller
        log.info("SMTP ingress on %s:%d for @%s", self.host, self.port, self.domain)
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> "SmtpIngress":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what SES does with an accepted message ------------------------------------------

    def deliver(self, content: bytes, mail_from: str, recipients: list[str],
                session: dict | None = None) -> str:
        """Store `content` and publish the receipt notification; returns the SES message id."""
        session = session or {}
        received_at: datetime = session.get("received_at") or datetime.now(timezone.utc)
        started: float = session.get("started") or time.monotonic()
        message_id = ses_message_id()
        key = KEY_PREFIX + message_id
        source = "" if mail_from in ("", "<>") else _one_line(mail_from)

        original = read_headers(content)
        flagged = verdict_flags(original)
        spam = "FAIL" if "spam" in flagged else "PASS"
        virus = "FAIL" if "virus" in flagged else "PASS"
        added = [
            ("Return-Path", f"<{source}>"),
            ("Received", self._received(session, message_id, recipients, received_at)),
            ("X-SES-Spam-Verdict", spam),
            ("X-SES-Virus-Verdict", virus),
        ]
        prefix = b"".join(f"{name}: {value}\r\n".encode("utf-8", "surrogateescape")
                          for name, value in added)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=prefix + content)

        headers = added + original
        listed, size, truncated = [], 0, False
        for name, value in headers:
            size += len(name) + len(value) + 4
            if size > HEADERS_LIMIT:
                truncated = True
                break
            listed.append({"name": name, "value": value})
        timestamp = _iso(received_at)
        notification = {
            "notificationType": "Received",
            "mail": {
                "timestamp": timestamp,
                "source": source,
                "messageId": message_id,
                "destination": destination(original),
                "headersTruncated": truncated,
                "headers": listed,
                "commonHeaders": common_headers(headers, source),
            },
            "receipt": {
                "timestamp": timestamp,
                "processingTimeMillis": max(1, int((time.monotonic() - started) * 1000)),
                "recipients": [_one_line(r) for r in recipients],
                "spamVerdict": {"status": spam},
                "virusVerdict": {"status": virus},
                # unchecked here (GRAY), unless a test asks for FAIL
                "spfVerdict": {"status": "FAIL" if "spf" in flagged else "GRAY"},
                "dkimVerdict": {"status": "FAIL" if "dkim" in flagged else "GRAY"},
                "dmarcVerdict": {"status": "FAIL" if "dmarc" in flagged else "GRAY"},
                "action": {
                    "type": "S3",
                    "topicArn": self.topic_arn,
                    "bucketName": self.bucket,
                    "objectKeyPrefix": KEY_PREFIX,
                    "objectKey": key,
                },
            },
        }
        self.sns.publish(TopicArn=self.topic_arn, Subject=NOTIFICATION_SUBJECT,
                         Message=json.dumps(notification, ensure_ascii=False))
        log.info("mail %s from %s to %s: %d bytes stored as %s", message_id, fingerprint(source),
                 ", ".join(recipients), len(content), key)
        return message_id

    def _received(self, session: dict, message_id: str, recipients: list[str],
                  at: datetime) -> str:
        helo = _one_line(session.get("helo") or "unknown")
        peer = session.get("peer")
        ip = peer[0] if isinstance(peer, (tuple, list)) and peer else "127.0.0.1"
        # RFC 3848 / RFC 6531 protocol names
        protocol = "UTF8SMTP" if session.get("utf8") else \
            "ESMTP" if session.get("extended") else "SMTP"
        target = f" for {_one_line(recipients[0])}" if len(recipients) == 1 else ""
        return (f"from {helo} (localhost [{ip}]) by {SERVER_NAME} with {protocol} id {message_id}"
                f"{target}; {format_datetime(at)} (UTC)")
