"""Settings read lazily from the environment (never at import time).

On AWS the variables come from the packaged template (infra/lambda.yaml wires them to the
resources); on the local stack, `local/` sets them from the emulator's stack outputs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

TABLES = ("tickets", "timeline", "customers", "keys", "settings", "idempotency")


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    tables: dict[str, str]
    mail_bucket: str
    timer_state_machine_arn: str
    support_address: str
    support_name: str
    sms_number: str
    # End User Messaging SMS configuration set: when set, SMS go through SendTextMessage and
    # its event destination reports delivery (services/inbound/sms_events.py); else SNS Publish
    sms_configuration_set: str
    public_url: str
    console_url: str  # SETU_CONSOLE_URL, else <public_url>/console: the agent console (staff mail links)
    form_limit_per_hour: int
    max_attachment_bytes: int
    max_request_attachments_bytes: int
    max_attachments: int
    settings_cache_seconds: float
    sms_max_segments: int
    # abuse limits (docs/security.md): acknowledgements to one address an hour (any channel);
    # SMS: countries texted (ISO codes), texts to one number an hour, web-form SMS
    # acknowledgements per source IP an hour, and texts per stage an hour. 0 turns one off.
    ack_cap_per_hour: int = 3
    sms_countries: tuple[str, ...] = ("BD",)
    sms_cap_per_number: int = 5
    sms_cap_per_ip: int = 3
    sms_cap_per_hour: int = 500
    # optional CAPTCHA on the web form: "turnstile" | "hcaptcha" | "" (off)
    captcha_provider: str = ""
    captcha_secret: str = ""
    captcha_site_key: str = ""
    captcha_verify_url: str = ""
    # the agent console's Cognito user pool (SETU_USER_POOL_ID; docs/console.md): invitations
    user_pool_id: str = ""
    # the console's app client (SETU_USER_POOL_CLIENT_ID) and the Cognito endpoint the browser
    # signs in at (SETU_COGNITO_ENDPOINT; default the region's cognito-idp; the emulator locally)
    user_pool_client_id: str = ""
    cognito_endpoint: str = ""

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    def table(self, logical: str) -> str:
        return self.tables[logical]


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """An integer setting read from the environment on each call (not cached: tests and the
    local stack change it), at least `minimum`; unset or not a number: `default`. The one
    reader of the per-call integer settings (link lifetimes, retention days, limits)."""
    return max(minimum, _int(name, default))


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        return default


@lru_cache(maxsize=1)
def settings() -> Settings:
    stage = os.environ.get("SETU_STAGE", "dev")
    env = os.environ
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        tables={t: env.get(f"SETU_{t.upper()}_TABLE", f"setu-{stage}-{t}") for t in TABLES},
        mail_bucket=env.get("SETU_MAIL_BUCKET", f"setu-{stage}-mail"),
        timer_state_machine_arn=env.get("SETU_TIMER_STATE_MACHINE_ARN", ""),
        support_address=env.get("SETU_SUPPORT_ADDRESS", "support@setu.example.com"),
        support_name=env.get("SETU_SUPPORT_NAME", "Setu Support"),
        sms_number=env.get("SETU_SMS_NUMBER", ""),
        sms_configuration_set=env.get("SETU_SMS_CONFIGURATION_SET", ""),
        public_url=env.get("SETU_PUBLIC_URL", "").rstrip("/"),
        console_url=(env.get("SETU_CONSOLE_URL", "").strip()
                     or _joined(env.get("SETU_PUBLIC_URL", ""), "/console")).rstrip("/"),
        form_limit_per_hour=_int("SETU_FORM_LIMIT_PER_HOUR", 20),
        max_attachment_bytes=_int("SETU_MAX_ATTACHMENT_BYTES", 2 * 1024 * 1024),
        max_request_attachments_bytes=_int("SETU_MAX_REQUEST_ATTACHMENTS_BYTES", 4 * 1024 * 1024),
        max_attachments=_int("SETU_MAX_ATTACHMENTS", 5),
        settings_cache_seconds=float(_int("SETU_SETTINGS_CACHE_SECONDS", 30)),
        sms_max_segments=_int("SETU_SMS_MAX_SEGMENTS", 6),
        ack_cap_per_hour=_int("SETU_ACK_CAP_PER_HOUR", 3),
        sms_countries=tuple(c.strip().upper() for c in env.get("SETU_SMS_COUNTRIES", "BD").split(",")
                            if c.strip()),
        sms_cap_per_number=_int("SETU_SMS_CAP_PER_NUMBER", 5),
        sms_cap_per_ip=_int("SETU_SMS_CAP_PER_IP", 3),
        sms_cap_per_hour=_int("SETU_SMS_CAP_PER_HOUR", 500),
        captcha_provider=env.get("SETU_CAPTCHA_PROVIDER", "").strip().lower(),
        captcha_secret=env.get("SETU_CAPTCHA_SECRET", ""),
        captcha_site_key=env.get("SETU_CAPTCHA_SITE_KEY", ""),
        captcha_verify_url=env.get("SETU_CAPTCHA_VERIFY_URL", ""),
        user_pool_id=env.get("SETU_USER_POOL_ID", "").strip(),
        user_pool_client_id=env.get("SETU_USER_POOL_CLIENT_ID", "").strip(),
        cognito_endpoint=(env.get("SETU_COGNITO_ENDPOINT", "").strip().rstrip("/")
                          or "https://cognito-idp.{}.amazonaws.com".format(
                              env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")),
    )


def _joined(base: str, path: str) -> str:
    base = base.strip().rstrip("/")
    return base + path if base else ""


def reload() -> Settings:
    """Forget cached settings (tests and the local stack change the environment)."""
    settings.cache_clear()
    return settings()
