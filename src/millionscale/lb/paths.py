"""Paths the public side never reaches: the backends' own ``/metrics``, by default.

A web server's ``/metrics`` tells anyone who reads it its routes, load, error
rates and versions; it is for the supervisor's probes and Prometheus, which
reach each web server directly on the private side. The balancer answers a
request for such a path with 404 itself and never forwards it, as an HAProxy
frontend does with ``http-request deny if { path_beg /metrics }``.

A backend must not be reachable by another spelling of the path, so the
check is made on the path as a backend could understand it, more broadly
than any one framework does:

- the request target's path only (origin-form, or the path of an
  absolute-form ``http://host/metrics``; the query and fragment cut off);
- percent-decoded until nothing changes (``/%6Detrics``, ``/%256Detrics``);
- backslashes as slashes, runs of slashes as one, dot segments removed
  (RFC 3986 §5.2.4: ``/a/../metrics``, ``/./metrics``);
- path parameters cut from each segment (``/metrics;x``);
- case folded, a trailing slash ignored;

and a path is private if it is one of the private paths or under one
(``/metrics`` covers ``/metrics/extra``). Pure: bytes in, a yes or no out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

__all__ = ["DEFAULT_PRIVATE_PATHS", "PrivatePaths", "normalize"]

DEFAULT_PRIVATE_PATHS = ("/metrics",)
_DECODE_ROUNDS = 4  # a path encoded more often than this is refused outright
_SLASHES = re.compile(rb"/+")
_ABSOLUTE = re.compile(rb"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*")


def normalize(target: bytes) -> bytes | None:
    """The path of ``target`` as compared; None if it cannot be made out."""
    path = _ABSOLUTE.sub(b"", target, count=1)
    for cut in (b"?", b"#"):
        path = path.split(cut, 1)[0]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote_to_bytes(path)
        if decoded == path:
            break
        path = decoded
    else:
        return None
    path = _SLASHES.sub(b"/", path.replace(b"\\", b"/"))
    kept: list[bytes] = []
    for segment in path.split(b"/"):
        segment = segment.split(b";", 1)[0]
        if segment == b"..":
            if kept:
                kept.pop()
        elif segment not in (b"", b"."):
            kept.append(segment)
    return b"/" + b"/".join(kept).lower()


class PrivatePaths:
    """Decides whether a request target is for a private path."""

    def __init__(self, paths: Iterable[str] = DEFAULT_PRIVATE_PATHS) -> None:
        normalized = [normalize(p.encode()) for p in paths if p.strip()]
        self.paths = tuple(p for p in normalized if p is not None and p != b"/")
        # A cheap first look for the hot path: a target with no '%' that does not
        # hold any private path's last segment, in any case, cannot be private.
        self._words = tuple({p.rsplit(b"/", 1)[-1] for p in self.paths})

    def __bool__(self) -> bool:
        return bool(self.paths)

    def refuses(self, target: bytes) -> bool:
        if not self.paths:
            return False
        lowered = target.lower()
        if b"%" not in lowered and not any(word in lowered for word in self._words):
            return False
        path = normalize(target)
        if path is None:
            return True  # encoded past any reason: not forwarded
        return any(path == p or path.startswith(p + b"/") for p in self.paths)
