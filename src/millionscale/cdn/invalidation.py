"""Which stored responses an unsafe request invalidates (RFC 9111 §4.4).

§4.4: "A cache MUST invalidate the target URI when it receives a non-error status
code in response to an unsafe request method (including methods whose safety is
unknown). A cache MAY invalidate other URIs when it receives a non-error status
code in response to an unsafe request method. In particular, the URI(s) in the
Location and Content-Location response header fields (if present) are candidates
for invalidation; such URIs can be obtained by resolving them relative to the
target URI. However, a cache MUST NOT trigger an invalidation under these
conditions if the origin ... of a URI is different from that of the target URI.
A "non-error response" is one with a 2xx (Successful) or 3xx (Redirection)
status code."

The keys are :func:`.message.cache_key`'s: the caller removes (or soft-purges)
every variant of each.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from .message import Request, Response, cache_key

__all__ = ["SAFE_METHODS", "invalidated_by"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""RFC 9110 §9.2.1: "Of the request methods defined by this specification, the GET,
HEAD, OPTIONS, and TRACE methods are defined to be safe"."""


def _path_and_query(target: bytes) -> tuple[bytes | None, bytes]:
    """(authority or ``None``, path?query) of a request target in origin or absolute form."""
    parts = urlsplit(target)
    path = parts.path or b"/"
    if parts.query:
        path += b"?" + parts.query
    return (parts.netloc.lower() or None), path


def invalidated_by(request: Request, response: Response) -> list[bytes]:
    """The keys ``request`` (unsafe) and its ``response`` (2xx/3xx) invalidate: the
    target's, then ``Location``'s and ``Content-Location``'s when on the same host.
    Empty for a safe method or an error status. Never raises."""
    if request.method in SAFE_METHODS or not 200 <= response.status <= 399:
        return []
    host = request.get(b"host")
    authority, target = _path_and_query(request.target)
    host = (authority or host or b"").lower()
    keys = [cache_key(host, target)]
    base = b"http://" + host + target
    for name in (b"location", b"content-location"):
        value = response.get(name)
        if not value:
            continue
        try:
            resolved = urljoin(base, value.strip())
            other, path = _path_and_query(resolved)
        except ValueError:
            continue
        if other != host:
            continue
        key = cache_key(host, path)
        if key not in keys:
            keys.append(key)
    return keys
