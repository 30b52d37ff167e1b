"""The record each value is stored in in the shared tier: a small header, then the payload.

Layout (big-endian), 12 bytes of header::

    b"ms" | version (1 byte, 1) | kind (1 byte) | load_ms (uint32) | stale_ms (uint32) | payload

- ``kind`` is 0 for a value and 1 for a cached absence (negative caching;
  no payload);
- ``load_ms`` is how long the loader took to produce it: the ``delta`` of
  probabilistic early refresh (see :mod:`.refresh`);
- ``stale_ms`` is the serve-stale window: the Redis key lives ``ttl +
  stale`` and the value is fresh while more than ``stale_ms`` of that life
  remain. Freshness is computed from Redis's own ``PTTL``, so no two web
  servers' clocks are ever compared.

:meth:`Envelope.decode` accepts exactly this layout and raises
:class:`CorruptEnvelope` for anything else (someone wrote under our key, or
a future version did): the tier treats it as a miss and replaces it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["HEADER_BYTES", "MAX_FIELD_MS", "CorruptEnvelope", "Envelope"]

_MAGIC = b"ms\x01"  # two bytes of magic, then the version
_HEADER = struct.Struct(">3sBII")
HEADER_BYTES = _HEADER.size
MAX_FIELD_MS = 2**32 - 1  # what a uint32 holds: 49.7 days
_VALUE, _ABSENT = 0, 1


class CorruptEnvelope(ValueError):
    """Bytes under one of our keys that are not an envelope this version can read."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A value (``payload``, the codec's bytes) or a cached absence (``payload is None``)."""

    payload: bytes | None
    load_ms: int = 0
    stale_ms: int = 0

    def __post_init__(self) -> None:
        for name in ("load_ms", "stale_ms"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_FIELD_MS:
                raise ValueError(f"{name} must be in [0, {MAX_FIELD_MS}], not {value}")

    @property
    def absent(self) -> bool:
        return self.payload is None

    def encode(self) -> bytes:
        kind = _ABSENT if self.payload is None else _VALUE
        header = _HEADER.pack(_MAGIC, kind, self.load_ms, self.stale_ms)
        return header if self.payload is None else header + self.payload

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        if len(data) < HEADER_BYTES:
            raise CorruptEnvelope(f"{len(data)} bytes, shorter than the {HEADER_BYTES}-byte header")
        magic, kind, load_ms, stale_ms = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise CorruptEnvelope(f"header {bytes(data[:3])!r} is not {_MAGIC!r}")
        if kind == _VALUE:
            return cls(bytes(data[HEADER_BYTES:]), load_ms, stale_ms)
        if kind == _ABSENT and len(data) == HEADER_BYTES:
            return cls(None, load_ms, stale_ms)
        raise CorruptEnvelope(f"kind {kind} with {len(data) - HEADER_BYTES} bytes of payload")
