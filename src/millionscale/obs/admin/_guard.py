"""The bearer guard: every admin route but the open ones wants ``Bearer <token>``.

ASGI middleware around an admin app. The check is
:func:`millionscale.web.bearer.bearer_matches` (the scheme in any case, the
token compared in constant time); a request without the token is answered
401 ``{"detail": "missing or wrong admin token"}`` before any route runs,
whether or not its path exists, so an unauthenticated caller learns nothing
of the API. Liveness, readiness and metrics stay open: supervisors and
Prometheus scrape them without the token.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from millionscale.obs.admin._errors import error_response
from millionscale.web.bearer import bearer_matches

__all__ = ["OPEN_PATHS", "UNAUTHORIZED", "BearerGuard"]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNAUTHORIZED = "missing or wrong admin token"


class BearerGuard:
    """Refuses, with 401, every HTTP request outside ``open_paths`` without ``token``.

    An empty ``token`` matches nothing (every guarded route refuses).
    """

    def __init__(self, app: ASGIApp, *, token: str, open_paths: Iterable[str] = OPEN_PATHS) -> None:
        self.app = app
        self.token = token
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        authorization = dict(scope["headers"]).get(b"authorization")
        if bearer_matches(authorization, self.token):
            await self.app(scope, receive, send)
            return
        await error_response(401, UNAUTHORIZED)(scope, receive, send)
