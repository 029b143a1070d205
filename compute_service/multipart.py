"""Multipart bodies (RFC 2046) split on their boundary, with part headers read by the stdlib email parser.

Splitting with `bytes.find` keeps a multi-megabyte image in a handful of copies, where the stdlib
feed parser would walk it line by line; the headers of each part are still parsed by `email`.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value

MAX_PARTS = 16


class MultipartError(ValueError):
    """A body that does not follow the multipart syntax."""


def split_multipart(content_type: str, body: bytes) -> list[tuple[Message, bytes]]:
    """(headers, content) per part of a multipart body (RFC 2046), without copying it line by line."""
    boundary = param(_header_block(f"Content-Type: {content_type}".encode()), "content-type", "boundary")
    if not boundary:
        raise MultipartError("the multipart content type has no boundary")
    delimiter = b"--" + boundary.encode("ascii", "replace")
    position = body.find(delimiter)
    if position < 0:
        raise MultipartError("the multipart body has no boundary")
    parts: list[tuple[Message, bytes]] = []
    position += len(delimiter)
    while not body.startswith(b"--", position):
        line_end = body.find(b"\r\n", position)
        end = body.find(b"\r\n" + delimiter, line_end)
        if line_end < 0 or end < 0 or len(parts) >= MAX_PARTS:
            raise MultipartError("the multipart body is truncated or has too many parts")
        raw = body[line_end + 2 : end]
        if raw.startswith(b"\r\n"):
            head, content = b"", raw[2:]  # a part with no headers
        else:
            head, separator, content = raw.partition(b"\r\n\r\n")
            if not separator:
                raise MultipartError("a multipart part has no header end")
        parts.append((_header_block(head), content))
        position = end + 2 + len(delimiter)
    return parts


def _header_block(raw: bytes) -> Message:
    return BytesHeaderParser().parsebytes(raw + b"\r\n\r\n")


def param(headers: Message, header: str, name: str) -> str | None:
    value = headers.get_param(name, header=header)
    return collapse_rfc2231_value(value) if value is not None else None


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()
