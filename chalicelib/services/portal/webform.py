"""Validation of the public web form (POST /tickets). Pure: no AWS, no HTTP."""
from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import asdict, dataclass, field

from chalicelib import config
from chalicelib.errors import ValidationFailed
from chalicelib.services.customers import contacts
from chalicelib.services.messaging import sms_budget
from chalicelib.services.messaging.templates import bn_digits
from chalicelib.services.team import departments
from chalicelib.services.tickets import attachments

FIELDS = ("name", "email", "phone", "subject", "message", "department", "lang", "website")
MAX_LENGTH = {"name": 200, "email": 254, "phone": 32, "subject": 200, "message": 20_000,
              "department": 64, "lang": 8, "website": 200}
LANGS = ("bn", "en")

ALLOWED_ATTACHMENT_TYPES = attachments.ALLOWED  # what a file may be (judged by its content)


@dataclass
class Upload:
    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class WebContact:
    message: str
    name: str = ""
    email: str = ""
    phone: str = ""
    subject: str = ""
    department: str = "general"
    lang: str = "bn"
    attachments: list[Upload] = field(default_factory=list)

    def fingerprint(self) -> str:
        """A hash of everything submitted, for Idempotency-Key payload validation."""
        digest = hashlib.sha256()
        for key, value in sorted(asdict(self).items()):
            if key != "attachments":
                digest.update(f"{key}={value}\x00".encode())
        for upload in self.attachments:
            digest.update(upload.filename.encode() + hashlib.sha256(upload.data).digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class Limits:
    max_attachment_bytes: int
    max_total_bytes: int
    max_attachments: int


def clean_text(value: str) -> str:
    """NFC, no control characters except newlines and tabs, trimmed."""
    value = unicodedata.normalize("NFC", value)
    value = "".join(ch for ch in value
                    if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
                    or ch in "\u200c\u200d")  # ZWNJ/ZWJ shape Bengali conjuncts
    return value.strip()


def validate(raw: dict[str, str], uploads: list[Upload], limits: Limits) -> WebContact:
    """Return the cleaned contact or raise ValidationFailed naming every bad field. The
    exception's `fields` are the English messages of the JSON contract; its `problems` the
    same as codes with parameters ({field: (code, params)}), which the HTML form shows in
    the customer's language (`localized`)."""
    problems: dict[str, tuple[str, dict]] = {}
    for key in raw:
        if key not in FIELDS:
            problems[key] = ("unknown_field", {})
    values: dict[str, str] = {}
    for key in FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems[key] = ("not_text", {})
            continue
        if len(value) > MAX_LENGTH[key]:
            problems[key] = ("too_long", {"n": MAX_LENGTH[key]})
            continue
        values[key] = clean_text(value)

    if values.get("website"):
        problems["website"] = ("honeypot", {})
    if not values.get("message") and "message" not in problems:
        problems["message"] = ("required", {})

    contact = WebContact(message=values.get("message", ""))
    contact.name = values.get("name", "")
    if values.get("email"):
        try:
            contact.email = contacts.normalise_email(values["email"])
        except contacts.InvalidContact:
            problems["email"] = ("invalid_email", {})
    if values.get("phone"):
        try:
            contact.phone = contacts.normalise_phone(values["phone"])
        except contacts.InvalidContact:
            problems["phone"] = ("invalid_phone", {})
        else:  # we may text it (an acknowledgement, a reply): the SMS budget's destinations
            refused = sms_budget.destination_problem(contact.phone)
            if refused:
                problems["phone"] = ("sms_destination", {"why": refused})
    if not values.get("email") and not values.get("phone") \
            and "email" not in problems and "phone" not in problems:
        problems["email"] = ("contact_required", {})
        problems["phone"] = ("contact_required", {})

    department = values.get("department") or "general"
    if not departments.is_department(department):
        problems["department"] = ("bad_department", {"choices": ", ".join(departments.names())})
    contact.department = department
    lang = values.get("lang") or "bn"
    if lang not in LANGS:
        problems["lang"] = ("bad_lang", {})
    contact.lang = lang

    subject = values.get("subject", "")
    contact.subject = " ".join(subject.split()) or _subject_from(contact.message)

    problems.update(_upload_problems(uploads, limits))
    contact.attachments = uploads
    if problems:
        error = ValidationFailed("The form has errors.",
                                 {name: english(code, params) for name, (code, params) in problems.items()})
        error.problems = problems  # type: ignore[attr-defined]
        raise error
    return contact


# ---- messages: English for the JSON contract, bn/en for the HTML form ----------------------

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_field": {"en": "unknown field", "bn": "অজানা ঘর"},
    "not_text": {"en": "must be a string", "bn": "লেখা দিন"},
    "too_long": {"en": "at most {n} characters", "bn": "সর্বোচ্চ {n} অক্ষর লিখুন"},
    "honeypot": {"en": "must be left empty", "bn": "এই ঘরটি খালি রাখুন"},
    "required": {"en": "required", "bn": "এটি লিখতে হবে"},
    "invalid_email": {"en": "not a valid email address",
                      "bn": "ইমেইল ঠিকানাটি সঠিক নয় (যেমন: name@example.com)"},
    "sms_destination": {"en": "we cannot text this number ({why}): give a mobile number in "
                              "Bangladesh, or leave it empty and give an email",
                        "bn": "এই নম্বরে আমরা SMS পাঠাতে পারি না — বাংলাদেশের মোবাইল নম্বর দিন, "
                              "অথবা নম্বর খালি রেখে ইমেইল দিন"},
    "invalid_phone": {"en": "not a valid phone number",
                      "bn": "মোবাইল নম্বরটি সঠিক নয় (যেমন: 01711-000000)"},
    "contact_required": {"en": "email or phone is required",
                         "bn": "ইমেইল অথবা মোবাইল নম্বর — অন্তত একটি দিন"},
    "bad_department": {"en": "one of: {choices}", "bn": "তালিকা থেকে একটি বিভাগ বেছে নিন"},
    "bad_lang": {"en": "one of: bn, en", "bn": "bn অথবা en"},
    "too_many_files": {"en": "at most {n} files", "bn": "সর্বোচ্চ {n}টি ফাইল দিন"},
    "empty_file": {"en": "{name}: empty file", "bn": "{name}: ফাইলটি খালি"},
    "file_too_large": {"en": "{name}: larger than {n} bytes",
                       "bn": "{name}: ফাইলটি বড় — সর্বোচ্চ {size}"},
    "file_type": {"en": "{name}: file type {type} is not accepted",
                  "bn": "{name}: এই ধরনের ফাইল নেওয়া যায় না (ছবি, PDF, লেখা বা অফিস ফাইল দিন)"},
    "file_content": {"en": "{name}: content is not {type}",
                     "bn": "{name}: ফাইলের ভেতরের তথ্য তার ধরনের সাথে মেলে না"},
    "files_too_large": {"en": "files together larger than {n} bytes",
                        "bn": "সব ফাইল মিলিয়ে সর্বোচ্চ {size}"},
}


def english(code: str, params: dict) -> str:
    return MESSAGES.get(code, {"en": code})["en"].format(**_params(params, "en"))


def localized(problems: dict[str, tuple[str, dict]], lang: str) -> dict[str, str]:
    """Field -> the problem as the customer reads it (Bengali digits in bn)."""
    lang = lang if lang in LANGS else "bn"
    return {name: MESSAGES.get(code, {"en": code, "bn": code})[lang].format(**_params(params, lang))
            for name, (code, params) in problems.items()}


def _params(params: dict, lang: str) -> dict:
    out = dict(params)
    if "n" in out:
        out.setdefault("size", _size(int(out["n"]), lang))
    if lang == "bn":
        out = {k: bn_digits(v) if isinstance(v, int) or k in ("n", "size") else v
               for k, v in out.items()}
    return out


def _size(n: int, lang: str) -> str:
    if n >= 1024 * 1024:
        text = f"{n / (1024 * 1024):.0f} MB" if n % (1024 * 1024) == 0 else f"{n / (1024 * 1024):.1f} MB"
    else:
        text = f"{max(1, n // 1024)} KB"
    return text


def _subject_from(message: str) -> str:
    words = " ".join(message.split())
    return words if len(words) <= 80 else words[:77].rstrip() + "..."


def limits_from_settings() -> Limits:
    current = config.settings()
    return Limits(max_attachment_bytes=current.max_attachment_bytes,
                  max_total_bytes=current.max_request_attachments_bytes,
                  max_attachments=current.max_attachments)


def check_uploads(uploads: list[Upload], limits: Limits) -> dict[str, str]:
    """Per-field errors for files (count, size, type allowlist, content matching the type)."""
    return {name: english(code, params) for name, (code, params) in _upload_problems(uploads, limits).items()}


def _upload_problems(uploads: list[Upload], limits: Limits) -> dict[str, tuple[str, dict]]:
    problems: dict[str, tuple[str, dict]] = {}
    if len(uploads) > limits.max_attachments:
        problems["attachments"] = ("too_many_files", {"n": limits.max_attachments})
    total = 0
    for upload in uploads:
        name = upload.field or "attachments"
        total += upload.size
        about = {"name": upload.filename, "type": upload.content_type}
        if upload.size == 0:
            problems[name] = ("empty_file", about)
        elif upload.size > limits.max_attachment_bytes:
            problems[name] = ("file_too_large", {**about, "n": limits.max_attachment_bytes})
        else:  # by what the bytes are (services/tickets/attachments.py), not the declared type
            kind, why = attachments.judge(upload.content_type, upload.data)
            if why:
                problems[name] = (why, about)
            else:
                upload.content_type = kind
    if total > limits.max_total_bytes and "attachments" not in problems:
        problems["attachments"] = ("files_too_large", {"n": limits.max_total_bytes})
    return problems


# ---- where the form may be posted from and embedded in -------------------------------------

def allowed_origins() -> tuple[str, ...]:
    """Origins (scheme://host[:port]) of other sites that may embed the form in an iframe,
    post it, or call POST /tickets from a script (CORS): SETU_FORM_ORIGINS, comma or space
    separated, per stage in .chalice/config.json; `*` allows any. Read on each call (cheap)."""
    raw = os.environ.get("SETU_FORM_ORIGINS", "")
    return tuple(dict.fromkeys(o.strip().rstrip("/") for o in raw.replace(",", " ").split() if o.strip()))


def origin_allowed(origin: str, own_origins: tuple[str, ...] = ()) -> bool:
    """May a browser page at `origin` post the form? Its own origin always may."""
    origin = (origin or "").strip().rstrip("/")
    if not origin:
        return True  # not a browser, or a same-origin request that sent none
    allowed = allowed_origins()
    return origin in own_origins or "*" in allowed or origin in allowed
