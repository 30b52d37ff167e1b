"""The answers the balancer writes itself, as bytes: status lines and JSON errors.

Every error of ours has the body ``{"detail": reason}`` (FastAPI's shape, as
the photo app's), whether it is a refusal of the client's request (400, 408,
413, 414, 431, 501, 505, see :mod:`.head`) or a backend's failure (502, 503,
504, see :mod:`.forward`).
"""

from __future__ import annotations

import json
from http import HTTPStatus

__all__ = ["error_bytes", "status_line"]

_PHRASES = {status.value: status.phrase.encode() for status in HTTPStatus}


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <reason phrase>`` and CRLF (no phrase for an unknown status)."""
    return b"HTTP/1.1 %d %s\r\n" % (status, _PHRASES.get(status, b""))


def error_bytes(
    status: int, reason: str, *, keep_alive: bool, request_id: bytes | None = None
) -> bytes:
    """A whole JSON error answer ``{"detail": reason}`` (FastAPI's shape, as the app's)."""
    body = (json.dumps({"detail": reason}) + "\n").encode()
    return b"".join(
        (
            status_line(status),
            b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
            b"" if request_id is None else b"x-request-id: " + request_id + b"\r\n",
            b"" if keep_alive else b"connection: close\r\n",
            b"\r\n",
            body,
        )
    )
