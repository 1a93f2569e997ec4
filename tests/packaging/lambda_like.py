"""Run the packaged app the way Lambda does, and report what it did as JSON on stdout.

Executed as a script by tests/packaging, never imported by them:

    python -I -S lambda_like.py CONFIG.json

``-I -S``: no site-packages, no user site, no PYTHON* variables; sys.path is then the
standard library plus the folders CONFIG names (for the Lambda-like run: the unzipped
deployment package and a folder holding only boto3 and its dependencies, the libraries the
Lambda runtime provides). The same probes run a second time with the full virtualenv and
only app.py + chalicelib from the zip (the reference run), so a test can show that pruning
the libraries changed no result.

CONFIG: {"paths": [...], "site": bool, "probes": [...], "mail": [eml paths],
         "holiday_countries": [...], "years": [...]}. Only the standard library is used
before the paths are in place.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import time
import traceback
import uuid


class Context:
    """What Lambda passes as the handler's context (the parts Chalice and powertools read)."""

    function_name = "setu-test-api_handler"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:setu-test-api_handler"
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/setu-test-api_handler"
    log_stream_name = "2026/01/01/[$LATEST]0"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def api_event(method: str, path: str, *, body: str | None = None, headers: dict | None = None,
              query: dict | None = None) -> dict:
    """An API Gateway REST proxy event, as API Gateway sends it to the API function."""
    headers = {"Host": "example.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query, "multiValueQueryStringParameters":
            {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/api{path}",
                           "stage": "api", "requestId": str(uuid.uuid4()),
                           "identity": {"sourceIp": "203.0.113.7", "userArn": None}},
        "body": body, "isBase64Encoded": False,
    }


def sns_event(message: str, topic: str) -> dict:
    message_id = str(uuid.uuid4())
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"arn:aws:sns:us-east-1:123456789012:{topic}:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": message_id,
                "TopicArn": f"arn:aws:sns:us-east-1:123456789012:{topic}", "Subject": None,
                "Message": message, "Timestamp": "2026-01-04T05:06:07.000Z",
                "SignatureVersion": "1", "MessageAttributes": {}},
    }]}


def _digest(text) -> str | None:
    if text is None:
        return None
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


# ---- probes: each returns JSON-able data --------------------------------------------------

def probe_environment(config: dict) -> dict:
    import importlib.util

    def origin(name: str) -> str | None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        return spec.origin if spec else None

    return {
        "version": list(sys.version_info[:2]),
        "site_imported": "site" in sys.modules,
        "path": sys.path,
        "origins": {name: origin(name) for name in (
            "app", "chalicelib", "chalice", "pynamodb", "boto3", "botocore", "dateutil",
            "jmespath", "urllib3", "aws_lambda_powertools", "holidays", "nh3", "moto",
            "pytest", "yaml", "requests", "dns", "aws_xray_sdk")},
    }


def probe_import_app(config: dict) -> dict:
    started = time.perf_counter()
    import app  # noqa: F401

    return {"ms": round((time.perf_counter() - started) * 1000, 1),
            "handlers": sorted(n for n in ("timer_fired", "ticket_changed", "timeline_appended",
                                           "inbound_email", "inbound_sms", "ses_events")
                               if callable(getattr(app, n, None)))}


def probe_health(config: dict) -> dict:
    import app

    response = app.app(api_event("GET", "/health"), Context())
    return {"status": response["statusCode"], "body": json.loads(response["body"])}


def probe_chalicelib(config: dict) -> dict:
    """Every module of chalicelib imports (lazy imports inside functions included)."""
    import pkgutil

    import chalicelib

    failures, count = {}, 0
    for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        count += 1
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # noqa: BLE001 - reported
            failures[info.name] = _error(exc)
    return {"modules": count, "failures": failures}


def probe_all_modules(config: dict) -> dict:
    """Import every Python module in the first path folder (the unzipped package)."""
    root = config["paths"][0]
    failures, count = {}, 0
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and not os.path.exists(os.path.join(folder, "__init__.py")):
            dirs[:] = []  # not a package (a *.dist-info folder, data files)
            continue
        dirs[:] = sorted(d for d in dirs if d.isidentifier())
        for name in sorted(files):
            stem = name[:-3]
            if not name.endswith(".py") or not stem.isidentifier() or stem == "__main__":
                continue
            module = ".".join(parts + ([] if stem == "__init__" else [stem]))
            if not module:
                continue
            count += 1
            try:
                importlib.import_module(module)
            except BaseException as exc:  # noqa: BLE001 - SystemExit included
                failures[module] = _error(exc)
    return {"modules": count, "failures": failures}


def probe_mail(config: dict) -> dict:
    from chalicelib.mail.parse import parse
    from chalicelib.mail.reply import visible_text

    out = {}
    for path in config.get("mail", []):
        with open(path, "rb") as handle:
            raw = handle.read()
        try:
            mail = parse(raw)
            out[os.path.basename(path)] = {
                "ok": mail.ok, "subject": mail.subject, "from": mail.from_address,
                "text": _digest(mail.text), "html": _digest(mail.html),
                "visible": _digest(visible_text(mail.text)),
                "attachments": [[a.filename, a.content_type, a.size, _digest(a.data.hex())]
                                for a in mail.attachments],
                "defects": sorted(mail.defects)}
        except Exception as exc:  # noqa: BLE001 - reported
            out[os.path.basename(path)] = {"error": _error(exc)}
    return out


def probe_sanitise(config: dict) -> dict:
    from chalicelib.mail import html

    sample = ('<p onclick="x()">Hello <b>রহিম</b><script>alert(1)</script>'
              '<a href="javascript:evil()">link</a><img src="cid:logo"></p>')
    return {"sanitised": html.sanitise(sample), "text": html.to_text(sample)}


def probe_contacts(config: dict) -> dict:
    import phonenumbers

    from chalicelib.services.customers import contacts

    def phone(raw: str) -> str:
        try:
            return contacts.normalise_phone(raw)
        except contacts.InvalidContact as exc:
            return f"invalid: {exc}"

    def email(raw: str) -> str:
        try:
            return contacts.normalise_email(raw)
        except contacts.InvalidContact as exc:
            return f"invalid: {exc}"

    regions = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number(region)
        if example is not None:
            text = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            regions[region] = phone(text)
    local = {raw: phone(raw) for raw in (
        "01711-000000", "+880 1711 000000", "০১৭১১০০০০০০", "8801711000000", "1711000000",
        "12345", "+1 415 555 0100", "+44 20 7946 0958", "")}
    emails = {raw: email(raw) for raw in (
        "Rahim@Example.com", "user@bücher.example", "অমিত@উদাহরণ.বাংলা", "no-at-sign",
        "a@b", "x@[127.0.0.1]")}
    return {"regions": regions, "local": local, "emails": emails}


def probe_holidays(config: dict) -> dict:
    import holidays

    from chalicelib.services.sla import calendars

    dates = {code: sorted(d.isoformat() for d in holidays.country_holidays(
        code, years=config["years"]).keys()) for code in config["holiday_countries"]}
    default = calendars.BUILTIN["default"]
    known = {code: calendars._known_country(code) for code in ("BD", "IN", "US", "GB", "ZZ")}
    refused = {}
    for code in ("BD", "US"):
        try:
            calendars.parse_calendar("probe", {"hours": {"sun": [["09:00", "17:00"]]},
                                               "holidays_country": code})
            refused[code] = None
        except Exception as exc:  # noqa: BLE001 - the ValidationFailed we expect, or not
            refused[code] = [type(exc).__name__, getattr(exc, "fields", None)]
    return {"dates": dates, "default_country": default.country, "known": known,
            "refused": refused,
            "default_closed_days": [d for d in dates.get(default.country, [])]}


def probe_templates(config: dict) -> dict:
    from chalicelib.services.messaging import templates

    env = templates.environment()
    names = sorted(env.list_templates())
    failures = {}
    for name in names:
        try:
            env.get_template(name)
        except Exception as exc:  # noqa: BLE001 - reported
            failures[name] = _error(exc)
    return {"templates": names, "failures": failures}


def probe_idempotency_import(config: dict) -> dict:
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: F401
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="fingerprint")
    return {"ok": True}


# ---- probes that need AWS (the emulator) ---------------------------------------------------

def probe_events(config: dict) -> dict:
    import app
    from chalicelib.db.models import Key

    out: dict = {}
    body = json.dumps({"name": "রহিম", "email": "rahim.pkg@example.com",
                       "phone": "01711-000000", "message": "আমার অর্ডার আসেনি", "lang": "bn"},
                      ensure_ascii=False)
    headers = {"Content-Type": "application/json", "Idempotency-Key": "pkg-" + uuid.uuid4().hex}
    first = app.app(api_event("POST", "/tickets", body=body, headers=headers), Context())
    again = app.app(api_event("POST", "/tickets", body=body, headers=headers), Context())
    out["create"] = {"status": [first["statusCode"], again["statusCode"]],
                     "same": json.loads(first["body"]) == json.loads(again["body"]),
                     "body": json.loads(first["body"])}
    form = app.app(api_event("GET", "/form", query={"lang": "bn"}), Context())
    out["form"] = {"status": form["statusCode"], "has_form": "<form" in form["body"]}

    sms = sns_event("this is not JSON", "setu-inbound-sms")
    email = sns_event('{"notificationType": "Bounce"}', "setu-inbound-email")
    outcome_sms = app.inbound_sms(sms, Context())
    outcome_email = app.inbound_email(email, Context())
    sms_id, email_id = (e["Records"][0]["Sns"]["MessageId"] for e in (sms, email))
    out["rejections"] = {
        "sms": outcome_sms, "email": outcome_email,
        "sms_recorded": Key.count(f"inbound#sms-rejected#{sms_id}", limit=1),
        "email_recorded": Key.count(f"inbound#email-rejected#{email_id}", limit=1),
    }
    return out


PROBES = {name[len("probe_"):]: fn for name, fn in globals().items() if name.startswith("probe_")}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    sys.path[:0] = config["paths"]
    results = {}
    for name in config["probes"]:
        try:
            results[name] = PROBES[name](config)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[name] = {"error": _error(exc), "traceback": traceback.format_exc()[-3000:]}
    sys.stdout.flush()
    print("\n@@RESULT@@" + json.dumps(results, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
