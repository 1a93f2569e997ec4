"""SNS adapters for inbound email, inbound SMS and SES bounce/complaint notifications.

Until the email and SMS channels land, each notification is recorded once (by SNS message
id) so nothing that arrives is lost.
"""
from __future__ import annotations

import logging

from chalicelib.services import inbound

log = logging.getLogger("setu.inbound")


def record(source: str, event) -> None:
    records = event.to_dict().get("Records") or [{}]
    provider_id = (records[0].get("Sns") or {}).get("MessageId") or ""
    if not provider_id:
        log.error("%s notification without a MessageId; dropped", source)
        return
    first = inbound.record_raw(source, provider_id, event.message or "")
    log.info("%s notification %s %s", source, provider_id, "recorded" if first else "duplicate")
