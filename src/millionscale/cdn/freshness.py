"""How long a stored response stays fresh, and how old it is (RFC 9111 §4.2).

Both are worked out once, when a response is stored (:func:`.storable.to_store`),
and kept in the :class:`.message.Stored` record: ``freshness_lifetime`` and
``corrected_initial_age``. A lookup then only compares them with ``now``
(§4.2: "response_is_fresh = (freshness_lifetime > current_age)", with
``current_age = corrected_initial_age + resident_time``, :meth:`.message.Stored.age`).

- **Lifetime** (§4.2.1), first match wins: ``s-maxage`` (this is a shared
  cache), ``max-age``, ``Expires`` minus ``Date``, then a heuristic (§4.2.2) for
  a response that may have one, then :attr:`.rules.RulesSettings.default_ttl_s`.
- **Age** (§4.2.3): the larger of the apparent age (``response_time`` minus
  ``Date``) and the ``Age`` the previous cache sent plus the request's round
  trip, so an object a shield has held for a minute arrives a minute old.
"""

from __future__ import annotations

from .cachecontrol import DELTA_SECONDS_MAX, Directives
from .httpdate import parse_http_date
from .message import Fields, field_value
from .rules import RulesSettings

__all__ = [
    "HEURISTICALLY_CACHEABLE",
    "age_value",
    "corrected_initial_age",
    "date_value",
    "explicit_lifetime",
    "heuristic_lifetime",
]

HEURISTICALLY_CACHEABLE = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})
"""RFC 9110 §15.1: the status codes "defined as heuristically cacheable" (RFC 9111 §4.2.2:
"a cache MAY assign a heuristic expiration time when an explicit time is not
specified" to responses with one of these, or marked ``public``)."""


def date_value(fields: Fields, response_time: float) -> float:
    """The response's ``Date``, or ``response_time`` when it has none or an invalid one
    (§4.2.1: "using the time the message was received if it is not present, as per
    Section 6.6.1 of [HTTP]")."""
    parsed = parse_http_date(field_value(fields, b"date"))
    return response_time if parsed is None else parsed


def age_value(fields: Fields) -> float:
    """The ``Age`` field's seconds (§5.1), 0 without a valid one.

    §5.1: "a cache encountering a message with a list-based Age field value
    SHOULD use the first member of the field value, discarding subsequent ones.
    If the field value ... is invalid (e.g., it contains something other than a
    non-negative integer), a cache SHOULD ignore the field."
    """
    value = field_value(fields, b"age")
    if value is None:
        return 0.0
    first = value.split(b",", 1)[0].strip()
    if not first.isdigit():
        return 0.0
    return float(min(int(first), DELTA_SECONDS_MAX))


def corrected_initial_age(
    *, age: float, date: float, request_time: float, response_time: float
) -> float:
    """§4.2.3, verbatim::

    apparent_age = max(0, response_time - date_value);
    response_delay = response_time - request_time;
    corrected_age_value = age_value + response_delay;
    corrected_initial_age = max(apparent_age, corrected_age_value);
    """
    apparent_age = max(0.0, response_time - date)
    response_delay = max(0.0, response_time - request_time)
    return max(apparent_age, age + response_delay)


def explicit_lifetime(
    directives: Directives, expires: bytes | None, date: float, *, read_expires: bool = True
) -> float | None:
    """The explicit freshness lifetime (§4.2.1), or ``None`` if there is none.

    "If the cache is shared and the s-maxage response directive is present, use
    its value, or If the max-age response directive is present, use its value,
    or If the Expires response header field is present, use its value minus the
    value of the Date response header field". An invalid ``Expires`` is a
    lifetime of 0 (§5.3: "A cache recipient MUST interpret invalid date
    formats, especially the value "0", as representing a time in the past").
    ``read_expires`` is False when a targeted field rules (RFC 9213 §2.1: the
    cache "MUST ignore the Cache-Control and Expires header fields").
    """
    if directives.s_maxage is not None:
        return float(directives.s_maxage)
    if directives.max_age is not None:
        return float(directives.max_age)
    if expires is None or not read_expires:
        return None
    expires_at = parse_http_date(expires)
    if expires_at is None:
        return 0.0
    return max(0.0, expires_at - date)


def heuristic_lifetime(last_modified: bytes | None, date: float, settings: RulesSettings) -> float:
    """§4.2.2: "If the response has a Last-Modified header field ..., caches are
    encouraged to use a heuristic expiration value that is no more than some
    fraction of the interval since that time. A typical setting of this fraction
    might be 10%." Capped at ``settings.heuristic_max_s``; without a valid
    ``Last-Modified`` (or one after ``Date``), ``settings.default_ttl_s``."""
    modified = parse_http_date(last_modified)
    if modified is None or modified >= date:
        return settings.default_ttl_s
    return min((date - modified) * settings.heuristic_fraction, settings.heuristic_max_s)
