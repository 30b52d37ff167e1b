"""What the balancer does to header fields on their way through: pure functions on bytes.

A proxy passes most header fields through untouched; :mod:`.connection` (a
request's) and :mod:`.upstream` (a response's) keep the raw header block of a request or response when nothing in it must change, and
rebuilds it from the parsed fields with :func:`header_block` when something
must. The rules:

- **Hop-by-hop fields are removed** in both directions (RFC 9110 §7.6.1):
  ``Connection`` and every field it names, ``Keep-Alive``, ``Proxy-Connection``
  (obsolete but still sent), ``TE``, ``Trailer``, ``Upgrade`` and any
  ``Proxy-*`` field (``Proxy-Authorization`` is for this proxy, not the next).
  ``Connection`` may not name ``Content-Length``, ``Transfer-Encoding`` or
  ``Host``: removing those would change the framing or the target, so such
  tokens are ignored (a request smuggling vector otherwise).
- **Framing fields pass through**: the body is relayed with the framing it
  came with (a chunked body is re-chunked, a sized one passed as is), so
  ``Content-Length`` and ``Transfer-Encoding`` stay valid; only a chunked
  response to an HTTP/1.0 client loses ``Transfer-Encoding`` (it is sent
  close-delimited, see :func:`response_framing`).
- **Forwarding fields** on requests: ``X-Forwarded-For`` gets the client's
  address appended, ``X-Forwarded-Proto`` is replaced, an ``X-Request-Id``
  is kept if it is well-formed (:func:`well_formed_request_id`) and made
  otherwise; ``Expect`` is answered by the balancer (100 Continue) and not
  forwarded.

**The one table of the fields the balancer looks at** is :data:`FIELD_KINDS`
(lower-case name -> :class:`FieldKind`); :func:`request_kind` and
:func:`response_kind` read it for a name as spelled on the wire (a response's
``Host`` or ``Expect`` is an ordinary field), :mod:`.head` and :mod:`.upstream`
use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum

__all__ = [
    "FIELD_KINDS",
    "HOP_BY_HOP",
    "REQUEST_KINDS",
    "RESPONSE_KINDS",
    "FieldKind",
    "Framing",
    "connection_tokens",
    "cut_fields",
    "header_block",
    "request_kind",
    "response_framing",
    "response_kind",
    "well_formed_request_id",
]

# RFC 9110 §7.6.1 names Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding
# and Upgrade; Trailer is RFC 2616's (§13.5.1). Transfer-Encoding is not here: the
# body keeps its framing (see the module's docstring).
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
)


class FieldKind(IntEnum):
    """What a header field is to the balancer (see :data:`FIELD_KINDS`)."""

    ORDINARY = 0  # passed through untouched
    CONNECTION = 1  # hop-by-hop, and names more hop-by-hop fields
    LENGTH = 2  # Content-Length: framing
    CHUNKED = 3  # Transfer-Encoding: framing
    REQUEST_ID = 4  # X-Request-Id
    HOP = 5  # any other hop-by-hop field, and every Proxy-* field
    UPGRADE = 6  # hop-by-hop; with Connection: upgrade, asks to leave HTTP/1.1
    EXPECT = 7  # answered by the balancer (requests only)
    FORWARDED_FOR = 8  # X-Forwarded-For: the client's address appended (requests only)
    FORWARDED_PROTO = 9  # X-Forwarded-Proto: replaced (requests only)
    HOST = 10  # checked (requests only, RFC 9112 §3.2)


# The one table: every field the balancer does not pass through as it is. A name not
# here is ORDINARY, unless it starts with "proxy-" (HOP).
FIELD_KINDS: dict[bytes, FieldKind] = {
    **{name: FieldKind.HOP for name in HOP_BY_HOP},
    b"connection": FieldKind.CONNECTION,
    b"upgrade": FieldKind.UPGRADE,
    b"content-length": FieldKind.LENGTH,
    b"transfer-encoding": FieldKind.CHUNKED,
    b"x-request-id": FieldKind.REQUEST_ID,
    b"expect": FieldKind.EXPECT,
    b"x-forwarded-for": FieldKind.FORWARDED_FOR,
    b"x-forwarded-proto": FieldKind.FORWARDED_PROTO,
    b"host": FieldKind.HOST,
}
_REQUEST_ONLY = frozenset(
    {FieldKind.EXPECT, FieldKind.FORWARDED_FOR, FieldKind.FORWARDED_PROTO, FieldKind.HOST}
)
# Names as spelled on the wire -> kind as a plain int (the hot paths compare ints),
# remembered: one dict lookup per field instead of lower-casing it. Read them first,
# then call the function for a name not there. Bounded: names are the client's choice.
REQUEST_KINDS: dict[bytes, int] = {}
RESPONSE_KINDS: dict[bytes, int] = {}
_KINDS_MAX = 1024


def _table_kind(lower: bytes) -> FieldKind:
    kind = FIELD_KINDS.get(lower)
    if kind is None:
        return FieldKind.HOP if lower.startswith(b"proxy-") else FieldKind.ORDINARY
    return kind


def request_kind(name: bytes) -> int:
    """The :class:`FieldKind` (as an int) of a request field named ``name``, any case."""
    kind = int(_table_kind(name.lower()))
    if len(REQUEST_KINDS) < _KINDS_MAX:
        REQUEST_KINDS[name] = kind
    return kind


def response_kind(name: bytes) -> int:
    """The :class:`FieldKind` (as an int) of a response field: request-only kinds are
    ORDINARY there."""
    table = _table_kind(name.lower())
    kind = int(FieldKind.ORDINARY if table in _REQUEST_ONLY else table)
    if len(RESPONSE_KINDS) < _KINDS_MAX:
        RESPONSE_KINDS[name] = kind
    return kind


# Never removed because Connection names them: they frame the message or name its target.
_NEVER_NAMED = frozenset({b"content-length", b"transfer-encoding", b"host"})
# Visible ASCII, no spaces, at most 128 bytes: UUIDs, ULIDs, base64 and the like; nothing
# that could split a log line or a header (HAProxy's unique-id is any string; ours must
# be safe to log and echo).
_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")


def well_formed_request_id(value: bytes) -> bool:
    """Whether a client's ``X-Request-Id`` is kept (else the balancer makes one)."""
    return _REQUEST_ID.fullmatch(value) is not None


_TOKENS: dict[bytes, tuple[bool, bool, frozenset[bytes]]] = {}  # remembered, bounded
_TOKENS_MAX = 256


def connection_tokens(value: bytes) -> tuple[bool, bool, frozenset[bytes]]:
    """``Connection``'s value -> (close, keep-alive, the other field names it lists),
    lower-cased; names that frame the message are left out of the last."""
    known = _TOKENS.get(value)
    if known is not None:
        return known
    close = keep_alive = False
    named: set[bytes] = set()
    for token in value.lower().split(b","):
        token = token.strip()
        if token == b"close":
            close = True
        elif token == b"keep-alive":
            keep_alive = True
        elif token and token not in _NEVER_NAMED:
            named.add(token)
    tokens = close, keep_alive, frozenset(named)
    if len(_TOKENS) < _TOKENS_MAX:
        _TOKENS[value] = tokens
    return tokens


def header_block(
    headers: Iterable[tuple[bytes, bytes]],
    *,
    drop: frozenset[bytes] = frozenset(),
    named: frozenset[bytes] = frozenset(),
) -> bytes:
    """The header lines (each ending in CRLF, no final empty line) of ``headers``
    without hop-by-hop fields, ``Proxy-*`` fields, the fields ``named`` by
    ``Connection`` and those in ``drop`` (all lower-case)."""
    lines = []
    for name, value in headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in drop or lower in named or lower.startswith(b"proxy-"):
            continue
        lines.append(name + b": " + value + b"\r\n")
    return b"".join(lines)


def cut_fields(block: bytes, fields: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """``block`` (raw header lines) without the lines of ``fields``, cut where they are
    written as ``name: value``; None if one is written otherwise (then rebuild it with
    :func:`header_block`). Cheaper than a rebuild when one or two fields go, as a
    ``Connection: keep-alive`` does from most requests and responses."""
    for name, value in fields:
        line = name + b": " + value + b"\r\n"
        at = block.find(line)
        while at > 0 and block[at - 2 : at] != b"\r\n":  # inside another line
            at = block.find(line, at + 1)
        if at < 0:
            return None
        block = block[:at] + block[at + len(line) :]
    return block


class Framing(IntEnum):
    """How a response body goes to the client."""

    NONE = 0  # no body: a response to HEAD, a 1xx, 204 or 304
    SIZED = 1  # Content-Length: bytes passed through as they come
    CHUNKED = 2  # chunked to the client: each piece the backend sends becomes a chunk
    CLOSE = 3  # delimited by closing the connection (an HTTP/1.0 client, no length known)


def response_framing(
    *, head_request: bool, status: int, content_length: bool, chunked: bool, client_11: bool
) -> Framing:
    """RFC 9112 §6.3: how the balancer frames a backend's response for its client.

    ``content_length`` and ``chunked`` say how the backend framed it; a
    response with neither is delimited by the backend closing (§6.3 rule 8).
    An HTTP/1.1 client gets such a body, or a chunked one, chunked; an
    HTTP/1.0 client (which knows no chunked coding) gets it close-delimited.
    """
    if head_request or status < 200 or status in (204, 304):
        return Framing.NONE
    if content_length and not chunked:
        return Framing.SIZED
    return Framing.CHUNKED if client_11 else Framing.CLOSE
