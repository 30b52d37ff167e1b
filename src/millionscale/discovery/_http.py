"""Discovery from the supervisor's control endpoint, over its Unix socket.

:class:`HttpDiscovery` is a :class:`~millionscale.discovery.Discovery` and a
:class:`~millionscale.discovery.RoleRegistry`. ``watch()`` is a long-poll loop
of blocking queries (``GET /v1/snapshot?after=N&wait=S``): each answers as soon
as a version newer than ``N`` exists, so a change reaches a watcher within one
round trip of the supervisor publishing it. When the endpoint does not answer
(the supervisor restarts, say), ``watch()`` keeps retrying every
:data:`RETRY_S` and the reader keeps its last view; ``snapshot()`` and
``claim()`` raise :class:`~millionscale.errors.DiscoveryError` instead.

The client also carries the membership calls of the endpoint
(:meth:`HttpDiscovery.add_process`, :meth:`HttpDiscovery.remove_process`,
:meth:`HttpDiscovery.scale`),
for the command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from millionscale.discovery._snapshot import Member, RoleClaim, Scaled, Snapshot
from millionscale.errors import DiscoveryError, StaleEpochError

__all__ = ["HttpDiscovery"]

WATCH_WAIT_S = 30.0  # how long one blocking query is held (the endpoint caps it at 60)
RETRY_S = 0.5  # between two attempts when the endpoint does not answer
CALL_TIMEOUT_S = 10.0  # for everything but a blocking query's wait


class HttpDiscovery:
    """The control endpoint at the Unix socket ``path``, with the admin ``token``."""

    def __init__(
        self,
        path: Path,
        token: str,
        *,
        wait_s: float = WATCH_WAIT_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self.path = path
        self._wait_s = wait_s
        self._retry_s = retry_s
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(path)),
            base_url="http://control",
            headers={"Authorization": f"Bearer {token}"},
            timeout=CALL_TIMEOUT_S,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpDiscovery:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- the read side -------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        return _snapshot(await self._call("GET", "/v1/snapshot"), self.path)

    async def watch(self, after: int | None = None) -> AsyncIterator[Snapshot]:
        seen = after
        while True:
            params: dict[str, str] = {}
            if seen is not None:
                params = {"after": str(seen), "wait": f"{self._wait_s:g}"}
            try:
                data = await self._call(
                    "GET", "/v1/snapshot", params=params, limit_s=self._wait_s + CALL_TIMEOUT_S
                )
                current = _snapshot(data, self.path)
            except DiscoveryError:
                await asyncio.sleep(self._retry_s)
                continue
            if seen is None or current.version > seen:
                seen = current.version
                yield current

    # -- the write side ------------------------------------------------------

    async def claim(self, role: str, holder: str, epoch: int) -> RoleClaim:
        data = await self._call(
            "POST", f"/v1/roles/{role}", json={"holder": holder, "epoch": epoch}
        )
        return RoleClaim(str(data["holder"]), int(data["epoch"]))

    async def add_process(self, name: str, like: str) -> Member:
        """Ask the supervisor for a process ``name`` made like ``like``; its member."""
        data = await self._call("POST", "/v1/processes", json={"name": name, "like": like})
        return _member(data, self.path)

    async def remove_process(self, name: str, drain_s: float | None = None) -> Member:
        """Ask the supervisor to drain then remove ``name``; its member, now stopping."""
        params = {} if drain_s is None else {"drain": f"{drain_s:g}"}
        return _member(
            await self._call("DELETE", f"/v1/processes/{name}", params=params), self.path
        )

    async def scale(self, name: str, replicas: int) -> Scaled:
        """Ask the supervisor to run ``replicas`` of the replicated process (or tier)
        ``name``: what it started and what it drains."""
        data = await self._call("POST", "/v1/scale", json={"name": name, "replicas": replicas})
        return Scaled.from_json(data, source=f"the control endpoint at {self.path}")

    # -- inside --------------------------------------------------------------

    async def _call(
        self, method: str, url: str, *, limit_s: float = CALL_TIMEOUT_S, **kwargs: Any
    ) -> Any:
        try:
            response = await self._client.request(method, url, timeout=limit_s, **kwargs)
        except httpx.HTTPError as error:
            raise DiscoveryError(
                f"the control endpoint at {self.path} does not answer "
                f"({type(error).__name__}: {error or 'no detail'})",
                hint="is the topology running? start it with 'millionscale up'",
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        detail = data.get("detail") if isinstance(data, dict) else None
        if response.status_code == 409 and "epoch" in data:
            raise StaleEpochError(
                str(detail),
                hint="the claimant was superseded: read the current holder and follow it",
                holder=str(data.get("holder", "")),
                epoch=int(data["epoch"]),
            )
        if response.status_code == 401:
            raise DiscoveryError(
                f"the control endpoint at {self.path} refused the token",
                hint="use the admin token of the state directory the topology runs from",
            )
        if response.is_error:
            raise DiscoveryError(
                f"the control endpoint answered {response.status_code}: "
                f"{detail or response.reason_phrase}",
            )
        return data


def _snapshot(data: object, path: Path) -> Snapshot:
    return Snapshot.from_json(data, source=f"the control endpoint at {path}")


def _member(data: object, path: Path) -> Member:
    snapshot = _snapshot({"version": 0, "members": [data]}, path)
    return snapshot.members[0]
