"""The balancer's admin API: its membership at run time, on a port of its own.

Hosted as every admin API is (:mod:`millionscale.obs.admin`: Starlette on
uvicorn, the bearer guard, ``{"detail": reason}`` errors, open ``/healthz``,
``/readyz``, ``/metrics``). The public side keeps its own asyncio HTTP code
(:mod:`.http`); the two share the event loop and nothing else, so an operator
asking for ``/backends`` costs the data path one short callback.

- ``GET /backends``: every backend's state, load, latency, ejection;
- ``POST /backends`` ``{"name": "web-4", "address": "127.0.0.1:8004", "weight": 1}``:
  add one (it serves once its checks pass, with slow start); 201; 409 if the
  name is already a member, 422 for a body that is not that;
- ``POST /backends/{name}/drain``: no new requests; removed once idle;
- ``DELETE /backends/{name}``: removed at once; both 404 for no such backend.

``/readyz`` is 503 while no backend is in rotation.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.errors import ConfigError, Invalid
from millionscale.lb.backend import parse_backend
from millionscale.lb.balancer import Balancer
from millionscale.obs.admin import admin_app

__all__ = ["MAX_WEIGHT", "create_app"]

MAX_WEIGHT = 256  # HAProxy's server weight range is 0 to 256
_BODY = 'the body must be {"name": ..., "address": "host:port"}'


def create_app(balancer: Balancer, token: str) -> Starlette:
    """The admin API over ``balancer`` (which the caller starts and stops)."""

    async def list_backends(_request: Request) -> Response:
        return JSONResponse(balancer.statistics().to_json())

    async def add_backend(request: Request) -> Response:
        name, host, port, weight = _member(await request.body())
        balancer.add(name, host, port, weight=weight)  # Conflict if already a member
        return JSONResponse(balancer.statistics().to_json(), status_code=201)

    async def drain_backend(request: Request) -> Response:
        return JSONResponse({"result": balancer.drain(request.path_params["name"])})

    async def remove_backend(request: Request) -> Response:
        balancer.remove(request.path_params["name"])  # NotFound if it is not a member
        return JSONResponse(balancer.statistics().to_json())

    async def ready() -> str | None:
        serving = any(b.health.serving for b in balancer.backends.values())
        return None if serving else "no backend in rotation"

    return admin_app(
        [
            Route("/backends", list_backends, methods=["GET"]),
            Route("/backends", add_backend, methods=["POST"]),
            Route("/backends/{name}/drain", drain_backend, methods=["POST"]),
            Route("/backends/{name}", remove_backend, methods=["DELETE"]),
        ],
        token=token,
        ready=ready,
    )


def _member(body: bytes) -> tuple[str, str, int, int]:
    """(name, host, port, weight) from a ``POST /backends`` body; :class:`Invalid` if not."""
    try:
        data = json.loads(body or b"{}")
        name, address = str(data["name"]), str(data["address"])
        weight = int(data.get("weight", 1))
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError, UnicodeDecodeError):
        raise Invalid(_BODY) from None  # JSONDecodeError is a ValueError
    if not name:
        raise Invalid("a backend's name must not be empty")
    if not 1 <= weight <= MAX_WEIGHT:
        raise Invalid(f"weight must be 1 to {MAX_WEIGHT}")
    try:
        _, host, port = parse_backend(f"{name}={address}")
    except ConfigError as error:
        raise Invalid(error.message, hint=error.hint) from None
    return name, host, port, weight
