"""Prometheus metrics for HTTP processes, with bounded label sets.

Requests are labelled by method, route template (``/users/{id}``, never the
raw path, so a user id never becomes a label) and status class. Paths that
match no route share the label ``unmatched``.
"""

from __future__ import annotations

import time
import weakref

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MetricsMiddleware", "metrics_response"]

# Latency buckets in seconds: 1 ms to 10 s, dense where web SLOs live (50-500 ms).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def metrics_response(_request: Request, registry: CollectorRegistry = REGISTRY) -> Response:
    """The Prometheus text exposition of ``registry``."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_HTTP_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Counter, Histogram]] = (
    weakref.WeakKeyDictionary()
)


def _http_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    """The HTTP metrics of ``registry``, created on first use (a name registers once)."""
    if registry not in _HTTP_METRICS:
        _HTTP_METRICS[registry] = (
            Counter(
                "http_requests_total",
                "HTTP requests served, by method, route template and status class.",
                ["method", "route", "status"],
                registry=registry,
            ),
            Histogram(
                "http_request_duration_seconds",
                "Time from request received to response sent, by route template.",
                ["method", "route"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )
    return _HTTP_METRICS[registry]


class MetricsMiddleware:
    """ASGI middleware counting requests and timing them by route template."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry = REGISTRY) -> None:
        self.app = app
        self.requests, self.latency = _http_metrics(registry)

    @staticmethod
    def _route(scope: Scope) -> str:
        """The template of the route that served the request (Starlette records it)."""
        path = getattr(scope.get("route"), "path", None)
        return path if isinstance(path, str) and path else "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method = scope.get("method", "GET")
            route = self._route(scope)
            self.requests.labels(method, route, f"{status // 100}xx").inc()
            self.latency.labels(method, route).observe(time.perf_counter() - started)
