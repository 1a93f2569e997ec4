"""Setu: the Chalice app. Thin by design: routes live in chalicelib/api blueprints, event
handlers hand their events to chalicelib/events adapters. No work happens at import."""
import os

from chalice import Chalice, Cron

from chalicelib import observability
from chalicelib.api import (
    agents, console, console_pages, customers, departments, document, held, macros, public,
    reports, routing, sla, tickets,
)
from chalicelib.api.http import error_middleware
from chalicelib.events import inbound, schedule, streams, timers
from chalicelib.events import reports as report_adapter

app = Chalice(app_name="setu")
# Chalice sets its "setu" logger to ERROR unless debug; our warnings (rejected events, retries)
# must reach CloudWatch, so the level is ours to choose.
app.log.setLevel(os.environ.get("SETU_LOG_LEVEL", "INFO").upper())
app.api.binary_types.append("multipart/form-data")
app.register_middleware(observability.middleware(app.log), "all")
app.register_middleware(error_middleware, "http")
for blueprint in (public, tickets, customers, macros, routing, reports, sla, agents, held,
                  departments, document, console_pages):
    app.register_blueprint(blueprint.bp)
# people signed in with Cognito reach the same routes under /console/api/... (docs/console.md)
console.mirror(app)

# Event sources carry placeholder names: infra/lambda.yaml wires each to its real resource in
# the packaged template, and the local stack's pump (local/pump.py) delivers to them.
TICKETS_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/setu-tickets/stream/placeholder"
TIMELINE_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/setu-timeline/stream/placeholder"


@app.on_sqs_message(queue="setu-timers", batch_size=10)
def timer_fired(event):
    return timers.handle(event)


@app.on_dynamodb_record(stream_arn=TICKETS_STREAM, batch_size=50, starting_position="TRIM_HORIZON")
def ticket_changed(event):
    return streams.ticket_changed(event)


@app.on_dynamodb_record(stream_arn=TIMELINE_STREAM, batch_size=50, starting_position="TRIM_HORIZON")
def timeline_appended(event):
    return streams.timeline_appended(event)


# Report counters (services/reports/counters.py): ticket saves and new timeline messages, each stream
# in a function of its own, so a report failure never holds up timers or message dispatch.
@app.on_dynamodb_record(stream_arn=TICKETS_STREAM, batch_size=100, starting_position="TRIM_HORIZON")
def report_events(event):
    return report_adapter.handle(event)


@app.on_dynamodb_record(stream_arn=TIMELINE_STREAM, batch_size=100, starting_position="TRIM_HORIZON")
def report_timeline(event):
    return report_adapter.handle(event)


# Every five minutes on the clock (09:30, 09:35, ...): each department's briefing goes out at
# the first tick after its business day opens (services/reports/briefing_send.py).
@app.schedule(Cron("0/5", "*", "*", "*", "?", "*"), name="daily_briefing")
def daily_briefing(event):
    return schedule.daily_briefing(event)


@app.on_sns_message(topic="setu-inbound-email")
def inbound_email(event):
    inbound.email(event)


@app.on_sns_message(topic="setu-inbound-sms")
def inbound_sms(event):
    inbound.sms(event)


@app.on_sns_message(topic="setu-ses-events")
def ses_events(event):
    inbound.ses_event(event)


@app.on_sns_message(topic="setu-sms-events")
def sms_events(event):
    inbound.sms_event(event)
