"""The edge's admin API: purges and statistics, on a port of its own.

Hosted as every admin API is (:mod:`millionscale.obs.admin`: Starlette on
uvicorn, the bearer guard, ``{"detail": reason}`` errors, open ``/healthz``,
``/readyz``, ``/metrics``); the public side is the edge's own asyncio code.

- ``POST /v1/purge`` ``{"url": "http://host/a"} | {"prefix": "/static/"} |
  {"tag": "photo-12"}`` (exactly one), ``"soft": bool`` (default false: the
  responses are removed; true: marked stale, kept for stale-if-error),
  ``"issued_at": float`` (the purger's wall clock, for the purge-lag
  histogram): ``{"purged": n}``. A ``url`` or ``prefix`` that is a path
  (``/a``) purges it on every host the edge holds responses for. A body that
  is not that is answered 400 ``{"detail": ...}``.
- ``GET /v1/statistics``: the edge's and its store's counters (JSON).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.cdn.edge import Edge
from millionscale.errors import AdminRequestError
from millionscale.obs.admin import admin_app

__all__ = ["MAX_PURGE_BODY", "create_app", "purge_request"]

MAX_PURGE_BODY = 64 * 1024  # ours: a purge names one URL, prefix or tag
_BODY = 'the body must be {"url" | "prefix" | "tag": "...", "soft": bool, "issued_at": float}'


def purge_request(body: bytes) -> dict[str, Any]:
    """The keyword arguments of :meth:`Edge.purge` in a ``POST /v1/purge`` body;
    :class:`AdminRequestError` (400) if it is not one."""
    if len(body) > MAX_PURGE_BODY:
        raise AdminRequestError(f"a purge body over {MAX_PURGE_BODY} bytes")
    try:
        data = json.loads(body or b"null")
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise AdminRequestError(f"not JSON; {_BODY}") from None
    if not isinstance(data, dict):
        raise AdminRequestError(_BODY)
    unknown = set(data) - {"url", "prefix", "tag", "soft", "issued_at"}
    if unknown:
        raise AdminRequestError(f"unknown field {sorted(unknown)[0]!r}; {_BODY}")
    named = [name for name in ("url", "prefix", "tag") if name in data]
    if len(named) != 1:
        raise AdminRequestError(f"give exactly one of url, prefix, tag; {_BODY}")
    what = named[0]
    value = data[what]
    if not isinstance(value, str) or not value:
        raise AdminRequestError(f"{what} must be a non-empty string")
    if what != "tag" and not (value.startswith("/") or value.startswith("http")):
        raise AdminRequestError(f"{what} must be a path (/a) or an http URL")
    if what != "tag" and not value.isascii():
        raise AdminRequestError(f"{what} must be ASCII (percent-encode the rest)")
    soft = data.get("soft", False)
    if not isinstance(soft, bool):
        raise AdminRequestError("soft must be true or false")
    issued_at = data.get("issued_at")
    if issued_at is not None and (
        isinstance(issued_at, bool)
        or not isinstance(issued_at, int | float)
        or not math.isfinite(issued_at)
    ):
        raise AdminRequestError("issued_at must be a number (seconds since the epoch)")
    return {what: value, "soft": soft, "issued_at": None if issued_at is None else float(issued_at)}


def create_app(edge: Edge, token: str) -> Starlette:
    """The admin API over ``edge`` (which the caller starts and stops)."""

    async def purge(request: Request) -> Response:
        arguments = purge_request(await request.body())
        try:
            purged = edge.purge(**arguments)
        except ValueError as error:
            raise AdminRequestError(str(error)) from None
        return JSONResponse({"purged": purged})

    async def statistics(_request: Request) -> Response:
        return JSONResponse(edge.statistics().to_json())

    return admin_app(
        [
            Route("/v1/purge", purge, methods=["POST"]),
            Route("/v1/statistics", statistics, methods=["GET"]),
        ],
        token=token,
    )
