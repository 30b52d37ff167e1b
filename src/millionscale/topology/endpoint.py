"""The supervisor's control endpoint: discovery and membership over a Unix socket.

Served from a thread of the supervisor (a small Starlette app on the admin
APIs' one host, :func:`~millionscale.obs.admin.serve_app`), on a Unix socket of mode 0600 in a directory of mode 0700: a Unix
socket is reachable from every network namespace (namespaces do not isolate
the filesystem), so a process on the private subnet reaches it too. Every
request, ``/healthz`` included, must carry the admin token as
``Authorization: Bearer TOKEN`` (the scheme in any case,
:class:`~millionscale.obs.admin.BearerGuard`, the admin APIs' one guard).

Routes (every error is ``{"detail": ...}`` with a 4xx status):

- ``GET /v1/snapshot?after=N&wait=S``: a blocking query in Consul's manner:
  at once when the snapshot's version is greater than ``N`` (or ``after`` is
  absent); otherwise held up to ``S`` seconds (default 30, at most
  :data:`MAX_WAIT_S`) until it is, then answered with the current snapshot
  either way. The version is also in the ``X-Discovery-Version`` header.
- ``POST /v1/roles/{group}/{role}`` with ``{"holder", "epoch"}``:
  compare-and-set; 200 with the claim in force, or 409 naming the current
  holder and epoch (``{"detail", "holder", "epoch"}``).
- ``POST /v1/processes`` with ``{"name", "like"}``: a new process made from
  ``like``'s spec; 201 with its member. 404 when ``like`` is unknown, 409
  when the name is taken.
- ``DELETE /v1/processes/{name}?drain=S``: drain for ``S`` seconds (default
  the supervisor's drain delay, at most :data:`MAX_DRAIN_S`), then stop and
  drop it; 202 with its member, now ``stopping``.
- ``POST /v1/scale`` with ``{"name", "replicas"}``: run ``replicas`` (1 to
  :data:`~.model.MAX_REPLICAS`) of the replicated process ``name`` (or of the
  one replicated process of tier ``name``): new ones start (each on a host of
  its own made from the template), the highest-numbered drain (the default
  drain delay) then go, their hosts with them; 200 with ``{"name",
  "replicas", "started": [member...], "drained": [member...]}``. 404 when no
  process or tier is named so, 409 when it is not replicated (or a replica
  to drain is needed by another process), 400 for a count out of bounds.
- ``GET /healthz``: 200 ``{"status": "ok"}``.
- ``GET /metrics``: the hosts' figures as Prometheus text
  (:func:`~.hosts.host_metrics`: CPU quota, CPU and throttled seconds,
  memory and its limit, OOM kills, labelled by host).
- ``GET /v1/openapi.json``: these routes as OpenAPI 3.0 (:data:`OPENAPI`).

This module is the HTTP layer only: the view (:class:`~.live.LiveView`) and
the membership changes (a :class:`Membership`, the supervisor) are given.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Protocol

import pydantic
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.discovery import Member, Scaled
from millionscale.errors import (
    MembershipError,
    MillionscaleError,
    StaleEpochError,
    SupervisorError,
    UnknownProcessError,
)
from millionscale.obs.admin import BearerGuard, serve_app
from millionscale.topology.hosts import host_metrics
from millionscale.topology.live import LiveView
from millionscale.topology.model import MAX_REPLICAS, NAME_PATTERN

__all__ = [
    "DEFAULT_WAIT_S",
    "MAX_DRAIN_S",
    "MAX_WAIT_S",
    "OPENAPI",
    "AddRequest",
    "ClaimRequest",
    "ControlEndpoint",
    "Membership",
    "ScaleRequest",
    "control_app",
    "parse_wait",
]

MAX_DRAIN_S = 600.0
MAX_WAIT_S = 60.0  # a blocking query is held at most this long (Consul caps its wait at 10 min)
DEFAULT_WAIT_S = 30.0
START_TIMEOUT_S = 10.0
STOP_GRACE_S = 1  # a held blocking query (?wait) must not delay a stop
ROLE_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"  # each half of group/role

Name = Annotated[str, pydantic.StringConstraints(pattern=NAME_PATTERN)]


class ClaimRequest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    holder: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=253)]
    epoch: Annotated[int, pydantic.Field(ge=0, strict=True)]


class AddRequest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    name: Name
    like: Name


class ScaleRequest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    name: Name
    replicas: Annotated[int, pydantic.Field(ge=1, le=MAX_REPLICAS, strict=True)]


_DETAIL = {
    "description": "refused",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["detail"],
                "properties": {"detail": {"type": "string"}},
            }
        }
    },
}
_JSON = {"description": "done", "content": {"application/json": {"schema": {"type": "object"}}}}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
# The routes as OpenAPI 3.0, served at /v1/openapi.json (schemathesis fuzzes them from it).
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "millionscale control endpoint", "version": "1"},
    "components": {"securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}}},
    "security": [{"admin": []}],
    "paths": {
        "/v1/snapshot": {"get": {
            "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {"name": "wait", "in": "query",
                 "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_S}},
            ],
            "responses": {"200": _JSON, "400": _DETAIL, "401": _DETAIL},
        }},
        "/v1/roles/{group}/{role}": {"post": {
            "parameters": [{**_NAME, "name": "group"}, {**_NAME, "name": "role"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["holder", "epoch"],
                "properties": {"holder": {"type": "string"},
                               "epoch": {"type": "integer", "minimum": 0}}}}}},
            "responses": {"200": _JSON, "400": _DETAIL, "401": _DETAIL, "409": _DETAIL},
        }},
        "/v1/processes": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["name", "like"],
                "properties": {"name": {"type": "string"}, "like": {"type": "string"}}}}}},
            "responses": {"201": _JSON, "400": _DETAIL, "401": _DETAIL, "404": _DETAIL,
                          "409": _DETAIL},
        }},
        "/v1/processes/{name}": {"delete": {
            "parameters": [_NAME, {"name": "drain", "in": "query",
                                   "schema": {"type": "number", "minimum": 0, "maximum": 600}}],
            "responses": {"202": _JSON, "400": _DETAIL, "401": _DETAIL, "404": _DETAIL,
                          "409": _DETAIL},
        }},
        "/v1/scale": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["name", "replicas"],
                "properties": {"name": {"type": "string"},
                               "replicas": {"type": "integer", "minimum": 1,
                                            "maximum": MAX_REPLICAS}}}}}},
            "responses": {"200": _JSON, "400": _DETAIL, "401": _DETAIL, "404": _DETAIL,
                          "409": _DETAIL},
        }},
        "/healthz": {"get": {"responses": {"200": _JSON, "401": _DETAIL}}},
        "/metrics": {"get": {"responses": {
            "200": {"description": "the hosts' figures, Prometheus text",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            "401": _DETAIL}}},
        "/v1/openapi.json": {"get": {"responses": {"200": _JSON, "401": _DETAIL}}},
    },
}  # fmt: skip


class Membership(Protocol):
    """Who carries out membership changes (the supervisor's loop)."""

    def add(self, name: str, like: str) -> Future[Member]:
        """Add ``name`` made from ``like``'s spec; its member once it is in."""
        ...

    def remove(self, name: str, drain_s: float | None) -> Future[Member]:
        """Drain ``name`` (``drain_s``, or the default delay), then remove it; its
        member, now stopping."""
        ...

    def scale(self, name: str, replicas: int) -> Future[Scaled]:
        """Run ``replicas`` of the replicated process (or tier) ``name``: start new
        ones, drain the highest-numbered; what was started and what drains."""
        ...


def parse_wait(after: str | None, wait: str | None) -> tuple[int | None, float]:
    """``after`` and ``wait`` of a blocking query; ValueError saying what is wrong."""
    version = None
    if after is not None:
        if not after.isdigit() or not after.isascii():
            raise ValueError(f"after={after!r} is not a version (a whole number, 0 or more)")
        version = int(after)
    seconds = DEFAULT_WAIT_S
    if wait is not None:
        text = wait.removesuffix("s")
        try:
            seconds = float(text)
        except ValueError:
            raise ValueError(f"wait={wait!r} is not a number of seconds") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"wait={wait!r} is not a number of seconds from 0 to {MAX_WAIT_S:g}")
    return version, min(seconds, MAX_WAIT_S)


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


async def _body(request: Request, model: type[pydantic.BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.body())
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        fields = ", ".join(model.model_fields)
        raise _BadRequest(f"{where}: {first['msg']} (the body is JSON with {fields})") from None


class _BadRequest(Exception):
    pass


def _membership_error(error: MillionscaleError) -> JSONResponse:
    """404 for a name that does not run, 409 for a change refused now, else 400."""
    if isinstance(error, UnknownProcessError):
        return _error(404, error.one_line())
    if isinstance(error, MembershipError):
        return _error(409, error.one_line())
    return _error(400, error.one_line())


def control_app(
    view: LiveView,
    membership: Membership,
    token: str,
    *,
    hosts: Callable[[], Sequence[Mapping[str, object]]] = tuple,
) -> Starlette:
    """The endpoint's ASGI app over ``view`` and ``membership``, guarded by ``token``;
    ``hosts`` gives the hosts' last published figures, for ``/metrics``."""

    async def snapshot(request: Request) -> Response:
        try:
            after, wait = parse_wait(
                request.query_params.get("after"), request.query_params.get("wait")
            )
        except ValueError as error:
            return _error(400, str(error))
        current = view.snapshot() if after is None else await view.wait(after, wait)
        return JSONResponse(
            current.to_json(), headers={"X-Discovery-Version": str(current.version)}
        )

    async def claim(request: Request) -> Response:
        role = f"{request.path_params['group']}/{request.path_params['role']}"
        for part in role.split("/"):
            if not re.fullmatch(ROLE_NAME, part):
                return _error(400, f"{part!r} is not a role name (lower case, digits, '-')")
        body: ClaimRequest = await _body(request, ClaimRequest)
        try:
            claim = view.claim(role, body.holder, body.epoch)
        except StaleEpochError as error:
            return _error(409, error.one_line(), holder=error.holder, epoch=error.epoch)
        return JSONResponse({"role": role, **asdict(claim)})

    async def add(request: Request) -> Response:
        body: AddRequest = await _body(request, AddRequest)
        return await _carry_out(lambda: membership.add(body.name, body.like), 201)

    async def remove(request: Request) -> Response:
        name = request.path_params["name"]
        drain = request.query_params.get("drain")
        drain_s = None
        if drain is not None:
            try:
                drain_s = float(drain.removesuffix("s"))
            except ValueError:
                drain_s = math.nan
            if not 0 <= drain_s <= MAX_DRAIN_S:
                return _error(400, f"drain={drain!r} is not seconds from 0 to {MAX_DRAIN_S:g}")
        return await _carry_out(lambda: membership.remove(name, drain_s), 202)

    async def scale(request: Request) -> Response:
        body: ScaleRequest = await _body(request, ScaleRequest)
        try:
            scaled = await asyncio.wrap_future(membership.scale(body.name, body.replicas))
        except MillionscaleError as error:
            return _membership_error(error)
        return JSONResponse(scaled.to_json())

    async def _carry_out(order: Callable[[], Future[Member]], status: int) -> Response:
        try:
            member = await asyncio.wrap_future(order())
        except MillionscaleError as error:
            return _membership_error(error)
        return JSONResponse(asdict(member), status_code=status)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(_request: Request) -> Response:
        return Response(host_metrics(hosts()), media_type=CONTENT_TYPE_LATEST)

    async def openapi(_request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _error(error.status_code, str(error.detail))

    async def bad_request(_request: Request, error: Exception) -> Response:
        return _error(400, str(error))

    return Starlette(
        routes=[
            Route("/v1/snapshot", snapshot, methods=["GET"]),
            Route("/v1/roles/{group}/{role}", claim, methods=["POST"]),
            Route("/v1/processes", add, methods=["POST"]),
            Route("/v1/processes/{name}", remove, methods=["DELETE"]),
            Route("/v1/scale", scale, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/v1/openapi.json", openapi, methods=["GET"]),
        ],
        # The admin APIs' one guard; here /healthz wants the token too (open_paths=()).
        middleware=[Middleware(BearerGuard, token=token, open_paths=())],
        exception_handlers={HTTPException: http_error, _BadRequest: bad_request},
    )


class ControlEndpoint:
    """The app served on a Unix socket from a thread of its own (the supervisor's loop
    is synchronous), by the admin APIs' one host, :func:`~millionscale.obs.admin.serve_app`:
    :meth:`start`, :meth:`stop`."""

    def __init__(self, app: Starlette, path: Path) -> None:
        self.path = path
        self._app = app
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> None:
        """Bind the socket (0600, in a 0700 directory) and serve; raises SupervisorError."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.path.unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(os.fspath(self.path))
            os.chmod(self.path, 0o600)
            sock.listen(128)  # from here a client waits in the backlog until it is served
            sock.setblocking(False)
        except OSError as error:
            raise SupervisorError(
                f"cannot listen on the control socket {self.path}: {error.strerror}",
                hint="check that its directory is writable",
            ) from None
        self._thread = threading.Thread(target=self._run, args=(sock,), name="control", daemon=True)
        self._thread.start()
        if not self._serving.wait(START_TIMEOUT_S):
            raise SupervisorError(f"the control endpoint did not start on {self.path}")

    def _run(self, sock: socket.socket) -> None:
        async def serve() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._serving.set()
            await serve_app(self._app, sock, stop=self._stop, grace_s=STOP_GRACE_S)

        asyncio.run(serve())

    def stop(self) -> None:
        """Stop serving and remove the socket."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.path.unlink(missing_ok=True)
        if self.path.parent.name.startswith("ms-"):  # a short place of its own
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()
