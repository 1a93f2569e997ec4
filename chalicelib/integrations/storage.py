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


def delete_every_version(prefix: str, *, exact: bool = False) -> int:
    """Delete every version and delete marker of the objects under `prefix` (only the object
    named `prefix` itself when `exact`) in the mail bucket, which is versioned: a plain
    DeleteObject would only hide the data behind a delete marker. Returns how many versions
    were deleted. AWS calls: ListObjectVersions per 1,000 versions, DeleteObjects per 1,000."""
    s3 = client("s3")
    bucket = config.settings().mail_bucket
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])
                  if not exact or v["Key"] == prefix]
        for start in range(0, len(doomed), 1000):
            batch = doomed[start:start + 1000]
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                raise RuntimeError(f"S3 refused to delete {len(result['Errors'])} object versions")
            deleted += len(batch)
    return deleted
