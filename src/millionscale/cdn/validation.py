"""Validation (RFC 9111 §4.3): asking the origin whether a stored response is still
good, merging its 304 in, and answering clients' own conditional requests.

- :func:`conditional_fields` (§4.3.1): the fields a revalidation adds. "One such
  validator is the timestamp given in a Last-Modified header field ...; the
  other is the entity tag"; the cache "MUST send the relevant entity tags (using
  If-None-Match) if an entity tag was provided in the stored response", and
  "SHOULD send the Last-Modified value (using If-Modified-Since) if ... a single
  stored response is being validated, and that response contains a
  Last-Modified value". Both are sent when both exist.
- :func:`after_revalidation` (§4.3.3, §4.3.4, §3.2): a 304 freshens the stored
  response if its validators select it, with its header fields replaced by the
  304's and its times reset.
- :func:`client_not_modified` (§4.3.2): a client's ``If-None-Match`` /
  ``If-Modified-Since`` evaluated against the stored response the cache would
  serve, so the edge answers 304 itself; :func:`not_modified_fields` are that
  304's fields (RFC 9110 §15.4.5).
"""

from __future__ import annotations

from .construct import age_field
from .httpdate import parse_http_date
from .message import Fields, Request, Response, Stored, field_values
from .rules import RulesSettings
from .storable import derive

__all__ = [
    "after_revalidation",
    "client_not_modified",
    "conditional_fields",
    "not_modified_fields",
    "strong_match",
    "weak_match",
]

# §3.2: a 304's fields replace the stored ones "with the following exceptions:
# Header fields excepted from storage in Section 3.1, ... Header fields that are
# automatically processed and removed by the recipient ..., and The Content-Length
# header field." Content-Encoding is kept as stored too: the stored bytes are in
# the stored coding (§3.2: caches "MAY omit these header fields from updating
# stored responses on an exceptional basis", its example is Content-Encoding).
_NOT_UPDATED = frozenset(
    {
        b"content-length",
        b"content-range",
        b"content-encoding",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authentication-info",
        b"proxy-authorization",
        b"set-cookie",
    }
)
# RFC 9110 §15.4.5: "The server generating a 304 response MUST generate any of the
# following header fields that would have been sent in a 200 (OK) response to the
# same request: Content-Location, Date, ETag, and Vary; Cache-Control and Expires".
_NOT_MODIFIED_FIELDS = frozenset(
    {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary", b"last-modified"}
)


def _opaque(tag: bytes) -> tuple[bool, bytes] | None:
    """(weak, opaque-tag) of an entity-tag (RFC 9110 §8.8.3), or ``None`` if malformed."""
    weak = tag[:2] == b"W/"
    body = tag[2:] if weak else tag
    if len(body) < 2 or body[:1] != b'"' or body[-1:] != b'"' or b'"' in body[1:-1]:
        return None
    return weak, body


def strong_match(a: bytes | None, b: bytes | None) -> bool:
    """RFC 9110 §8.8.3.2: "two entity tags are equivalent if both are not weak and
    their opaque-tags match character-by-character"."""
    if a is None or b is None:
        return False
    left, right = _opaque(a.strip()), _opaque(b.strip())
    return left is not None and right is not None and not left[0] and not right[0] and left == right


def weak_match(a: bytes | None, b: bytes | None) -> bool:
    """RFC 9110 §8.8.3.2: "two entity tags are equivalent if their opaque-tags match
    character-by-character, regardless of either or both being tagged as "weak"."."""
    if a is None or b is None:
        return False
    left, right = _opaque(a.strip()), _opaque(b.strip())
    return left is not None and right is not None and left[1] == right[1]


def conditional_fields(stored: Stored) -> Fields:
    """The fields a revalidation of ``stored`` sends (§4.3.1); empty without validators."""
    etag = stored.get(b"etag")
    modified = stored.get(b"last-modified")
    fields: list[tuple[bytes, bytes]] = []
    if etag is not None:
        fields.append((b"if-none-match", etag))
    if modified is not None:
        fields.append((b"if-modified-since", modified))
    return tuple(fields)


def _selects(stored: Stored, response: Response) -> bool:
    """§4.3.4: whether the 304 ``response`` identifies ``stored`` for update.

    "If the new response contains one or more strong validators ..., then each of
    those strong validators identifies a selected representation for update. ...
    If none of the stored responses contain at least one of the same strong
    validators, then the cache MUST NOT use the new response to update any stored
    responses. If the new response contains no strong validators but does
    contain one or more weak validators, and those validators correspond to one
    of the cache's stored responses, then the most recent of those matching
    stored responses is identified for update."

    A 304 with no validator at all updates: the revalidation named only this
    stored response's validators (:func:`conditional_fields`), so the origin's
    "not modified" can only be about it (§4.3.4's last case, "there is only one
    stored response", read for the request this cache sent).
    """
    etag = response.get(b"etag")
    if etag is not None:
        parsed = _opaque(etag.strip())
        if parsed is None:
            return False
        if not parsed[0]:
            return strong_match(etag, stored.get(b"etag"))
        return weak_match(etag, stored.get(b"etag"))
    modified = response.get(b"last-modified")
    if modified is not None:
        stored_modified = stored.get(b"last-modified")
        new, old = parse_http_date(modified), parse_http_date(stored_modified)
        return new is not None and new == old
    return True


def after_revalidation(
    stored: Stored,
    response: Response,
    *,
    request_time: float,
    response_time: float,
    now: float,
    settings: RulesSettings,
) -> Stored | None:
    """``stored`` freshened by the origin's 304 ``response`` (§4.3.4), or ``None``.

    §4.3.3: "If the status code is 304 (Not Modified) ..., the cache SHOULD update
    its stored response as described in Section 4.3.4"; §3.2: "the cache MUST add
    each header field in the provided response to the stored response, replacing
    field values that are already present". The result's lifetime, age, windows
    and flags are recomputed from the merged fields and the new times; a soft
    purge's mark is cleared (the response is "successfully validated").

    ``None``: the response is not a 304; or its validators do not select
    ``stored`` (§4.3.4 "MUST NOT use the new response to update"); or its new
    ``Vary`` differs (the variant's selection cannot be recomputed without the
    original request); or the merged response may no longer be stored (e.g. the
    304 says ``no-store``). The caller then fetches unconditionally. A full
    response to a revalidation is not for this function: §4.3.3 "the cache MUST
    use the full response to satisfy the request", i.e. :func:`.storable.to_store`.
    """
    del now
    if response.status != 304 or not _selects(stored, response):
        return None
    updated = {name for name, _ in response.fields if name not in _NOT_UPDATED}
    merged = tuple((name, value) for name, value in stored.fields if name not in updated) + tuple(
        (name, value) for name, value in response.fields if name in updated
    )
    fresh = derive(
        key=stored.key,
        status=stored.status,
        fields=merged,
        body=stored.body,
        selecting=stored.selecting,
        request_fields=(),
        request_time=request_time,
        response_time=response_time,
        settings=settings,
        authorized=False,
    )
    if not isinstance(fresh, Stored) or fresh.vary != stored.vary:
        return None
    return fresh


def client_not_modified(request: Request, stored: Stored) -> bool:
    """Whether the edge answers the client's conditional request with a 304 itself
    (§4.3.2), given the ``stored`` response it would otherwise serve.

    "If a cache receives a request that can be satisfied by reusing a stored 200
    (OK) or 206 (Partial Content) response, as per Section 4, the cache SHOULD
    evaluate any applicable conditional header field preconditions received in
    that request with respect to the corresponding validators contained within
    the stored response. ... the If-Match and If-Unmodified-Since conditional
    header fields are not applicable to a cache, and If-None-Match takes
    precedence over If-Modified-Since."

    - ``If-None-Match`` (RFC 9110 §13.1.2): ``*`` or any listed entity tag weakly
      matching the stored ``ETag`` ("A recipient MUST use the weak comparison
      function when comparing entity tags for If-None-Match").
    - ``If-Modified-Since`` (RFC 9110 §13.1.3), only without ``If-None-Match``,
      only for GET/HEAD, ignored unless a single valid HTTP-date: not modified
      when the stored ``Last-Modified`` (§4.3.2: "or, if no Date field is
      present, the time that the stored response was received" when it has no
      ``Last-Modified``: its ``Date``) is no later.
    """
    if request.method not in ("GET", "HEAD") or stored.status != 200:
        return False
    if any(name == b"if-none-match" for name, _ in request.fields):
        tags = field_values(request.fields, b"if-none-match")
        if b"*" in tags:
            return True
        etag = stored.get(b"etag")
        return any(weak_match(tag, etag) for tag in tags)
    since_values = [value for name, value in request.fields if name == b"if-modified-since"]
    if len(since_values) != 1:
        return False
    since = parse_http_date(since_values[0])
    if since is None:
        return False
    modified = parse_http_date(stored.get(b"last-modified"))
    if modified is None:
        modified = parse_http_date(stored.get(b"date"))
    if modified is None:
        modified = stored.response_time
    return modified <= since


def not_modified_fields(stored: Stored, now: float) -> Fields:
    """The fields of the 304 the edge sends for :func:`client_not_modified`: those of
    RFC 9110 §15.4.5 (and ``Last-Modified``) that ``stored`` has, then ``Age`` (§5.1)."""
    kept = tuple((name, value) for name, value in stored.fields if name in _NOT_MODIFIED_FIELDS)
    return (*kept, (b"age", age_field(stored.age(now))))
