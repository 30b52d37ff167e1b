"""Whether a shared cache may store a response, and the record it stores (RFC 9111 §3).

:func:`to_store` is where every header field is parsed, once: the
:class:`.message.Stored` it returns carries the freshness lifetime, the
corrected initial age, the stale windows and the revalidation flags, so a lookup
only compares numbers (see :mod:`.lookup`).

The rules, in the order they are checked (the first that fails is the
:class:`NotStored` reason):

1. The status is a real one (100-599) and final (§3: "the response status code is
   final").
2. The request method is GET (§3: "the request method is understood by the
   cache"; a HEAD response has no content to answer a later GET with).
3. Whole representations only: a 206, or any response with ``Content-Range``, is
   not stored (§3.4 allows combining partial responses; this cache stores full
   objects and serves ranges from them, :mod:`.ranges`). A 304 is not stored
   either: it updates a stored response (:func:`.validation.after_revalidation`).
4. ``Content-Length``, when present without ``Transfer-Encoding``, equals the
   body's length (a message whose framing lies is not kept, RFC 9112 §6.3).
5. No ``no-store`` in the request (§5.2.1.5: "a cache MUST NOT store any part of
   either this request or any response to it") or the response (§5.2.2.5),
   except that ``must-understand`` with a status this cache understands makes
   ``no-store`` ignored (§5.2.2.3: "the cache SHOULD ignore the no-store
   directive if it understands the status code").
6. No unqualified ``private`` (§5.2.2.7: "a shared cache MUST NOT store the
   response").
7. A request with ``Authorization`` only if the response has ``public``,
   ``s-maxage`` or ``must-revalidate`` (§3.5: "A shared cache MUST NOT use a
   cached response to a request with an Authorization header field to satisfy
   any subsequent request unless the response contains a Cache-Control field
   with a response directive that allows it to be stored by a shared cache").
8. ``Set-Cookie``: a response carrying one is not stored unless it says it is
   shareable (``public`` or ``s-maxage``), or names ``set-cookie`` in a
   qualified ``private`` or ``no-cache``; when it is stored, the cookie is not
   (a cookie is one user's; Varnish's builtin VCL refuses such responses,
   Cloudflare caches explicitly public ones and drops the cookie: we do both).
9. Not ``Vary: *`` (it could never be reused, §4.1).
10. Something allows it (§3: "the response contains at least one of: a public
    response directive; ... an Expires header field; a max-age response
    directive; ... a s-maxage response directive; ... a status code that is
    defined as heuristically cacheable").

**CDN-Cache-Control** (RFC 9213): when the targeted field
(:attr:`.rules.RulesSettings.cdn_cache_control_target`) is present and valid, its
directives replace ``Cache-Control`` and ``Expires`` for every rule above and for
freshness (§2.1: the cache "MUST use its value to determine the caching policy
for the response, and it MUST ignore the Cache-Control and Expires header fields
in that response"). The field is stored and forwarded (RFC 9213 §3: "CDN caches
that use CDN-Cache-Control will typically forward this header so that downstream
CDN caches can use it as well"), which is what lets an edge behind a shield obey it.

**Stored fields** (§3.1): hop-by-hop fields (RFC 9110 §7.6.1: ``Connection`` and
the fields it names, ``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Trailer``,
``Upgrade``, ``Transfer-Encoding``), the proxy's own (§3.1: "Proxy-Authenticate
..., Proxy-Authentication-Info ..., and Proxy-Authorization"), ``Age`` (folded
into the corrected initial age; the edge writes its own, §5.1), ``Set-Cookie``
and the field names of a qualified ``private`` (§5.2.2.7: "a shared cache MUST
NOT store the listed header fields") or ``no-cache`` (§5.2.2.4: they "MUST NOT be
sent in response to a subsequent request without successful revalidation"; never
sending them from the cache honours that) are dropped. ``Content-Length`` is set
to the body's length (the edge sends stored bodies sized) except on a 204, and a
missing ``Date`` is added (RFC 9110 §6.6.1: "A recipient with a clock that
receives a response message without a Date header field MUST add one if the
message is cached or forwarded downstream").
"""

from __future__ import annotations

from dataclasses import dataclass

from .cachecontrol import EMPTY, Directives, parse_directives, parse_targeted
from .freshness import (
    HEURISTICALLY_CACHEABLE,
    age_value,
    corrected_initial_age,
    date_value,
    explicit_lifetime,
    heuristic_lifetime,
)
from .httpdate import format_http_date
from .message import Fields, Request, Response, Stored, cache_key, field_value, field_values
from .rules import RulesSettings
from .vary import VARY_ANY, parse_vary, selecting_fields

__all__ = [
    "UNDERSTOOD_STATUSES",
    "NotStored",
    "Policy",
    "response_directives",
    "stored_fields",
    "to_store",
]

UNDERSTOOD_STATUSES = frozenset(
    {200, 203, 204, 300, 301, 302, 303, 307, 308}
    | set(range(400, 418))
    | {421, 422, 426, 451}
    | set(range(500, 506))
)
"""The statuses whose caching semantics this cache implements, for ``must-understand``
(§5.2.2.3): every final status RFC 9110 defines except 206 (partial content is not
stored) and 304 (an update, not a response)."""

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"transfer-encoding",
        b"proxy-authenticate",
        b"proxy-authentication-info",
        b"proxy-authorization",
        b"age",
        b"set-cookie",
    }
)
_TAG_FIELDS = (b"surrogate-key", b"xkey")


@dataclass(frozen=True, slots=True)
class NotStored:
    """Why a response was not stored: one short phrase (``"private"``, ``"set-cookie"``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A response's directives and where they came from (``targeted``: RFC 9213's field)."""

    directives: Directives
    targeted: bool


def response_directives(fields: Fields, settings: RulesSettings) -> Policy:
    """The directives that rule this cache's handling of a response with ``fields``:
    the targeted field's when present and valid (RFC 9213 §2.1), else ``Cache-Control``'s."""
    target = settings.cdn_cache_control_target
    if target is not None:
        lines = [value for name, value in fields if name == target]
        if lines:
            targeted = parse_targeted(lines)
            if targeted is not None:
                return Policy(targeted, True)
    return Policy(parse_directives(field_values(fields, b"cache-control")), False)


def _content_length_ok(fields: Fields, size: int) -> bool:
    members = field_values(fields, b"content-length")
    if not members:
        return True
    # RFC 9110 §8.6: a list of identical values may be read as one.
    return all(member.isdigit() and int(member) == size for member in members)


def stored_fields(
    status: int, fields: Fields, size: int, directives: Directives, response_time: float
) -> Fields:
    """The fields to keep of a response (see the module's docstring, §3.1)."""
    drop = set(_HOP_BY_HOP)
    for name, value in fields:
        if name == b"connection":
            drop.update(token.strip().lower() for token in value.split(b","))
    drop.update(directives.private_fields)
    drop.update(directives.no_cache_fields)
    drop.discard(b"content-length")
    drop.discard(b"date")
    kept = [
        (name, value) for name, value in fields if name not in drop and name != b"content-length"
    ]
    if status != 204:
        kept.append((b"content-length", str(size).encode("ascii")))
    if field_value(fields, b"date") is None:
        kept.append((b"date", format_http_date(response_time)))
    return tuple(kept)


def tags_of(fields: Fields) -> frozenset[bytes]:
    """Surrogate keys: the space-separated members of ``Surrogate-Key`` (Fastly's) and
    ``xkey`` (Varnish's) response fields."""
    tags: set[bytes] = set()
    for name, value in fields:
        if name in _TAG_FIELDS:
            tags.update(value.split())
    return frozenset(tags)


def _response_rules(
    status: int, fields: Fields, policy: Policy, *, authorized: bool
) -> NotStored | None:
    """Rules 5-10 of the module's docstring, on the response's side."""
    directives = policy.directives
    if directives.no_store and not (directives.must_understand and status in UNDERSTOOD_STATUSES):
        return NotStored("no-store")
    if directives.must_understand and status not in UNDERSTOOD_STATUSES:
        return NotStored("must-understand: status not understood")
    if directives.private:
        return NotStored("private")
    shareable = directives.public or directives.s_maxage is not None
    if authorized and not (shareable or directives.must_revalidate):
        return NotStored("authorization")
    if field_value(fields, b"set-cookie") is not None and not (
        shareable
        or b"set-cookie" in directives.private_fields
        or b"set-cookie" in directives.no_cache_fields
    ):
        return NotStored("set-cookie")
    if parse_vary(fields) == VARY_ANY:
        return NotStored("vary: *")
    explicit = (
        directives.public
        or directives.max_age is not None
        or directives.s_maxage is not None
        or (not policy.targeted and field_value(fields, b"expires") is not None)
    )
    if not explicit and status not in HEURISTICALLY_CACHEABLE:
        return NotStored("no explicit freshness and the status is not heuristically cacheable")
    return None


def derive(
    *,
    key: bytes,
    status: int,
    fields: Fields,
    body: bytes,
    selecting: Fields | None,
    request_fields: Fields,
    request_time: float,
    response_time: float,
    settings: RulesSettings,
    authorized: bool,
) -> Stored | NotStored:
    """The record for a response that passed the request's rules: every number
    §4.2 needs, computed here once. ``selecting`` is given when the variant's
    selection is already known (an update after a 304)."""
    policy = response_directives(fields, settings)
    refused = _response_rules(status, fields, policy, authorized=authorized)
    if refused is not None:
        return refused
    directives = policy.directives
    date = date_value(fields, response_time)
    lifetime = explicit_lifetime(
        directives, field_value(fields, b"expires"), date, read_expires=not policy.targeted
    )
    if lifetime is None:
        lifetime = heuristic_lifetime(field_value(fields, b"last-modified"), date, settings)
    # §5.2.2.10: "The s-maxage directive incorporates the semantics of the
    # proxy-revalidate response directive for a shared cache", but an explicit
    # stale-while-revalidate / stale-if-error in the same response is the
    # origin's later, specific permission (RFC 5861) and is honoured (as
    # Cloudflare and Vercel do for "s-maxage=1, stale-while-revalidate").
    windows = directives.stale_while_revalidate is not None or directives.stale_if_error is not None
    must_revalidate = (
        directives.must_revalidate
        or directives.proxy_revalidate
        or directives.no_cache
        or (directives.s_maxage is not None and not windows)
    )
    vary = parse_vary(fields)
    return Stored(
        key=key,
        status=status,
        fields=stored_fields(status, fields, len(body), directives, response_time),
        body=body,
        request_time=request_time,
        response_time=response_time,
        corrected_initial_age=corrected_initial_age(
            age=age_value(fields), date=date, request_time=request_time, response_time=response_time
        ),
        freshness_lifetime=lifetime,
        stale_while_revalidate=float(directives.stale_while_revalidate or 0),
        stale_if_error=float(
            settings.default_stale_if_error_s
            if directives.stale_if_error is None
            else directives.stale_if_error
        ),
        must_revalidate=must_revalidate,
        no_cache=directives.no_cache,
        vary=vary,
        selecting=selecting_fields(request_fields, vary) if selecting is None else selecting,
        tags=tags_of(fields),
    )


def to_store(
    request: Request,
    response: Response,
    body: bytes,
    *,
    request_time: float,
    response_time: float,
    now: float,
    settings: RulesSettings,
) -> Stored | NotStored:
    """The record to store for ``request``'s ``response`` with ``body``, or why not.

    ``request_time`` is when the request was sent to the origin, ``response_time``
    when the response head arrived (§4.2.3); ``now`` is unused by the rules
    today and kept for the contract. Never raises on any field content.
    """
    del now
    status = response.status
    if not 100 <= status <= 599:
        return NotStored("status out of range")
    if status < 200:
        return NotStored("interim response")
    if request.method != "GET":
        return NotStored("method")
    if status == 206 or response.get(b"content-range") is not None:
        return NotStored("partial content")
    if status == 304:
        return NotStored("304 updates a stored response")
    if response.get(b"transfer-encoding") is None and not _content_length_ok(
        response.fields, len(body)
    ):
        return NotStored("content-length mismatch")
    request_directives = (
        parse_directives(request.values(b"cache-control"))
        if settings.client_cache_control
        else EMPTY
    )
    if request_directives.no_store:
        return NotStored("request no-store")
    return derive(
        key=cache_key(request.get(b"host"), request.target),
        status=status,
        fields=response.fields,
        body=body,
        selecting=None,
        request_fields=request.fields,
        request_time=request_time,
        response_time=response_time,
        settings=settings,
        authorized=request.get(b"authorization") is not None,
    )
