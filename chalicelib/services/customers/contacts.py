"""Normalising customer identities: email addresses and phone numbers (E.164, default BD)."""
from __future__ import annotations

from chalicelib.ids import BENGALI_DIGITS

DEFAULT_REGION = "BD"


class InvalidContact(ValueError):
    pass


def normalise_email(raw: str) -> str:
    """The address as we store it, or InvalidContact. Syntax only: no DNS lookups."""
    from email_validator import EmailNotValidError, validate_email  # deferred: cold start

    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None
    return result.normalized


def email_key(address: str) -> str:
    """Identity key: mailbox names are case-insensitive in practice everywhere we deliver."""
    return address.casefold()


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 (+8801711000000) from local or international formats, or InvalidContact."""
    import phonenumbers  # deferred: cold start (not loaded by `import app`)

    text = raw.strip().translate(BENGALI_DIGITS)
    if not text or len(text) > 32:
        raise InvalidContact("not a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidContact("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


