"""Request bodies of the public form: JSON, urlencoded and multipart, into (fields, uploads).

Multipart is parsed with the standard library's email parser (the maintained successor of the
removed cgi module for this job); no part is trusted: names, filenames and types are checked.
"""
from __future__ import annotations

from email.parser import BytesParser
from urllib.parse import parse_qsl

from chalicelib import untrusted_json
from chalicelib.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from chalicelib.services.portal.webform import Upload

MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit
MAX_FIELDS = 50
ACCEPTED = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def parse(content_type: str, body: bytes) -> tuple[dict[str, str], list[Upload]]:
    kind = media_type(content_type or "")
    if kind not in ACCEPTED:
        raise UnsupportedMediaType(f"Send one of: {', '.join(ACCEPTED)}.",
                                   {"content-type": kind or "missing"})
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request is larger than {MAX_BODY_BYTES} bytes.")
    if kind == "application/json":
        return _json(body), []
    if kind == "application/x-www-form-urlencoded":
        return _urlencoded(body), []
    return _multipart(content_type, body)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.", {"body": "not UTF-8"}) from None


def _json(body: bytes) -> dict[str, str]:
    try:
        data = untrusted_json.loads(_text(body) or "null")
    except ValueError as exc:
        raise BadRequest(f"Malformed JSON: {exc.args[0] if exc.args else exc}",
                         {"body": "malformed JSON"}) from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", {"body": "must be an object"})
    if len(data) > MAX_FIELDS:
        raise BadRequest("Too many fields.", {"body": f"at most {MAX_FIELDS} fields"})
    return data


def _urlencoded(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(_text(body), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS, errors="strict")
    except ValueError:
        raise BadRequest("Too many or malformed fields.", {"body": "malformed form data"}) from None
    return _unique(pairs)


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    repeated: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            repeated[name] = "given more than once"
        fields[name] = value
    if repeated:
        raise ValidationFailed("Some fields were given more than once.", repeated)
    return fields


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[Upload]]:
    if "boundary=" not in content_type.lower():
        raise BadRequest("multipart/form-data needs a boundary.", {"content-type": "no boundary"})
    from email.policy import HTTP  # deferred: cold start (its header registry: ~3 ms)

    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest("Malformed multipart body.", {"body": "malformed multipart"})
    pairs: list[tuple[str, str]] = []
    uploads: list[Upload] = []
    parts = list(message.iter_parts())
    if not parts or message.defects:
        raise BadRequest("Malformed multipart body.", {"body": "malformed multipart"})
    if len(parts) > MAX_FIELDS:
        raise BadRequest("Too many parts.", {"body": f"at most {MAX_FIELDS} parts"})
    for part in parts:
        if part.get_content_disposition() != "form-data":
            raise BadRequest("Every part needs Content-Disposition: form-data.",
                             {"body": "part without form-data disposition"})
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise BadRequest("A part has no field name.", {"body": "part without a name"})
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            if not filename and not payload:
                continue  # a file input left empty by the browser
            uploads.append(Upload(field=name, filename=_safe_filename(filename),
                                  content_type=part.get_content_type(), data=payload))
        else:
            charset = part.get_content_charset() or "utf-8"
            try:
                pairs.append((name, payload.decode(charset)))
            except (UnicodeDecodeError, LookupError):
                raise BadRequest(f"Field {name} is not valid text.", {name: "not valid text"}) from None
    attachments = [u for u in uploads if u.field not in ("attachment", "attachments", "file", "files")]
    if attachments:
        raise ValidationFailed("Unknown file field.", {u.field: "unknown file field" for u in attachments})
    return _unique(pairs), uploads


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    return (cleaned or "attachment")[:120]
