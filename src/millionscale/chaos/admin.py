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
never a traceback. The token check, the error shape and the open routes are the
shared admin plumbing (:mod:`millionscale.obs.admin`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.chaos.proxy import FaultProxy
from millionscale.chaos.spec import faults_to_json, parse_faults, parse_partition, partition_to_json
from millionscale.errors import ConfigError, Conflict, Invalid, PayloadTooLarge
from millionscale.obs.admin import admin_app

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 64 * 1024  # a fault spec is a few hundred bytes


def create_app(proxy: FaultProxy, token: str) -> Starlette:
    """The admin API over ``proxy`` (which the caller starts and stops)."""

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
        with _invalid():
            faults = parse_faults(await _json_body(request))
        return JSONResponse(state(proxy.set_faults(faults)))

    async def delete_faults(_request: Request) -> Response:
        return JSONResponse(state(proxy.clear_faults()))

    async def partition(request: Request) -> Response:
        data = await _json_body(request, empty={})
        with _invalid():
            chosen = parse_partition(data)
        return JSONResponse(state(await proxy.partition(chosen)))

    async def heal(_request: Request) -> Response:
        try:
            result = await proxy.heal()
        except ConfigError as error:  # not partitioned: the state forbids it
            raise Conflict(error.message, hint=error.hint) from None
        return JSONResponse(state(result))

    async def reset(_request: Request) -> Response:
        return JSONResponse(state(proxy.reset_all()))

    async def stats(_request: Request) -> Response:
        return JSONResponse(dataclasses.asdict(proxy.statistics()))

    async def ready() -> str | None:
        return None if proxy.port else "not listening yet"

    return admin_app(
        [
            Route("/faults", get_faults, methods=["GET"]),
            Route("/faults", put_faults, methods=["PUT"]),
            Route("/faults", delete_faults, methods=["DELETE"]),
            Route("/partition", partition, methods=["POST"]),
            Route("/heal", heal, methods=["POST"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
        ],
        token=token,
        ready=ready,
    )


@contextlib.contextmanager
def _invalid() -> Iterator[None]:
    """A spec's :class:`ConfigError` becomes :class:`Invalid` (422), its message kept."""
    try:
        yield
    except ConfigError as error:
        raise Invalid(error.message, hint=error.hint) from None


async def _json_body(request: Request, *, empty: object = None) -> object:
    """The decoded JSON body; ``empty`` if there is none and that is allowed."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if empty is None:
            raise Invalid("the body must be a JSON fault spec")
        return empty
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise Invalid(f"the body is not JSON: {error}") from None
