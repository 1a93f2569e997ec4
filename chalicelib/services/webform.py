"""Validation of the public web form (POST /tickets). Pure: no AWS, no HTTP."""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import asdict, dataclass, field

from chalicelib import config
from chalicelib.errors import ValidationFailed
from chalicelib.services import contacts
from chalicelib.services.departments import DEPARTMENT_NAMES

FIELDS = ("name", "email", "phone", "subject", "message", "department", "lang", "website")
MAX_LENGTH = {"name": 200, "email": 254, "phone": 32, "subject": 200, "message": 20_000,
              "department": 64, "lang": 8, "website": 200}
LANGS = ("bn", "en")

ALLOWED_ATTACHMENT_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
    "application/pdf", "text/plain", "text/csv",
    "application/msword", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Leading bytes that a file of the declared type must start with (where a type has them).
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}


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
    """Return the cleaned contact or raise ValidationFailed naming every bad field."""
    errors: dict[str, str] = {}
    for key in raw:
        if key not in FIELDS:
            errors[key] = "unknown field"
    values: dict[str, str] = {}
    for key in FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[key] = "must be a string"
            continue
        if len(value) > MAX_LENGTH[key]:
            errors[key] = f"at most {MAX_LENGTH[key]} characters"
            continue
        values[key] = clean_text(value)

    if values.get("website"):
        errors["website"] = "must be left empty"
    if not values.get("message") and "message" not in errors:
        errors["message"] = "required"

    contact = WebContact(message=values.get("message", ""))
    contact.name = values.get("name", "")
    if values.get("email"):
        try:
            contact.email = contacts.normalise_email(values["email"])
        except contacts.InvalidContact:
            errors["email"] = "not a valid email address"
    if values.get("phone"):
        try:
            contact.phone = contacts.normalise_phone(values["phone"])
        except contacts.InvalidContact:
            errors["phone"] = "not a valid phone number"
    if not values.get("email") and not values.get("phone") \
            and "email" not in errors and "phone" not in errors:
        errors["email"] = "email or phone is required"
        errors["phone"] = "email or phone is required"

    department = values.get("department") or "general"
    if department not in DEPARTMENT_NAMES:
        errors["department"] = f"one of: {', '.join(sorted(DEPARTMENT_NAMES))}"
    contact.department = department
    lang = values.get("lang") or "bn"
    if lang not in LANGS:
        errors["lang"] = "one of: bn, en"
    contact.lang = lang

    subject = values.get("subject", "")
    contact.subject = " ".join(subject.split()) or _subject_from(contact.message)

    errors.update(_check_uploads(uploads, limits))
    contact.attachments = uploads
    if errors:
        raise ValidationFailed("The form has errors.", errors)
    return contact


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
    return _check_uploads(uploads, limits)


def _check_uploads(uploads: list[Upload], limits: Limits) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(uploads) > limits.max_attachments:
        errors["attachments"] = f"at most {limits.max_attachments} files"
    total = 0
    for upload in uploads:
        name = upload.field or "attachments"
        total += upload.size
        if upload.size == 0:
            errors[name] = f"{upload.filename}: empty file"
        elif upload.size > limits.max_attachment_bytes:
            errors[name] = f"{upload.filename}: larger than {limits.max_attachment_bytes} bytes"
        elif upload.content_type not in ALLOWED_ATTACHMENT_TYPES:
            errors[name] = f"{upload.filename}: file type {upload.content_type} is not accepted"
        elif upload.content_type in MAGIC and not upload.data.startswith(MAGIC[upload.content_type]):
            errors[name] = f"{upload.filename}: content is not {upload.content_type}"
    if total > limits.max_total_bytes and "attachments" not in errors:
        errors["attachments"] = f"files together larger than {limits.max_total_bytes} bytes"
    return errors
