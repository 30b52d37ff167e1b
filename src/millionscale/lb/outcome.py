"""What one attempt at a backend came back with: a status code or a connection failure.

Outlier detection (:mod:`.outlier`) counts outcomes; retries (:mod:`.retry`)
decide on them. The shell classifies every failed attempt into exactly one
:class:`ConnectionFailure`, and the difference between the first and the others
is what makes a retry of a ``POST`` safe or not:

- ``CONNECT``: no byte of the request left the balancer (connection refused,
  host unreachable, connect timeout). The backend cannot have acted on it.
- ``RESET``: the connection broke after the request, or part of it, was
  written and before a complete response head arrived (reset, EOF). The
  backend may have acted on it. A request written into a pooled keep-alive
  connection that the backend had closed meanwhile is a ``RESET`` too: from
  the outside it cannot be told from a backend that crashed mid-request.
- ``TIMEOUT``: the request was sent and no response came in time. The backend
  may still be working on it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ConnectionFailure", "Outcome", "describe", "is_5xx", "is_gateway_error"]


class ConnectionFailure(StrEnum):
    CONNECT = "connect"
    RESET = "reset"
    TIMEOUT = "timeout"


Outcome = int | ConnectionFailure
"""An HTTP status code from the backend, or how the attempt failed without one."""

# RFC 9110 §15.6.3-5: the statuses a gateway returns when its upstream failed.
# Envoy's "gateway errors" (consecutive_gateway_failure) are exactly these.
_GATEWAY_ERRORS = frozenset({502, 503, 504})


def is_5xx(outcome: Outcome) -> bool:
    """A server-side failure: a 5xx status, or any connection failure (which Envoy,
    without ``split_external_local_origin_errors``, maps to 503 or 504)."""
    return isinstance(outcome, ConnectionFailure) or 500 <= outcome <= 599


def is_gateway_error(outcome: Outcome) -> bool:
    """502, 503, 504, or any connection failure (a gateway would answer one of those)."""
    return isinstance(outcome, ConnectionFailure) or outcome in _GATEWAY_ERRORS


def describe(outcome: Outcome) -> str:
    """``'503'``, ``'connection reset'``: for the sentences decisions carry."""
    if isinstance(outcome, ConnectionFailure):
        return {
            ConnectionFailure.CONNECT: "connect failure",
            ConnectionFailure.RESET: "connection reset",
            ConnectionFailure.TIMEOUT: "timeout",
        }[outcome]
    return str(outcome)
