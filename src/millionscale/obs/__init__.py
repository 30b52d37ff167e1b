"""Logs and metrics that every millionscale process shares.

- :func:`configure_logging`: one structured JSON log line per event (structlog),
  the standard library's loggers (uvicorn's among them) routed through it, and
  credentials in URLs or secret-named fields redacted before anything is written.
- :func:`health_routes` and :class:`MetricsMiddleware`: ``/healthz``, ``/readyz``
  and Prometheus ``/metrics`` for every HTTP process of ours, with request
  counts and latencies labelled by route template (a bounded label set).
"""

from millionscale.obs.health import health_routes
from millionscale.obs.logging import configure_logging, redact
from millionscale.obs.metrics import MetricsMiddleware, metrics_response

__all__ = ["MetricsMiddleware", "configure_logging", "health_routes", "metrics_response", "redact"]
