"""Serving a stale response when the origin fails: ``stale-if-error`` (RFC 5861 §4).

RFC 5861 §4: "The stale-if-error Cache-Control extension indicates that when an
error is encountered, a cached stale response MAY be used to satisfy the
request, regardless of other freshness information. ... When used as a request
Cache-Control extension, its scope of application is the request it appears in;
when used as a response Cache-Control extension, its scope is any request
applicable to the cached response in which it occurs. Its value indicates the
upper limit to staleness; when the cached response is more stale than the
indicated amount, the cached response SHOULD NOT be used". An error is "any
situation that would result in a 500, 502, 503, or 504 HTTP response status code
being returned" (:data:`ERROR_STATUSES`; a timeout or a refused connection too).

The response's window is ``Stored.stale_if_error``, which
:func:`.storable.to_store` set from the directive or, without one, from
:attr:`.rules.RulesSettings.default_stale_if_error_s` (the CDN's grace).
"""

from __future__ import annotations

from .cachecontrol import parse_directives
from .message import Request, Stored

__all__ = ["ERROR_STATUSES", "usable_on_error"]

ERROR_STATUSES = frozenset({500, 502, 503, 504})
"""RFC 5861 §4: the origin statuses that count as an error for ``stale-if-error``."""


def usable_on_error(stored: Stored, now: float, request: Request) -> bool:
    """Whether ``stored`` may answer ``request`` at ``now`` because the origin failed.

    A fresh, unpurged response without ``no-cache`` may (only a request's
    ``no-cache`` or ``max-age`` sent it to the origin). A stale or
    soft-purged one may within the larger of the response's and the request's
    ``stale-if-error`` windows. Never with ``must-revalidate`` (or
    ``proxy-revalidate``, ``no-cache``, a bare ``s-maxage``): RFC 9111 §4.2.4 "A
    cache MUST NOT generate a stale response if it is prohibited by an explicit
    in-protocol directive", and §5.2.2.2 wants a 504 instead.
    """
    staleness = stored.age(now) - stored.freshness_lifetime
    if staleness < 0 and not stored.invalidated and not stored.no_cache:
        return True
    if stored.must_revalidate:
        return False
    window = stored.stale_if_error
    requested = parse_directives(request.values(b"cache-control")).stale_if_error
    if requested is not None:
        window = max(window, float(requested))
    return window > 0 and max(0.0, staleness) <= window
