"""Provider event shapes, read and validated: the JSON that SES, SNS and End User Messaging
deliver becomes the typed values the services take. Nothing here writes or calls AWS.

- an SES receipt notification (`Received`, S3 action) -> services/inbound/email.Receipt
- a two-way SMS message -> services/inbound/sms.InboundSms
- an SES Bounce / Complaint / Delivery notification -> services/inbound/ses_events.SesNotification
- an SMS delivery event (bare or in an EventBridge envelope) -> services/inbound/sms_events.SmsEvent

What cannot be read raises `Unusable` with the reason, or (for notifications that may be of a
kind we do not act on) returns the reason; events/inbound.py records either, never drops it.
"""
from __future__ import annotations

import json
import re
from typing import Any

from chalicelib import clock, untrusted_json
from chalicelib.services.customers import contacts
from chalicelib.services.inbound.email import Receipt
from chalicelib.services.inbound.ses_events import SesNotification
from chalicelib.services.inbound.sms import MAX_BODY as SMS_MAX_BODY
from chalicelib.services.inbound.sms import InboundSms
from chalicelib.services.inbound.sms_events import SmsEvent
from chalicelib.services.messaging import sms_text

_SES_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SMS_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SES_KINDS = ("Bounce", "Complaint", "Delivery")


class Unusable(ValueError):
    """The notification itself is unusable (not the provider's shape)."""


def _json(message: str) -> Any:
    try:
        return untrusted_json.loads(message)
    except json.JSONDecodeError:
        raise Unusable("not JSON") from None
    except (TypeError, ValueError) as exc:  # a bomb: too deep, a number past any use
        raise Unusable(f"not usable JSON: {exc}") from None


# ---- SES receiving ---------------------------------------------------------------------------

def receipt(message: str) -> Receipt:
    """An SNS message body as SES's `Received` notification with an S3 action."""
    data = _json(message)
    if not isinstance(data, dict) or data.get("notificationType") != "Received":
        raise Unusable("not an SES Received notification")
    mail, found = data.get("mail"), data.get("receipt")
    if not isinstance(mail, dict) or not isinstance(found, dict):
        raise Unusable("mail or receipt missing")
    action = found.get("action") if isinstance(found.get("action"), dict) else {}
    ses_id = mail.get("messageId")
    if not isinstance(ses_id, str) or not _SES_ID.fullmatch(ses_id):
        raise Unusable("mail.messageId missing or malformed")
    if action.get("type") != "S3" or not action.get("bucketName") or not action.get("objectKey"):
        raise Unusable("the receipt action is not an S3 action")
    recipients = found.get("recipients") or mail.get("destination") or []
    verdicts = {name: str((found.get(f"{name}Verdict") or {}).get("status", "")).upper()
                for name in ("spam", "virus", "spf", "dkim", "dmarc")}
    return Receipt(ses_id=ses_id, bucket=str(action["bucketName"]), key=str(action["objectKey"]),
                   source=str(mail.get("source") or ""),
                   recipients=[str(r) for r in recipients if isinstance(r, str)][:50],
                   verdicts=verdicts)


# ---- two-way SMS -----------------------------------------------------------------------------

def inbound_sms(message: str, sns_timestamp: str | None) -> InboundSms:
    data = _json(message)
    if not isinstance(data, dict):
        raise Unusable("not a JSON object")
    provider_id = data.get("inboundMessageId")
    if not isinstance(provider_id, str) or not _SMS_ID.fullmatch(provider_id):
        raise Unusable("inboundMessageId missing or malformed")
    body = data.get("messageBody")
    if not isinstance(body, str):
        raise Unusable("messageBody missing")
    try:
        origination = contacts.normalise_phone(str(data.get("originationNumber") or ""))
    except contacts.InvalidContact:
        raise Unusable(f"originationNumber {str(data.get('originationNumber'))[:40]!r} "
                       "is not a valid number") from None
    try:
        at = clock.parse_iso(sns_timestamp) if sns_timestamp else clock.now()
    except ValueError:
        at = clock.now()
    body = body.strip()
    return InboundSms(provider_id=provider_id, origination=origination,
                      destination=str(data.get("destinationNumber") or "")[:32],
                      body=body[:SMS_MAX_BODY], at=at, keyword=sms_text.keyword(body))


def salvage_sms(message: str) -> tuple[str, str]:
    """Whatever sender and text an unusable SMS notification still holds (for the held item an
    admin may release): ("", "") when there is none. Never raises."""
    try:
        data = untrusted_json.loads(message)
    except (TypeError, ValueError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    sender, body = data.get("originationNumber"), data.get("messageBody")
    return (sender[:40] if isinstance(sender, str) else "",
            body.strip()[:SMS_MAX_BODY] if isinstance(body, str) else "")


# ---- SES notifications about mail we sent ----------------------------------------------------

def ses_notification(message: str) -> SesNotification | str:
    """The notification, or why it changes nothing ("not JSON" raises Unusable)."""
    data = _json(message)
    if not isinstance(data, dict):
        raise Unusable("not JSON")
    kind = data.get("notificationType") or data.get("eventType")
    if kind not in SES_KINDS:
        return f"notification type {kind!r}"
    mail = data.get("mail") if isinstance(data.get("mail"), dict) else {}
    ses_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else ""
    if kind == "Bounce":
        bounce = data.get("bounce") if isinstance(data.get("bounce"), dict) else {}
        return SesNotification(kind, ses_id, _addresses(bounce.get("bouncedRecipients")),
                               permanent=bounce.get("bounceType") == "Permanent",
                               detail=f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}")
    if kind == "Complaint":
        complaint = data.get("complaint") if isinstance(data.get("complaint"), dict) else {}
        return SesNotification(kind, ses_id, _addresses(complaint.get("complainedRecipients")),
                               detail=str(complaint.get("complaintFeedbackType") or "complaint"))
    return SesNotification(kind, ses_id, [])


def _addresses(recipients: Any) -> list[str]:
    if not isinstance(recipients, list):
        return []
    return [r["emailAddress"] for r in recipients
            if isinstance(r, dict) and isinstance(r.get("emailAddress"), str)][:50]


# ---- SMS delivery events ---------------------------------------------------------------------

def sms_event(message: str) -> SmsEvent:
    data = _json(message)
    if isinstance(data, dict) and isinstance(data.get("detail"), dict):
        data = data["detail"]  # EventBridge "Text Message Delivery Status Updated"
    if not isinstance(data, dict):
        raise Unusable("not a JSON object")
    kind, message_id = data.get("eventType"), data.get("messageId")
    if not isinstance(kind, str) or not kind.startswith("TEXT_") or len(kind) > 40:
        raise Unusable(f"eventType {str(kind)[:40]!r} is not an SMS event")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 128:
        raise Unusable("messageId missing")
    final = data.get("isFinal")
    return SmsEvent(kind=kind, message_id=message_id,
                    final=final if isinstance(final, bool) else None,
                    status=str(data.get("messageStatus") or ""),
                    description=str(data.get("messageStatusDescription") or ""),
                    carrier=str(data.get("carrierName") or ""),
                    parts=_number(data.get("totalMessageParts")),
                    price_usd=_number(data.get("totalMessagePrice")),
                    carrier_fee_usd=_number(data.get("totalCarrierFee")),
                    timestamp_ms=_number(data.get("eventTimestamp")))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
