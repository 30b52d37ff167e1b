"""The fault proxy's admin API: set faults, partition, heal, reset, read statistics.

Every route but ``/healthz``, ``/readyz`` and ``/metrics`` wants
``Authorization: Bearer <token>``. Bodies are JSON (:mod:`.spec`):

- ``GET /faults``: the faults and the partition in force;
- ``PUT /faults`` (a fault spec): replace the faults; ``DELETE /faults``: none;
- ``POST /partition`` (``{"new": "hang"|"refuse", "existing": "freeze"|"cut"}``,
  both optional): partition until ``POST /heal``;
- ``POST /reset``: reset every open connection;
- ``GET /stats``: :class:`~.proxy.ProxyStatistics`.

Answers are JSON; a bad request gets a 4xx with ``{"detail": "<reason>"}`` (as every error of ours),
never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.chaos.proxy import FaultProxy
from millionscale.chaos.spec import faults_to_json, parse_faults, parse_partition, partition_to_json
from millionscale.errors import ConfigError
from millionscale.obs import MetricsMiddleware, health_routes
from millionscale.web.bearer import bearer_matches

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 64 * 1024  # a fault spec is a few hundred bytes

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"detail": reason}, status_code=status)


def create_app(proxy: FaultProxy, token: str) -> Starlette:
    """The admin API over ``proxy`` (which the caller starts and stops)."""

    def guarded(handler: Handler) -> Handler:
        async def guard(request: Request) -> Response:
            if not bearer_matches(request.headers.get("authorization"), token):
                return JSONResponse(
                    {"detail": "missing or wrong admin token"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            try:
                return await handler(request)
            except _BadBody as error:
                return _error(error.status, error.reason)
            except ConfigError as error:
                return _error(422, error.one_line())

        return guard

    def state(result: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = {"result": result} if result is not None else {}
        answer |= {
            "faults": faults_to_json(proxy.faults),
            "partition": partition_to_json(proxy.partitioned),
            "summary": proxy.faults.describe(),
        }
        return answer

    async def get_faults(_request: Request) -> Response:
        return JSONResponse(state())

    async def put_faults(request: Request) -> Response:
        faults = parse_faults(await _json_body(request))
        return JSONResponse(state(proxy.set_faults(faults)))

    async def delete_faults(_request: Request) -> Response:
        return JSONResponse(state(proxy.clear_faults()))

    async def partition(request: Request) -> Response:
        data = await _json_body(request, empty={})
        return JSONResponse(state(await proxy.partition(parse_partition(data))))

    async def heal(_request: Request) -> Response:
        try:
            result = await proxy.heal()
        except ConfigError as error:
            return _error(409, error.one_line())
        return JSONResponse(state(result))

    async def reset(_request: Request) -> Response:
        return JSONResponse(state(proxy.reset_all()))

    async def stats(_request: Request) -> Response:
        return JSONResponse(dataclasses.asdict(proxy.statistics()))

    async def ready() -> str | None:
        return None if proxy.port else "not listening yet"

    async def http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _error(error.status_code, str(error.detail))

    return Starlette(
        routes=[
            Route("/faults", guarded(get_faults), methods=["GET"]),
            Route("/faults", guarded(put_faults), methods=["PUT"]),
            Route("/faults", guarded(delete_faults), methods=["DELETE"]),
            Route("/partition", guarded(partition), methods=["POST"]),
            Route("/heal", guarded(heal), methods=["POST"]),
            Route("/reset", guarded(reset), methods=["POST"]),
            Route("/stats", guarded(stats), methods=["GET"]),
            *health_routes(ready),
        ],
        middleware=[Middleware(MetricsMiddleware)],
        exception_handlers={HTTPException: http_error},
    )


class _BadBody(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def _json_body(request: Request, *, empty: object = None) -> object:
    """The decoded JSON body; ``empty`` if there is none and that is allowed."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BadBody(413, f"the body is over {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _BadBody(413, f"the body is over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if empty is None:
            raise _BadBody(422, "the body must be a JSON fault spec")
        return empty
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise _BadBody(422, f"the body is not JSON: {error}") from None
