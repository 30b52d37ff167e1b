"""How much of a request the balancer reads, and how long it waits for it.

:class:`HttpLimits` is one record of every limit; :func:`.head.check_head`
applies the size limits of a request head (414, 431) and of a declared body
(413), :class:`.connection.ServerConnection` applies them again as the bytes
arrive (a head that never ends is cut at ``max_header_bytes``, a chunked body
at ``max_body_bytes``), and the timeouts (408).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HEADER_TIMEOUT_S",
    "IDLE_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_FIELDS",
    "MAX_FIELD_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_PIPELINED",
    "MAX_TARGET_BYTES",
    "HttpLimits",
]

# HAProxy's tune.bufsize (16 KiB) bounds a request head; h11's default is the same.
MAX_HEADER_BYTES = 16 * 1024
# nginx's large_client_header_buffers (4 8k): a request line or one field line longer
# than 8 KiB is refused (nginx answers 414 for the line, 400 for a field; we 414 and 431).
MAX_TARGET_BYTES = 8 * 1024
MAX_FIELD_BYTES = 8 * 1024
# HAProxy's tune.http.maxhdr: 101 header fields per message.
MAX_FIELDS = 101
# Our choice: the photo app takes uploads of up to 10 MiB.
MAX_BODY_BYTES = 11 * 1024 * 1024
# HAProxy's `timeout http-request` as commonly set (its documentation's examples): 10 s
# for the whole head; the slowloris defence.
HEADER_TIMEOUT_S = 10.0
# nginx's keepalive_timeout default is 75 s; HAProxy's `timeout http-keep-alive` often 10 s.
# Also how long a body may stall, and a client may leave its answer unread.
IDLE_TIMEOUT_S = 60.0
# Ours: requests parsed ahead of the one being answered. Browsers do not pipeline; the
# clients that do (benchmarks, some CLIs) send a handful. Bounds what one read can queue.
MAX_PIPELINED = 16


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The limits of one client connection (the defaults are the constants above).

    Sizes count what llhttp hands over: the target, and each field as
    ``len(name) + len(value) + 4`` (``": "`` and CRLF); the head's size is the
    target's plus every field's.
    """

    max_header_bytes: int = MAX_HEADER_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout_s: float = HEADER_TIMEOUT_S
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_target_bytes: int = MAX_TARGET_BYTES
    max_field_bytes: int = MAX_FIELD_BYTES
    max_fields: int = MAX_FIELDS
