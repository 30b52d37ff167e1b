"""``/healthz``, ``/readyz`` and ``/metrics``: what every HTTP process of ours serves.

- ``/healthz`` answers 200 while the process can serve at all (liveness: a
  supervisor restarts a process that stops answering it);
- ``/readyz`` answers 200 only when ``ready()`` says the process can do its
  job (its database reachable, its caches warm), else 503 with the reason
  (readiness: a load balancer sends traffic only to ready processes);
- ``/metrics`` is the Prometheus exposition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.obs.metrics import metrics_response

__all__ = ["ReadyCheck", "health_routes"]

ReadyCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else a short reason why not."""


async def _always_ready() -> str | None:
    return None


def health_routes(ready: ReadyCheck = _always_ready) -> list[Route]:
    """The three routes, with ``ready`` deciding ``/readyz``."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        reason = await ready()
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_response, methods=["GET"]),
    ]
