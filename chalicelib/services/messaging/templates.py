"""Jinja2 rendering of mail and pages, bn and en. The environment is built on first use.

Templates shipped with the code live in chalicelib/templates; admin-edited templates (a later
issue) will render in a SandboxedEnvironment instead.
"""
from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib import clock
from chalicelib.ids import TO_BENGALI_DIGITS

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "templates")
BN_MONTHS = ("জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট",
              "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর")
_BN_DAYS = ("সোমবার", "মঙ্গলবার", "বুধবার", "বৃহস্পতিবার", "শুক্রবার", "শনিবার", "রবিবার")


def bn_digits(value: Any) -> str:
    return str(value).translate(TO_BENGALI_DIGITS)


def local_time(value: datetime, lang: str = "en") -> str:
    """A due time as a person in Dhaka reads it: 'Sunday 23 November, 10:30' / Bengali."""
    when = value.astimezone(clock.business_zone())
    if lang == "bn":
        text = f"{_BN_DAYS[when.weekday()]}, {when.day} {BN_MONTHS[when.month - 1]}, {when:%H:%M}"
        return bn_digits(text)
    return f"{when:%A} {when.day} {when:%B}, {when:%H:%M}"


# how people name the business time zone (clock.business_zone); another zone is named by its key
ZONE_NAMES = {"Asia/Dhaka": {"bn": "ঢাকা", "en": "Dhaka time"}}


def zone_name(lang: str) -> str:
    """The business time zone as staff read it beside a time: "ঢাকা" / "Dhaka time"."""
    key = clock.business_zone().key
    return ZONE_NAMES.get(key, {}).get(lang, key)


def ref_for(ref: str, lang: str) -> str:
    return "#" + (bn_digits(ref) if lang == "bn" else ref)


def plain(value: Any) -> str:
    """A macro's output as plain text (the `plain` filter). A macro defined in a template that
    does not autoescape (the shared `*.labels.j2`) and called from one that does (`*.html.j2`)
    comes back marked safe although nothing in it was escaped (Jinja marks by the caller's
    mode): customer text in it (a subject, a name) would reach the HTML unescaped. Every such
    call in an HTML template goes through `| plain`, so the HTML template escapes it."""
    return str.__str__(str(value))


@lru_cache(maxsize=1)
def environment():
    from jinja2 import (  # deferred: cold start
        Environment,
        FileSystemLoader,
        StrictUndefined,
        select_autoescape,
    )

    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"),
                                     default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["bn_digits"] = bn_digits
    env.filters["local_time"] = local_time
    env.filters["ref"] = ref_for
    env.filters["plain"] = plain
    return env


def render(template_name: str, /, **context: Any) -> str:
    return environment().get_template(template_name).render(**context)


def render_email(kind: str, lang: str, **context: Any) -> tuple[str, str, str]:
    """(subject, text, html) for mail `kind` in `lang` from templates/email/<kind>.<lang>.*"""
    subject = render(f"email/{kind}.{lang}.subject.txt", **context).strip()
    text = render(f"email/{kind}.{lang}.txt", **context).strip() + "\n"
    html = render(f"email/{kind}.{lang}.html.j2", **context)
    return " ".join(subject.split()), text, html
