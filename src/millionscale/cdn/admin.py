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
  With ``"wait": true`` the answer waits (at most ``"wait_s"``, default
  :data:`WAIT_S`) until every edge following this one's purge log has applied
  the purge, and says which did: ``{"purged": n, "seq": N, "applied": [...],
  "pending": [...]}`` (:mod:`millionscale.cdn.feed`).
- ``GET /v1/purges?after=N&epoch=E&follower=NAME&wait_s=S``: the purges
  logged after number ``N`` (a long poll of up to ``S`` seconds), for the
  edges below this one (:func:`millionscale.cdn.feed.follow`).
- ``GET /v1/statistics``: the edge's and its store's counters (JSON).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from millionscale.cdn.edge import Edge
from millionscale.cdn.feed import FOLLOW_WAIT_S, Entry, PurgeFeed
from millionscale.cdn.purge import Purge, PurgeKind
from millionscale.errors import AdminRequestError, ConfigError
from millionscale.obs.admin import admin_app

__all__ = ["MAX_PURGE_BODY", "WAIT_S", "PurgeRequest", "create_app", "purge_request"]

WAIT_S = 5.0  # ours: a purge's wait for the edges below; they apply it within milliseconds
MAX_WAIT_S = 60.0
# A follower heard from within this long counts as one that must apply a purge: its
# long poll comes back at least every FOLLOW_WAIT_S, so a silent one has gone.
ACTIVE_S = FOLLOW_WAIT_S + 5.0
_FOLLOWER = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

MAX_PURGE_BODY = 64 * 1024  # ours: a purge names one URL, prefix or tag
_NAMED: tuple[PurgeKind, ...] = ("url", "prefix", "tag")  # the kinds a body may name
_BODY = 'the body must be {"url" | "prefix" | "tag": "...", "soft": bool, "issued_at": float}'


@dataclass(frozen=True, slots=True)
class PurgeRequest:
    """A ``POST /v1/purge`` body: the purge, its ``issued_at`` (None: not given),
    and whether (and up to how long) to wait for the edges below."""

    purge: Purge
    issued_at: float | None = None
    wait: bool = False
    wait_s: float = WAIT_S


def purge_request(body: bytes) -> PurgeRequest:
    """The purge a ``POST /v1/purge`` body asks for; :class:`AdminRequestError`
    (400) if it is not one."""
    if len(body) > MAX_PURGE_BODY:
        raise AdminRequestError(f"a purge body over {MAX_PURGE_BODY} bytes")
    try:
        data = json.loads(body or b"null")
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise AdminRequestError(f"not JSON; {_BODY}") from None
    if not isinstance(data, dict):
        raise AdminRequestError(_BODY)
    unknown = set(data) - {*_NAMED, "soft", "issued_at", "wait", "wait_s"}
    if unknown:
        raise AdminRequestError(f"unknown field {sorted(unknown)[0]!r}; {_BODY}")
    named = [name for name in _NAMED if name in data]
    if len(named) != 1:
        raise AdminRequestError(f"give exactly one of url, prefix, tag; {_BODY}")
    what = named[0]
    value = data[what]
    if not isinstance(value, str) or not value:
        raise AdminRequestError(f"{what} must be a non-empty string")
    soft = data.get("soft", False)
    if not isinstance(soft, bool):
        raise AdminRequestError("soft must be true or false")
    try:
        purge = Purge(what, value, soft)
    except ConfigError as error:
        raise AdminRequestError(error.one_line()) from None
    issued_at = data.get("issued_at")
    if issued_at is not None and (
        isinstance(issued_at, bool)
        or not isinstance(issued_at, int | float)
        or not math.isfinite(issued_at)
    ):
        raise AdminRequestError("issued_at must be a number (seconds since the epoch)")
    wait = data.get("wait", False)
    if not isinstance(wait, bool):
        raise AdminRequestError("wait must be true or false")
    wait_s = data.get("wait_s", WAIT_S)
    if (
        isinstance(wait_s, bool)
        or not isinstance(wait_s, int | float)
        or not 0 <= wait_s <= MAX_WAIT_S
    ):
        raise AdminRequestError(f"wait_s must be a number of seconds from 0 to {MAX_WAIT_S:g}")
    return PurgeRequest(purge, None if issued_at is None else float(issued_at), wait, float(wait_s))


def _number(request: Request, name: str, default: float, top: float) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise AdminRequestError(f"{name} must be a number") from None
    if not 0 <= value <= top:
        raise AdminRequestError(f"{name} must be from 0 to {top:g}")
    return value


def create_app(edge: Edge, token: str, feed: PurgeFeed | None = None) -> Starlette:
    """The admin API over ``edge`` (which the caller starts and stops); its purges
    are logged in ``feed`` for the edges below (None: nobody follows this edge)."""

    async def purge(request: Request) -> Response:
        asked = purge_request(await request.body())
        try:
            purged = edge.apply(asked.purge, issued_at=asked.issued_at)
        except ValueError as error:
            raise AdminRequestError(str(error)) from None
        answer: dict[str, Any] = {"purged": purged}
        if feed is not None:
            issued_at = edge.clock() if asked.issued_at is None else asked.issued_at
            seq = answer["seq"] = await feed.publish(Entry(asked.purge, issued_at))
            if asked.wait:
                since = edge.clock() - ACTIVE_S
                applied, pending = await feed.wait_applied(seq, asked.wait_s, active_since=since)
                answer |= {"applied": applied, "pending": pending}
        return JSONResponse(answer)

    async def purges(request: Request) -> Response:
        if feed is None:
            raise AdminRequestError("this edge keeps no purge log: nobody follows it")
        after = int(_number(request, "after", 0, 2**63))
        wait_s = _number(request, "wait_s", 0, MAX_WAIT_S)
        epoch = request.query_params.get("epoch") or None
        follower = request.query_params.get("follower", "")
        if not _FOLLOWER.match(follower):
            raise AdminRequestError("follower must name the edge asking (letters, digits, -_.:)")
        batch = await feed.poll(follower, after, epoch, wait_s)
        return JSONResponse(batch.to_json())

    async def statistics(_request: Request) -> Response:
        return JSONResponse(edge.statistics().to_json())

    return admin_app(
        [
            Route("/v1/purge", purge, methods=["POST"]),
            Route("/v1/purges", purges, methods=["GET"]),
            Route("/v1/statistics", statistics, methods=["GET"]),
        ],
        token=token,
    )
