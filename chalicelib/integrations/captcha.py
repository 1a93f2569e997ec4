"""Server-side CAPTCHA verification: Cloudflare Turnstile or hCaptcha's `siteverify`.

Both take a form POST of `secret`, `response` (the token the widget put in the form) and
`remoteip`, and answer JSON with `success`. One HTTPS request per web-form post, only when a
stage turns the CAPTCHA on (SETU_CAPTCHA_PROVIDER); the URL can be pointed elsewhere
(SETU_CAPTCHA_VERIFY_URL: the tests' stand-in on 127.0.0.1). A provider that cannot be
reached counts as a failed check: the form asks again, nothing is created.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

VERIFY_URLS = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
}
TIMEOUT_SECONDS = 5


def verify(provider: str, secret: str, token: str, remote_ip: str, url: str = "") -> bool:
    target = url or VERIFY_URLS[provider]
    data = urllib.parse.urlencode({"secret": secret, "response": token,
                                   "remoteip": remote_ip}).encode()
    request = urllib.request.Request(target, data=data, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = json.loads(response.read(65536) or b"{}")
    except (urllib.error.URLError, TimeoutError, ValueError, OSError):
        return False
    return isinstance(answer, dict) and answer.get("success") is True
