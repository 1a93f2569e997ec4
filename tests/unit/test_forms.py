"""Parsing request bodies of the public form (JSON, urlencoded, multipart)."""
import json

import pytest

from chalicelib.api import forms
from chalicelib.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed


def multipart(parts, boundary="XyZ"):
    chunks = []
    for headers, body in parts:
        chunks.append(f"--{boundary}\r\n{headers}\r\n\r\n".encode() + body + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks) + f"--{boundary}--\r\n".encode()


def test_json_object():
    fields, uploads = forms.parse("application/json; charset=utf-8", json.dumps({"message": "হ্যালো"}).encode())
    assert fields == {"message": "হ্যালো"} and uploads == []


@pytest.mark.parametrize("body", [b"{", b"[1,2]", b"\xff\xfe", b'"text"'])
def test_bad_json_is_400(body):
    with pytest.raises(BadRequest):
        forms.parse("application/json", body)


def test_urlencoded_utf8_and_repeated_fields():
    fields, _ = forms.parse("application/x-www-form-urlencoded",
                            "message=%E0%A6%B9%E0%A7%8D%E0%A6%AF%E0%A6%BE&name=R".encode())
    assert fields == {"message": "হ্যা", "name": "R"}
    with pytest.raises(ValidationFailed) as info:
        forms.parse("application/x-www-form-urlencoded", b"message=a&message=b")
    assert info.value.fields == {"message": "given more than once"}


def test_multipart_fields_and_files_with_unicode_names():
    content_type, body = multipart([
        ('Content-Disposition: form-data; name="message"', "বার্তা".encode()),
        ("Content-Disposition: form-data; name=\"attachments\"; filename*=UTF-8''%E0%A6%9B%E0%A6%AC%E0%A6%BF.png\r\n"
         "Content-Type: image/png", b"\x89PNG\r\n\x1a\nDATA"),
        ('Content-Disposition: form-data; name="attachments"; filename=""\r\nContent-Type: application/octet-stream', b""),
    ])
    fields, uploads = forms.parse(content_type, body)
    assert fields == {"message": "বার্তা"}
    assert [(u.filename, u.content_type, u.data) for u in uploads] == [("ছবি.png", "image/png", b"\x89PNG\r\n\x1a\nDATA")]


def test_multipart_path_in_filename_is_dropped():
    content_type, body = multipart([
        ('Content-Disposition: form-data; name="attachments"; filename="..\\..\\evil\\a.txt"\r\nContent-Type: text/plain', b"hi"),
    ])
    _, uploads = forms.parse(content_type, body)
    name = uploads[0].filename
    # The quoted-string unescapes the backslashes; what is left must not be a path.
    assert name.endswith("a.txt") and "/" not in name and "\\" not in name and ".." not in name


@pytest.mark.parametrize("content_type,body", [
    ("multipart/form-data", b"no boundary"),
    ("multipart/form-data; boundary=abc", b"garbage without parts"),
])
def test_malformed_multipart_is_400(content_type, body):
    with pytest.raises(BadRequest):
        forms.parse(content_type, body)


def test_unknown_file_field_is_named():
    content_type, body = multipart([
        ('Content-Disposition: form-data; name="avatar"; filename="a.png"\r\nContent-Type: image/png', b"x"),
    ])
    with pytest.raises(ValidationFailed) as info:
        forms.parse(content_type, body)
    assert info.value.fields == {"avatar": "unknown file field"}


@pytest.mark.parametrize("content_type", ["text/xml", "", "application/jsonx"])
def test_other_media_types_are_415(content_type):
    with pytest.raises(UnsupportedMediaType):
        forms.parse(content_type, b"{}")


def test_oversized_body_is_413():
    with pytest.raises(PayloadTooLarge):
        forms.parse("application/json", b" " * (forms.MAX_BODY_BYTES + 1))
