"""Scheduled ticks (EventBridge rules): the daily briefing, and the staff mail digests.

The tick runs every few minutes; services/reports/briefing_send.py decides which departments are due
(their business day has opened) and sends each briefing once; services/messaging/staff.py sends
the digests of the windows (and quiet hours) that have ended, each once. The event itself carries
nothing we need beyond its time, which we do not trust over our own clock.
"""
from __future__ import annotations

import logging

log = logging.getLogger("setu.briefing")


def daily_briefing(event=None) -> dict:
    from chalicelib.services.messaging import staff  # deferred: cold start (the tick only)
    from chalicelib.services.reports import briefing_send  # deferred: cold start (the API functions never load it)

    try:
        digests: dict = staff.send_digests()
    except Exception:  # noqa: BLE001 - the briefing goes out even when digests cannot
        log.exception("staff digests failed; the next tick tries again")
        digests = {"error": "see the log"}
    outcomes = briefing_send.run()
    return {"digests": digests,
            "briefed": [{"department": o.department, "day": o.day, "sent": len(o.sent),
                         "already": len(o.already), "skipped": len(o.skipped),
                         "failed": len(o.failed)} for o in outcomes]}
