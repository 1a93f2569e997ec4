"""Attachments and raw mail in the mail bucket."""
from __future__ import annotations

from urllib.parse import quote

from chalicelib import config
from chalicelib.integrations.aws import client


def put_attachment(key: str, data: bytes, content_type: str, filename: str) -> None:
    client("s3").put_object(
        Bucket=config.settings().mail_bucket, Key=key, Body=data, ContentType=content_type,
        ContentDisposition=_disposition(filename),
    )


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def delete_quietly(keys: list[str]) -> None:
    """Best-effort removal (cleanup after a request that committed nothing)."""
    if not keys:
        return
    try:
        client("s3").delete_objects(Bucket=config.settings().mail_bucket,
                                    Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    except Exception:  # noqa: BLE001 - the caller is already failing; don't mask its error
        pass


MAX_RAW_BYTES = 40 * 1024 * 1024  # SES receiving's own limit with an S3 action


def get_raw(bucket: str, key: str) -> bytes | None:
    """A stored raw message, or None when it is not there (any other error raises: retry)."""
    s3 = client("s3")
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None
    return response["Body"].read(MAX_RAW_BYTES + 1)[:MAX_RAW_BYTES]
