"""What a cache key may be: a short, non-empty string.

Keys are strings because every process must name the same entry the same
way, in Redis keys and in invalidation messages; an object's ``hash()``
differs between processes. The length limit is memcached's (keys of at most
250 bytes, ``KEY_MAX_LENGTH``): a key is an identifier, and a longer one is
almost always a value passed where a key was meant. A key that breaks a rule
raises :class:`~millionscale.errors.CacheError` at the call.
"""

from __future__ import annotations

from millionscale.cache.codec import describe_key
from millionscale.errors import CacheError

__all__ = ["MAX_KEY_BYTES", "check_key"]

MAX_KEY_BYTES = 250  # memcached's KEY_MAX_LENGTH


def check_key(key: object) -> str:
    """``key`` itself if it is a valid cache key; else raise CacheError saying why."""
    if type(key) is not str:
        raise CacheError(
            f"a cache key is a str, not a {type(key).__name__}: {describe_key(key)}",
            hint="build keys as strings, such as f'user:{user_id}'",
        )
    if not key:
        raise CacheError("a cache key cannot be empty", hint="name the entry, such as 'user:42'")
    size = len(key) if key.isascii() else _utf8_size(key)  # ASCII: one byte per character
    if size > MAX_KEY_BYTES:
        raise CacheError(
            f"cache key {describe_key(key)} is {size} bytes of UTF-8, over {MAX_KEY_BYTES}",
            hint="hash long parts of the key (hashlib.sha256(...).hexdigest())",
        )
    return key


def _utf8_size(key: str) -> int:
    try:
        return len(key.encode())
    except UnicodeEncodeError:
        raise CacheError(
            f"cache key {describe_key(key)} is not valid Unicode (a lone surrogate)",
            hint="build keys from text or digits",
        ) from None
