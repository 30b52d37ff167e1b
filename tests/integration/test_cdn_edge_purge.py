"""Purges through the admin API (with its token): by URL, prefix and surrogate key,
soft (kept for stale-if-error) or hard (removed); 401 without the token, 400 for a
body that is not a purge."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from cdn_support import Clock, Origin, answer, get, running_edge, until

from millionscale.cdn.admin import create_app
from millionscale.cdn.edge import Edge

pytestmark = pytest.mark.integration

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def tagged(head: object) -> bytes:
    target: bytes = head.target  # type: ignore[attr-defined]
    tags = b"photos photo-" + target.rsplit(b"/", 1)[-1]
    return answer(
        target,
        (b"cache-control", b"max-age=60, stale-if-error=600"),
        (b"surrogate-key", tags),
    )


Scenario = Callable[[Edge, int, httpx.AsyncClient, Origin], Awaitable[None]]


def run(scenario: Scenario, clock: Clock | None = None) -> None:
    async def main() -> None:
        origin = await Origin(tagged).start()
        async with running_edge(origin.url, clock) as (edge, port):
            transport = httpx.ASGITransport(app=create_app(edge, TOKEN))
            async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
                await scenario(edge, port, admin, origin)
        await origin.stop()

    asyncio.run(main())


async def states(port: int, *targets: bytes) -> list[bytes]:
    return [(await get(port, t)).headers[b"x-cache"] for t in targets]


def test_a_hard_purge_by_url_removes_one_object() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        await states(port, b"/p/1", b"/p/2")
        # Act
        purged = await admin.post("/v1/purge", json={"url": "http://example.com/p/1"}, headers=AUTH)
        # Assert
        assert (purged.status_code, purged.json()) == (200, {"purged": 1})
        assert await states(port, b"/p/1", b"/p/2") == [b"MISS", b"HIT"]

    run(scenario)


def test_a_path_purge_covers_every_host() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        for host in (b"a.example", b"b.example"):
            await get(port, b"/p/1", host=host)
        # Act
        purged = await admin.post("/v1/purge", json={"url": "/p/1"}, headers=AUTH)
        # Assert
        assert purged.json() == {"purged": 2}
        assert edge.statistics().store.objects == 0

    run(scenario)


def test_a_prefix_purge_removes_what_starts_with_it() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        await states(port, b"/static/a.css", b"/static/b.js", b"/p/1")
        # Act
        purged = await admin.post("/v1/purge", json={"prefix": "/static/"}, headers=AUTH)
        # Assert
        assert purged.json() == {"purged": 2}
        assert await states(port, b"/static/a.css", b"/p/1") == [b"MISS", b"HIT"]

    run(scenario)


def test_a_tag_purge_removes_every_object_with_the_surrogate_key() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        first = await get(port, b"/p/1")
        await states(port, b"/p/2")
        # Act
        one = await admin.post("/v1/purge", json={"tag": "photo-1"}, headers=AUTH)
        every = await admin.post("/v1/purge", json={"tag": "photos"}, headers=AUTH)
        # Assert
        assert b"surrogate-key" not in first.headers  # never leaks to clients
        assert (one.json(), every.json()) == ({"purged": 1}, {"purged": 1})
        assert await states(port, b"/p/1", b"/p/2") == [b"MISS", b"MISS"]

    run(scenario)


def test_a_soft_purge_revalidates_but_still_stands_in_for_errors() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        await get(port, b"/p/1")
        # Act
        purged = await admin.post(
            "/v1/purge", json={"url": "/p/1", "soft": True, "issued_at": 1.0}, headers=AUTH
        )
        await origin.stop()
        served = await get(port, b"/p/1")
        # Assert
        assert purged.json() == {"purged": 1}
        assert (served.status, served.headers[b"x-cache"]) == (200, b"STALE")
        assert edge.counts.stale["soft-purge"] == 1

    run(scenario)


def test_a_soft_purged_object_is_fetched_again_while_the_origin_is_up() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        await get(port, b"/p/1")
        # Act
        await admin.post("/v1/purge", json={"tag": "photo-1", "soft": True}, headers=AUTH)
        again = await get(port, b"/p/1")
        # Assert
        assert again.headers[b"x-cache"] in (b"MISS", b"REVALIDATED")
        assert origin.fetches(b"/p/1") == 2

    run(scenario)


def test_without_the_token_a_purge_is_401() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        await get(port, b"/p/1")
        # Act
        none = await admin.post("/v1/purge", json={"url": "/p/1"})
        wrong = await admin.post(
            "/v1/purge", json={"url": "/p/1"}, headers={"Authorization": "Bearer nope"}
        )
        health = await admin.get("/healthz")
        # Assert
        assert (none.status_code, wrong.status_code, health.status_code) == (401, 401, 200)
        assert edge.statistics().store.objects == 1

    run(scenario)


BAD: list[Any] = [
    b"not json",
    [],
    {},
    {"url": "/a", "tag": "b"},
    {"url": 5},
    {"url": ""},
    {"url": "ftp://x/a"},
    {"tag": "a", "soft": "yes"},
    {"tag": "a", "issued_at": "yesterday"},
    {"tag": "a", "extra": 1},
]


@pytest.mark.parametrize("body", BAD)
def test_a_body_that_is_not_a_purge_is_400(body: Any) -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Act
        if isinstance(body, bytes):
            refused = await admin.post("/v1/purge", content=body, headers=AUTH)
        else:
            refused = await admin.post("/v1/purge", json=body, headers=AUTH)
        # Assert
        assert refused.status_code == 400
        assert "detail" in refused.json()

    run(scenario)


def test_statistics_and_metrics_report_the_edge() -> None:
    async def scenario(edge: Edge, port: int, admin: httpx.AsyncClient, origin: Origin) -> None:
        # Arrange
        await states(port, b"/p/1", b"/p/1")
        await admin.post("/v1/purge", json={"tag": "photos", "issued_at": 0.0}, headers=AUTH)
        # Act
        stats = await admin.get("/v1/statistics", headers=AUTH)
        scraped = await admin.get("/metrics")
        # Assert
        assert stats.json()["edge"]["hits"] == 1
        assert stats.json()["store"]["objects"] == 0
        text = scraped.text
        assert 'millionscale_cdn_requests_total{edge="edge",outcome="hit"} 1.0' in text
        assert 'millionscale_cdn_purges_total{edge="edge",kind="tag"} 1.0' in text
        assert "millionscale_cdn_purge_lag_seconds_count" in text

    run(scenario)


def test_a_fetch_in_flight_during_a_purge_stores_nothing() -> None:
    async def scenario() -> None:
        # Arrange
        origin = Origin(tagged, gate=asyncio.Event())
        await origin.start()
        async with running_edge(origin.url) as (edge, port):
            pending = asyncio.create_task(get(port, b"/p/1"))
            await until(lambda: origin.fetches() == 1)
            # Act
            purged = edge.purge(url="/p/1")
            assert origin.gate is not None
            origin.gate.set()
            answered = await pending
            after = await get(port, b"/p/1")
            # Assert
            assert purged == 0
            assert (answered.status, answered.headers[b"x-cache"]) == (200, b"MISS")
            assert after.headers[b"x-cache"] == b"MISS"
            assert origin.fetches() == 2
        await origin.stop()

    asyncio.run(scenario())
