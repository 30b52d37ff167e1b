"""What a request gets from the stored variants of its key (RFC 9111 §4).

:func:`lookup` returns one of five decisions (a typed union, as hishel's states
do):

- :class:`Fresh`: serve the stored response as it is.
- :class:`Stale`: serve it stale (within ``stale-while-revalidate``, RFC 5861
  §3, or a request's ``max-stale``, §5.2.1.2); ``revalidate_in_background``
  says whether to refresh it behind the client's back (RFC 5861 §3: "the cache
  SHOULD attempt to revalidate it while still serving stale responses").
- :class:`Revalidate`: ask the origin first, with ``conditional`` added to the
  request (§4.3.1); the stored response answers if the origin says 304, and
  stays at hand for ``stale-if-error`` (:func:`.stale.usable_on_error`).
  ``conditional`` is empty when the stored response has no validator: the
  fetch is then a plain one, but the stored response is still the fallback.
- :class:`Miss`: nothing stored can answer; fetch.
- :class:`GatewayTimeout`: ``only-if-cached`` and nothing usable (§5.2.1.7:
  "the cache SHOULD either respond using a stored response consistent with the
  other constraints of the request or respond with a 504 (Gateway Timeout)").

§4: "a cache MUST NOT reuse a stored response unless: the presented target URI
and that of the stored response match [the caller's key], and the request method
associated with the stored response allows it to be used for the presented
request [GET and HEAD reuse a GET's], and request header fields nominated by the
stored response (if any) match those presented (see Section 4.1), and the stored
response does not contain the no-cache directive (Section 5.2.2.4), unless it is
successfully validated (Section 4.3), and the stored response is one of the
following: fresh (see Section 4.2), or allowed to be served stale (see Section
4.2.4), or successfully validated (see Section 4.3)."

**Request directives** (§5.2.1), unless :attr:`.rules.RulesSettings.client_cache_control`
is off: ``no-cache`` (and ``Pragma: no-cache`` without ``Cache-Control``, RFC 7234
§5.4; RFC 9111 §5.4 deprecates Pragma but HTTP/1.0 clients still send it) forces
a revalidation; ``max-age`` refuses an older response and, without ``max-stale``,
any stale one (§5.2.1.1); ``min-fresh`` refuses one fresh for less than that
long (§5.2.1.3); ``max-stale`` accepts one stale by up to that much (§5.2.1.2)
unless the response forbids it (``must-revalidate``, ``proxy-revalidate``,
``s-maxage``, ``no-cache``: §4.2.4 "A cache MUST NOT generate a stale response if
it is prohibited by an explicit in-protocol directive").

**A soft-purged response** (``invalidated``) is never fresh and never served stale
here: it needs revalidation, and serves only as ``stale-if-error``'s fallback.

**Speed**: the common request (GET or HEAD, no ``Cache-Control``/``Pragma``,
one variant without ``Vary``, ``no-cache`` or purge mark) is decided by one scan
of the request's field names and one comparison of two numbers; nothing is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .cachecontrol import EMPTY, Directives, parse_directives
from .message import Fields, Request, Stored
from .rules import RulesSettings
from .validation import conditional_fields
from .vary import variant_matches

__all__ = ["Fresh", "GatewayTimeout", "Lookup", "Miss", "Revalidate", "Stale", "lookup"]


@dataclass(frozen=True, slots=True)
class Fresh:
    """Serve ``stored`` as it is."""

    stored: Stored


@dataclass(frozen=True, slots=True)
class Stale:
    """Serve ``stored`` stale; refresh it in the background if ``revalidate_in_background``."""

    stored: Stored
    revalidate_in_background: bool = True


@dataclass(frozen=True, slots=True)
class Revalidate:
    """Send the request to the origin with ``conditional`` added; ``stored`` answers a 304."""

    stored: Stored
    conditional: Fields


@dataclass(frozen=True, slots=True)
class Miss:
    """Nothing stored can answer: fetch. ``reason`` is a short phrase."""

    reason: str


@dataclass(frozen=True, slots=True)
class GatewayTimeout:
    """``only-if-cached`` and nothing usable: answer 504 (§5.2.1.7)."""


Lookup = Fresh | Stale | Revalidate | Miss | GatewayTimeout

_REUSING = frozenset({"GET", "HEAD"})
_SLOW_FIELDS = frozenset({b"cache-control", b"pragma"})
_PRAGMA_NO_CACHE = Directives(no_cache=True)
_NO_VARIANT = Miss("no stored response")


def request_directives(request: Request, settings: RulesSettings) -> Directives:
    """The request's cache directives (§5.2.1; ``Pragma: no-cache`` when it has no
    ``Cache-Control``, RFC 7234 §5.4), or none if the settings ignore them."""
    if not settings.client_cache_control:
        return EMPTY
    values = request.values(b"cache-control")
    if values:
        return parse_directives(values)
    if any(member.lower() == b"no-cache" for member in request.values(b"pragma")):
        return _PRAGMA_NO_CACHE
    return EMPTY


def lookup(
    request: Request, variants: Sequence[Stored], now: float, *, settings: RulesSettings
) -> Lookup:
    """The decision for ``request`` given the stored ``variants`` of its key, at ``now``."""
    if request.method not in _REUSING:
        return Miss("method")
    if len(variants) == 1:
        stored = variants[0]
        if not (stored.vary or stored.no_cache or stored.invalidated):
            for name, _ in request.fields:
                if name in _SLOW_FIELDS:
                    break
            else:
                if stored.freshness_lifetime > stored.age(now):
                    return Fresh(stored)
    directives = request_directives(request, settings)
    chosen = _select(request, variants)
    if isinstance(chosen, Miss):
        return GatewayTimeout() if directives.only_if_cached else chosen
    decision = _decide(chosen, directives, now)
    if directives.only_if_cached and isinstance(decision, Revalidate):
        return GatewayTimeout()
    return decision


def _select(request: Request, variants: Sequence[Stored]) -> Stored | Miss:
    """§4.1: the matching variant; "the most recent response ... is used", and
    "When a cache has multiple stored responses for a target URI and one or more
    omit the Vary header field, the cache SHOULD choose the most recent ...
    stored response with a valid Vary field value". Recency is ``response_time``
    (when this cache received it, or last revalidated it)."""
    if not variants:
        return _NO_VARIANT
    matching = [
        stored
        for stored in variants
        if variant_matches(stored.vary, stored.selecting, request.fields)
    ]
    if not matching:
        return Miss("no variant matches")
    varied = [stored for stored in matching if stored.vary]
    if varied:
        matching = varied
    return max(matching, key=lambda stored: stored.response_time)


def _revalidate(stored: Stored) -> Revalidate:
    return Revalidate(stored, conditional_fields(stored))


def _decide(stored: Stored, directives: Directives, now: float) -> Lookup:
    if stored.invalidated or stored.no_cache or directives.no_cache:
        return _revalidate(stored)
    age = stored.age(now)
    lifetime = stored.freshness_lifetime
    if directives.max_age is not None and age > directives.max_age:
        return _revalidate(stored)
    if lifetime > age:
        if directives.min_fresh is not None and lifetime - age < directives.min_fresh:
            return _revalidate(stored)
        return Fresh(stored)
    staleness = age - lifetime
    if stored.must_revalidate:
        return _revalidate(stored)
    if directives.max_stale is not None:
        if staleness <= directives.max_stale:
            return Stale(stored, revalidate_in_background=_within_swr(stored, staleness))
        return _revalidate(stored)
    if directives.max_age is not None or directives.min_fresh is not None:
        # §5.2.1.1: "Unless the max-stale request directive is also present, the
        # client does not wish to receive a stale response"; min-fresh likewise
        # asks for a fresh one.
        return _revalidate(stored)
    if _within_swr(stored, staleness):
        return Stale(stored, revalidate_in_background=True)
    return _revalidate(stored)


def _within_swr(stored: Stored, staleness: float) -> bool:
    """RFC 5861 §3: caches "MAY serve the response in which it appears after it
    becomes stale, up to the indicated number of seconds"."""
    return stored.stale_while_revalidate > 0 and staleness <= stored.stale_while_revalidate
