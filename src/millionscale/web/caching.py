"""What shared caches (a CDN edge, a proxy) may keep of a web process's answers.

:class:`PrivateByDefault` makes every response private unless its handler said
otherwise:

- a response without ``Cache-Control`` gets ``private, no-store``
  (:data:`PRIVATE`). Pages and API answers carry the viewer's session in what
  they show (``liked_by_me``, the nav bar); without a directive a shared cache
  may still store a response and reuse it by heuristic freshness (RFC 9111
  §4.2.2), for the next viewer too. ``private`` forbids a shared cache to store
  it (§5.2.2.7), ``no-store`` forbids any cache, the browser's included
  (§5.2.2.5): a logged-out browser's back button shows no one's timeline;
- a response that sets a cookie is private whatever its handler said: its
  ``Cache-Control`` becomes :data:`PRIVATE` unless it already holds
  ``private`` or ``no-store``. A stored ``Set-Cookie`` would hand one user's
  session to every user of the cache (RFC 9111 §7.3 warns of it; Varnish's
  built-in VCL refuses to cache such responses for the same reason).

What a handler marks cacheable (``public, max-age=...``: fingerprinted static
assets, uploaded photos) passes unchanged.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PRIVATE", "PrivateByDefault"]

PRIVATE = "private, no-store"


class PrivateByDefault:
    """ASGI middleware: the rules above on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _private(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, send_private)


def _private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    directives = b",".join(v for n, v in headers if n.lower() == b"cache-control").lower()
    if b"cache-control" not in names:
        return [*headers, (b"cache-control", PRIVATE.encode())]
    if b"set-cookie" in names and b"private" not in directives and b"no-store" not in directives:
        kept = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
        return [*kept, (b"cache-control", PRIVATE.encode())]
    return headers
