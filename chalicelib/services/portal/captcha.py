"""The web form's optional CAPTCHA (off unless a stage sets SETU_CAPTCHA_PROVIDER to
`turnstile` or `hcaptcha`, with SETU_CAPTCHA_SITE_KEY for the page and SETU_CAPTCHA_SECRET for
the check). The token arrives in the provider's own form field (`cf-turnstile-response`,
`h-captcha-response`) or, from JSON clients, `captcha`; it is checked before anything is
written (chalicelib/integrations/captcha.py: one HTTPS call). docs/security.md.
"""
from __future__ import annotations

from typing import Any

from chalicelib import config
from chalicelib.errors import ValidationFailed
from chalicelib.integrations import captcha

TOKEN_FIELDS = ("captcha", "cf-turnstile-response", "h-captcha-response")
MAX_TOKEN = 4096


def require(fields: dict[str, Any], source_ip: str) -> None:
    """Take the token fields out of `fields`; when the CAPTCHA is on, a missing or failed
    token is a 422 on `captcha`."""
    tokens = [fields.pop(name) for name in TOKEN_FIELDS if name in fields]
    current = config.settings()
    if not current.captcha_provider:
        return
    token = next((t for t in tokens if isinstance(t, str) and 0 < len(t) <= MAX_TOKEN), "")
    if not token or not captcha.verify(current.captcha_provider, current.captcha_secret, token,
                                       source_ip, current.captcha_verify_url):
        raise ValidationFailed("Please complete the check that you are a person.",
                               {"captcha": "the check was not passed; try again"})


def widget() -> dict[str, str] | None:
    """What the form page needs to show the widget, or None when the CAPTCHA is off."""
    current = config.settings()
    if not current.captcha_provider:
        return None
    script = {"turnstile": "https://challenges.cloudflare.com/turnstile/v0/api.js",
              "hcaptcha": "https://js.hcaptcha.com/1/api.js"}.get(current.captcha_provider, "")
    css = {"turnstile": "cf-turnstile", "hcaptcha": "h-captcha"}.get(current.captcha_provider, "")
    return {"script": script, "class": css, "site_key": current.captcha_site_key}
