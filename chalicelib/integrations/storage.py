"""Attachments and raw mail in the mail bucket."""
from __future__ import annotations

from chalicelib import config
from chalicelib.integrations.aws import client


def put_attachment(key: str, data: bytes, content_type: str, filename: str) -> None:
    client("s3").put_object(
        Bucket=config.settings().mail_bucket, Key=key, Body=data, ContentType=content_type,
        ContentDisposition=_disposition(filename),
    )


def _disposition(filename: str) -> str:
    from urllib.parse import quote

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
