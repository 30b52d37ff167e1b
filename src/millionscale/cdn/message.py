"""The records the CDN's parts exchange: requests, origin responses, stored responses.

Header fields are kept as the connection gives them (:data:`Fields`): pairs of
bytes, names lower-cased, values as received less their surrounding whitespace,
in order. Nothing here does I/O; the rules that make and read these records are
in the modules named after them (:mod:`.freshness`, :mod:`.storable`,
:mod:`.lookup`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Fields", "Request", "Response", "Stored", "cache_key", "field_value", "field_values"]

Fields = tuple[tuple[bytes, bytes], ...]
"""Header fields in order: (lower-case name, value)."""


def field_value(fields: Fields, name: bytes) -> bytes | None:
    """The first value of the lower-case field ``name``, if any."""
    for key, value in fields:
        if key == name:
            return value
    return None


def field_values(fields: Fields, name: bytes) -> list[bytes]:
    """Every member of the comma-separated list field ``name`` (RFC 9110 §5.6.1),
    across all its lines, stripped, empty members dropped.

    Commas inside quoted strings are not split on (``no-cache="a, b"`` stays one
    member).
    """
    members: list[bytes] = []
    for key, value in fields:
        if key != name:
            continue
        if b'"' not in value:
            members.extend(part.strip() for part in value.split(b","))
            continue
        start, quoted, escaped = 0, False, False
        for index, byte in enumerate(value):
            if escaped:
                escaped = False
            elif quoted and byte == 0x5C:  # backslash: a quoted-pair
                escaped = True
            elif byte == 0x22:
                quoted = not quoted
            elif byte == 0x2C and not quoted:
                members.append(value[start:index].strip())
                start = index + 1
        members.append(value[start:].strip())
    return [member for member in members if member]


def cache_key(host: bytes | None, target: bytes) -> bytes:
    """The key a request's responses are stored under: its host, lower-cased, and
    its target (RFC 9111 §2: "the cache key ... consists of, at a minimum, the
    request method and target URI"; GET and HEAD share it, as only they reuse)."""
    return (host or b"").lower() + target


@dataclass(frozen=True, slots=True)
class Request:
    """A client's request as the cache sees it."""

    method: str
    target: bytes
    fields: Fields

    def get(self, name: bytes) -> bytes | None:
        return field_value(self.fields, name)

    def values(self, name: bytes) -> list[bytes]:
        return field_values(self.fields, name)


@dataclass(frozen=True, slots=True)
class Response:
    """A response head from the origin (or the shield)."""

    status: int
    fields: Fields

    def get(self, name: bytes) -> bytes | None:
        return field_value(self.fields, name)

    def values(self, name: bytes) -> list[bytes]:
        return field_values(self.fields, name)


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored response: one variant of one key, with what the rules worked out
    once, when it was stored (RFC 9111 §4.2: freshness lifetime and initial age).

    Times are the injected clock's seconds (the wall clock in production: HTTP
    dates are wall-clock times). ``invalidated`` is a soft purge's mark: the
    response is stale whatever its lifetime says, and serves only where a stale
    response may (``stale-if-error``).
    """

    key: bytes
    status: int
    fields: Fields
    body: bytes
    request_time: float
    response_time: float
    corrected_initial_age: float
    freshness_lifetime: float
    stale_while_revalidate: float = 0.0
    stale_if_error: float = 0.0
    must_revalidate: bool = False
    no_cache: bool = False
    vary: tuple[bytes, ...] = ()
    selecting: Fields = ()
    tags: frozenset[bytes] = frozenset()
    invalidated: bool = False

    def get(self, name: bytes) -> bytes | None:
        return field_value(self.fields, name)

    def values(self, name: bytes) -> list[bytes]:
        return field_values(self.fields, name)

    def age(self, now: float) -> float:
        """RFC 9111 §4.2.3: ``current_age = corrected_initial_age + resident_time``,
        ``resident_time = now - response_time``."""
        return self.corrected_initial_age + max(0.0, now - self.response_time)

    @property
    def size(self) -> int:
        """The bytes it holds (body and fields), what storage bounds count."""
        return len(self.body) + sum(len(name) + len(value) + 4 for name, value in self.fields) + 64
