"""What an SMS may cost the business (docs/security.md, "SMS budget").

- Destinations: only mobile numbers (or numbers that may be mobile) in the allowed countries
  (SETU_SMS_COUNTRIES, default BD). Premium-rate, shared-cost, toll-free, personal, VoIP, pager
  and international-network (+881/+882/+883) numbers are refused: the web form says so, and
  the outbox refuses to text them whoever asked (`destination_problem`, pure).
- Caps: texts to one number an hour (SETU_SMS_CAP_PER_NUMBER) and texts per stage an hour
  (SETU_SMS_CAP_PER_HOUR), counted in the keys table just before each send (`spend`: one
  TransactWriteItems with two conditional counters, expiring after two hours). Over a cap
  nothing is sent: the message is recorded failed with the reason, an automatic notice falls
  back to email (services/messaging/fallback.py), and the `SmsCapHit` metric is counted (an
  alarm watches it). Web-form acknowledgements are also capped per sender IP at intake.

AWS side (docs/packaging.md): End User Messaging's account spend limit and protect
configuration (country rules) are the last line; these caps keep Setu well under them.
"""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock, config, observability
from chalicelib.db import keys
from chalicelib.db.connection import Cancelled, transaction
from chalicelib.db.models import Key

# phonenumbers.PhoneNumberType: MOBILE = 1, FIXED_LINE_OR_MOBILE = 2
TEXTABLE_TYPES = (1, 2)


def destination_problem(e164: str) -> str | None:
    """Why `e164` may not be texted, or None."""
    import phonenumbers  # deferred: cold start (not loaded by `import app`)

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "not a phone number"
    countries = config.settings().sms_countries
    region = phonenumbers.region_code_for_number(number)
    if region not in countries:
        return f"we text numbers in {', '.join(countries)} only"
    if phonenumbers.number_type(number) not in TEXTABLE_TYPES:
        return "not a mobile number"
    return None


def spend(recipient: str) -> str | None:
    """Count one text to `recipient`; the cap it would break (nothing counted then), or None."""
    current, now = config.settings(), clock.now()
    window = now.strftime("%Y%m%d%H")
    expires = int((now + timedelta(hours=2)).timestamp())
    caps = [(keys.rate_pk("sms-to", recipient), current.sms_cap_per_number, "number"),
            (keys.rate_pk("sms", current.stage), current.sms_cap_per_hour, "stage")]
    caps = [cap for cap in caps if cap[1] > 0]
    if not caps:
        return None
    try:
        with transaction() as tx:
            for pk, limit, scope in caps:
                tx.update(Key(pk=pk, sk=window), actions=[Key.value.add(1),
                                                          Key.expires_at.set(expires)],
                          condition=Key.value.does_not_exist() | (Key.value < limit), label=scope)
    except Cancelled as exc:
        scope = "number" if "number" in exc.labels else "stage"
        observability.count("SmsCapHit", scope=scope)
        limit = dict((s, n) for _, n, s in caps)[scope]
        return (f"SMS cap: {limit} an hour to one number" if scope == "number"
                else f"SMS cap: {limit} an hour for this installation")
    return None
