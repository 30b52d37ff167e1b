"""Bearer tokens (RFC 6750) in ``Authorization``: one check for every admin API.

Pure functions over the field's value, so the balancer's admin API (raw
bytes), the fault proxy's and the failover monitor's (Starlette strings)
parse it alike:

- the scheme is matched case-insensitively: RFC 9110 §11.1, "It uses a
  case-insensitive token to identify the authentication scheme", so
  ``bearer``, ``Bearer`` and ``BEARER`` are one scheme;
- the scheme and the token are separated by one or more spaces (RFC 9110
  §11.4, ``credentials = auth-scheme [ 1*SP ( token68 / ... ) ]``);
  whitespace around the field value is not part of it (RFC 9110 §5.5);
- the token itself is compared exactly, in constant time
  (:func:`hmac.compare_digest`), and an empty expected token matches nothing.
"""

from __future__ import annotations

import hmac

__all__ = ["bearer_matches", "bearer_token"]

SCHEME = b"bearer"


def bearer_token(authorization: str | bytes | None) -> bytes | None:
    """The token of a ``Bearer`` credential, or None if the field holds none."""
    if authorization is None:
        return None
    raw = (
        authorization.encode("latin-1", "replace")
        if isinstance(authorization, str)
        else authorization
    )
    scheme, _, token = raw.strip(b" \t").partition(b" ")
    token = token.lstrip(b" ")
    if scheme.lower() != SCHEME or not token or b" " in token:
        return None
    return token


def bearer_matches(authorization: str | bytes | None, expected: str) -> bool:
    """Whether ``authorization`` carries ``Bearer <expected>`` (constant-time compare)."""
    token = bearer_token(authorization)
    if token is None or not expected:
        return False
    return hmac.compare_digest(token, expected.encode())
