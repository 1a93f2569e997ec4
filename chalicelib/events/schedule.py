"""Scheduled ticks (EventBridge rules): the daily briefing.

The tick runs every few minutes; services/reports/briefing_send.py decides which departments are due
(their business day has opened) and sends each briefing once. The event itself carries
nothing we need beyond its time, which we do not trust over our own clock.
"""
from __future__ import annotations

import logging

log = logging.getLogger("setu.briefing")


def daily_briefing(event=None) -> dict:
    from chalicelib.services.reports import briefing_send  # deferred: cold start (the API functions never load it)

    outcomes = briefing_send.run()
    return {"briefed": [{"department": o.department, "day": o.day, "sent": len(o.sent),
                         "already": len(o.already), "skipped": len(o.skipped),
                         "failed": len(o.failed)} for o in outcomes]}
