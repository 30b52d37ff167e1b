"""How values cross into the shared tier: bytes any process can read back, and no code.

The shared tier (Redis) is written by every web server and readable by
anyone who can reach it. A codec that can run code while decoding (pickle:
unpickling a crafted value calls any function it names) would let whoever
writes one key run code in every web server. So values are JSON by default
(:class:`JsonCodec`), or bytes the caller serialised itself
(:class:`BytesCodec`); never pickle.

Contract of a :class:`Codec`:

- ``encode(value)`` returns bytes or raises
  :class:`~millionscale.errors.CacheError` saying why the value cannot be
  cached (a programming error of the caller, raised at the call);
- ``decode(data)`` returns the value or raises :class:`UndecodableValue`;
  the tier treats such bytes as a miss (someone wrote garbage under our key),
  never as an error of the caller;
- ``decode(encode(v))`` is what every reader gets, including the first: the
  tiered cache hands the loader's value back through the codec too, so a
  tuple comes back as a list on the first call as on every later hit.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from millionscale.errors import CacheError

__all__ = ["BytesCodec", "Codec", "JsonCodec", "UndecodableValue", "describe_key"]


class UndecodableValue(ValueError):
    """Bytes from the shared tier that the codec cannot read back (treated as a miss)."""


def describe_key(key: object) -> str:
    """A key as an error message shows it: its repr, cut to 60 characters."""
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


class Codec(Protocol):
    """Turns values into bytes for the shared tier and back (see the module's contract)."""

    name: str

    def encode(self, value: Any, key: str) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class JsonCodec:
    """JSON (UTF-8, compact, no NaN): dicts, lists, strings, numbers, booleans and None.

    What comes back is what JSON gives: tuples become lists, dict keys
    become strings. A value JSON cannot represent (a set, a datetime, NaN, a
    cycle, nesting deeper than the interpreter's recursion limit) raises
    :class:`~millionscale.errors.CacheError` naming the key.
    """

    name = "json"

    def encode(self, value: Any, key: str) -> bytes:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as error:
            raise CacheError(
                f"cannot cache the value for key {describe_key(key)}: "
                f"JSON cannot encode a {type(value).__name__} ({error})",
                hint="cache JSON types (dict, list, str, int, float, bool, None), "
                "or give the cache another codec",
            ) from None
        return text.encode()

    def decode(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
            raise UndecodableValue(f"not JSON: {error}") from None


class BytesCodec:
    """Values are ``bytes`` the caller serialised itself; stored and returned as they are."""

    name = "bytes"

    def encode(self, value: Any, key: str) -> bytes:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise CacheError(
            f"cannot cache the value for key {describe_key(key)}: "
            f"the bytes codec takes bytes, not a {type(value).__name__}",
            hint="serialise the value to bytes first, or use the JSON codec",
        )

    def decode(self, data: bytes) -> Any:
        return data
