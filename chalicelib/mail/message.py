"""What a parsed message is (`ParsedMail`, `Attachment`) and the one way to run the stdlib parser.

Guarantees: plain data, no behaviour beyond `Attachment.size`; `mime_parser()` is the stdlib's
`BytesParser` with the lenient `compat32` policy (raw header strings: nothing raises when a
header is read later), and `raw_items` never raises. Imports only `chalicelib.mail`-free code;
the `email` package is loaded on first use (it costs cold-start time).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the email package is imported on first use: it costs cold-start time
    from email.message import Message

MAX_HEADERS = 1000            # header fields kept in `headers`


@dataclass
class Attachment:
    filename: str            # safe basename, never empty
    content_type: str        # lower-case "type/subtype"
    data: bytes
    inline: bool             # Content-Disposition inline, or a Content-ID the html refers to
    content_id: str | None   # without <>

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMail:
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str | None = None
    from_name: str = ""
    reply_to: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    is_report: bool = False
    report_type: str | None = None
    encrypted: bool = False
    defects: list[str] = field(default_factory=list)
    ok: bool = False


def mime_parser():
    """The stdlib parser with compat32: raw header strings, nothing raises on access."""
    from email.parser import BytesParser  # deferred: cold start, the email package is large

    return BytesParser()


def raw_items(msg: Message) -> list[tuple[str, str]]:
    """(name, raw value) of every header field, in order; [] when the stdlib cannot say."""
    try:
        return [(str(k), v if isinstance(v, str) else str(v)) for k, v in msg.raw_items()]
    except Exception:  # noqa: BLE001
        return []
