"""Outbound MIME (integrations/email_out.py), read as raw bytes the way a mail client sees them."""
from __future__ import annotations

import pytest

from chalicelib.integrations import email_out

LONG_URL = ("https://abcdefghij.execute-api.ap-south-1.amazonaws.com/api/unsubscribe/"
            + "t" * 120 + "?lang=bn")


def _raw(**extra) -> str:
    fields = dict(sender_name="Setu সাপোর্ট", sender="support@example.com", to="a@example.com",
                  subject="আপনার টিকিট #১০০১", text="hello", html="<p>hello</p>",
                  message_id="<m1@example.com>")
    return email_out.build(**{**fields, **extra}).as_bytes().decode("ascii")


def test_list_unsubscribe_stays_one_readable_line():
    raw = _raw(automatic=True, list_unsubscribe=LONG_URL)
    assert f"List-Unsubscribe: <{LONG_URL}>\n" in raw.replace("\r\n", "\n")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert "Auto-Submitted: auto-generated" in raw


@pytest.mark.parametrize("field", ["subject", "to", "reply_to"])
def test_header_injection_is_refused(field):
    with pytest.raises(ValueError):
        _raw(**{field: "x@example.com\r\nBcc: victim@example.com"})
