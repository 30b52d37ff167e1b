"""Security headers on every response of a web process.

:class:`SecurityHeaders` adds, unless the response set them itself:

- ``Content-Security-Policy``: scripts, styles, images, fonts and
  connections from this origin only, no plugins (``object-src 'none'``), no
  ``<base>`` tricks, forms posting only here, and ``frame-ancestors 'none'``:
  no other site may frame the pages (clickjacking; CSP Level 2);
- ``X-Frame-Options: DENY``, the same for browsers without CSP Level 2;
- ``X-Content-Type-Options: nosniff``: a response is what its
  ``Content-Type`` says (an uploaded file is never run as a script);
- ``Referrer-Policy: same-origin``: URLs of this site (a profile, a photo)
  are not sent to other sites;
- ``Strict-Transport-Security`` (a year) only on requests that came over TLS
  (RFC 6797 §7.2: a host must not send it over plain HTTP); ``scope["scheme"]``
  says so, as set by the server or, from a trusted proxy, by
  ``X-Forwarded-Proto`` (uvicorn's ``ProxyHeadersMiddleware``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "HSTS", "SecurityHeaders", "content_security_policy"]


def content_security_policy(*asset_origins: str) -> str:
    """The policy above; scripts, styles, fonts and images may also come from
    ``asset_origins`` (a CDN serving the static assets and photos: ``https://cdn.example``).

    Each is an origin (scheme, host, port), which allows every path on it: a
    source expression with a path narrows it to that path.
    """
    extra = "".join(f" {origin}" for origin in asset_origins)
    return (
        f"default-src 'self'{extra}; img-src 'self' data:{extra}; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


CONTENT_SECURITY_POLICY = content_security_policy()
HSTS = "max-age=31536000"  # one year, as OWASP's HTTP headers cheat sheet suggests

_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response."""

    def __init__(self, app: ASGIApp, *, policy: str = CONTENT_SECURITY_POLICY) -> None:
        self.app = app
        self.headers = tuple(
            (name, policy.encode()) if name == b"content-security-policy" else (name, value)
            for name, value in _HEADERS
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers
        if scope.get("scheme") == "https":
            extra = (*extra, (b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
