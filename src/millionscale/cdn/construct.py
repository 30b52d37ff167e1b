"""The header fields the edge sends with a stored response (RFC 9111 §4, §5.1).

§4: "When a stored response is used to satisfy a request without validation, a
cache MUST generate an Age header field (Section 5.1), replacing any present in
the response with a value equal to the stored response's current_age".
Surrogate keys (``Surrogate-Key``, ``xkey``) are this CDN's own purge handles and
never reach a client, unless ``keep_tags`` (a shield answering an edge, which
needs them to tag its own copy). ``CDN-Cache-Control`` is forwarded (RFC 9213
§3: "CDN caches that use CDN-Cache-Control will typically forward this header
so that downstream CDN caches can use it as well").
"""

from __future__ import annotations

from .cachecontrol import DELTA_SECONDS_MAX
from .message import Fields, Stored

__all__ = ["age_field", "response_fields"]

_INTERNAL = frozenset({b"age", b"surrogate-key", b"xkey"})


def age_field(age: float) -> bytes:
    """An ``Age`` value: whole seconds (§5.1, ``Age = delta-seconds``), capped at 2^31
    (§1.2.2)."""
    return str(min(int(age), DELTA_SECONDS_MAX)).encode("ascii")


def response_fields(stored: Stored, now: float, *, keep_tags: bool = False) -> Fields:
    """``stored``'s fields as sent at ``now``: ``Age`` set to its current age, surrogate
    keys removed (unless ``keep_tags``)."""
    age = (b"age", age_field(stored.age(now)))
    if keep_tags:
        return (*((name, value) for name, value in stored.fields if name != b"age"), age)
    return (*((name, value) for name, value in stored.fields if name not in _INTERNAL), age)
