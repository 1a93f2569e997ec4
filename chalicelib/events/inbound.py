"""SNS adapters for inbound email, inbound SMS, SES bounce/complaint notifications and SMS
delivery events.

A notification whose content is unusable is recorded as rejected (never raised: a retry
cannot fix it); an AWS failure raises, so Lambda retries the notification.
"""
from __future__ import annotations

import logging

from chalicelib import observability
from chalicelib.services.inbound import rejected as inbound

log = logging.getLogger("setu.inbound")


REPLAY_OF = "setu-replay-of"  # set by `python -m infra.replay events`: the original id


def _sns_id(event) -> str:
    """The notification's id, which markers are keyed by; a replayed notification keeps the
    id of the one that failed, so a replay applies at most once."""
    records = event.to_dict().get("Records") or [{}]
    sns = records[0].get("Sns") or {}
    replayed = (sns.get("MessageAttributes") or {}).get(REPLAY_OF) or {}
    return str(replayed.get("Value") or "") or sns.get("MessageId") or ""


def email(event) -> str:
    # imported here: the MIME and HTML libraries stay out of the API function's cold start
    from chalicelib.events import provider  # deferred: cold start
    from chalicelib.services.inbound import email as email_in  # deferred: cold start

    notification_id = _sns_id(event)
    try:
        receipt = provider.receipt(event.message or "")
    except provider.Unusable as exc:
        log.warning("email notification %s rejected: %s", notification_id, observability.scrub(exc))
        inbound.record_raw("email-rejected", notification_id or "unknown", event.message or "",
                           str(exc))
        return _outcome("email", "rejected")
    outcome = email_in.receive(receipt)
    log.info("email %s (SNS %s): %s", receipt.ses_id, notification_id, outcome)
    return _outcome("email", outcome)


def sms(event) -> str:
    from chalicelib.events import provider  # deferred: cold start
    from chalicelib.services.inbound import sms as sms_in  # deferred: cold start

    notification_id = _sns_id(event) or "unknown"
    records = event.to_dict().get("Records") or [{}]
    timestamp = (records[0].get("Sns") or {}).get("Timestamp")
    try:
        message = provider.inbound_sms(event.message or "", timestamp)
    except provider.Unusable as exc:
        sender, body = provider.salvage_sms(event.message or "")
        return _outcome("sms", sms_in.reject(notification_id, event.message or "", str(exc),
                                             sender=sender, body=body))
    outcome = sms_in.receive(message)
    log.info("sms %s (SNS %s): %s", message.provider_id, notification_id, outcome)
    return _outcome("sms", outcome)


def ses_event(event) -> str:
    return ses_notification(event.message or "", _sns_id(event) or "unknown")


def ses_notification(message: str, notification_id: str) -> str:
    """One SES notification body: applied, or recorded as what it is."""
    from chalicelib.events import provider  # deferred: cold start
    from chalicelib.services.inbound import ses_events  # deferred: cold start

    try:
        note = provider.ses_notification(message)
    except provider.Unusable as exc:
        return _outcome("ses-event", ses_events.record_only(notification_id, "rejected", str(exc)))
    if isinstance(note, str):
        return _outcome("ses-event", ses_events.record_only(notification_id, "ignored", note))
    return _outcome("ses-event", ses_events.apply(notification_id, note))


def sms_event(event) -> str:
    return sms_delivery_event(event.message or "", _sns_id(event) or "unknown")


def sms_delivery_event(message: str, notification_id: str) -> str:
    """One SMS delivery event body: applied, or recorded as rejected."""
    from chalicelib.events import provider  # deferred: cold start
    from chalicelib.services.inbound import sms_events  # deferred: cold start

    try:
        found = provider.sms_event(message)
    except provider.Unusable as exc:
        return _outcome("sms-event", sms_events.reject(notification_id, str(exc)))
    return _outcome("sms-event", sms_events.handle(found))


def _outcome(source: str, outcome: str) -> str:
    """Rejections are counted: an alarm watches them (infra/template.yaml)."""
    if outcome == "rejected":
        observability.count("EventsRejected", source=source)
    return outcome
