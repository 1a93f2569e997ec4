"""SNS adapters for inbound email, inbound SMS, SES bounce/complaint notifications and SMS
delivery events.

A notification whose content is unusable is recorded as rejected (never raised: a retry
cannot fix it); an AWS failure raises, so Lambda retries the notification.
"""
from __future__ import annotations

import logging

from chalicelib.services import inbound

log = logging.getLogger("setu.inbound")


def _sns_id(event) -> str:
    records = event.to_dict().get("Records") or [{}]
    return (records[0].get("Sns") or {}).get("MessageId") or ""


def email(event) -> str:
    # imported here: the MIME and HTML libraries stay out of the API function's cold start
    from chalicelib.services import email_in

    notification_id = _sns_id(event)
    try:
        receipt = email_in.receipt_from(event.message or "")
    except email_in.Rejected as exc:
        log.warning("email notification %s rejected: %s", notification_id, exc)
        inbound.record_raw("email-rejected", notification_id or "unknown", event.message or "")
        return "rejected"
    outcome = email_in.receive(receipt)
    log.info("email %s (SNS %s): %s", receipt.ses_id, notification_id, outcome)
    return outcome


def sms(event) -> str:
    from chalicelib.services import sms_in

    notification_id = _sns_id(event) or "unknown"
    records = event.to_dict().get("Records") or [{}]
    timestamp = (records[0].get("Sns") or {}).get("Timestamp")
    try:
        message = sms_in.parse(event.message or "", timestamp)
    except sms_in.Rejected as exc:
        return sms_in.reject(notification_id, event.message or "", str(exc))
    outcome = sms_in.receive(message)
    log.info("sms %s (SNS %s): %s", message.provider_id, notification_id, outcome)
    return outcome


def ses_event(event) -> str:
    from chalicelib.services import ses_events

    return ses_events.handle(event.message or "", _sns_id(event) or "unknown")


def sms_event(event) -> str:
    from chalicelib.services import sms_events

    return sms_events.handle(event.message or "", _sns_id(event) or "unknown")
