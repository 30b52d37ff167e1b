"""A tag purge made at the shield reaches every edge below it, within a bound.

Three real edge processes (``python -m millionscale.cdn``, started by
:func:`millionscale.cdn.peers.start_edge`): a shield in front of
a scripted origin, and two edges whose origin is the shield and which follow its
purge log (``--purge-feed``). Objects tagged ``photo-1`` are cached at every
tier; a hard purge of the tag at the shield, with ``wait``, answers once both
edges applied it, and then no edge serves a tagged object from its store.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from cdn_support import Origin, answer, get

from millionscale.cdn.peers import Peer, start_edge
from millionscale.servers.process import log_tail

pytestmark = pytest.mark.integration

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PURGE_BOUND_S = 1.0  # the bound this test holds a purge's propagation to (docs/cdn.md)


async def _edge(tmp_path: Path, name: str, origin_port: int, *extra: str) -> Peer:
    """An edge process (:func:`start_edge`), once it listens: an edge with a purge feed
    does only once it follows its upstream's purges."""
    edge = start_edge(
        "127.0.0.1",
        origin_port,
        tmp_path / name,
        memory="16MiB",
        token=TOKEN,
        extra=["--name", name, *extra],
    )
    for _ in range(400):
        try:
            with socket.create_connection(("127.0.0.1", edge.port), timeout=1.0):
                return edge
        except OSError:
            await asyncio.sleep(0.05)
    edge.stop()
    raise AssertionError(f"{name} did not listen: {log_tail(edge.log)}")


def _tagged(head) -> bytes:
    tags = b"photo-1 user-7" if head.target.startswith(b"/photo-1/") else b"photo-2 user-7"
    return answer(
        b"image bytes " + head.target,
        (b"cache-control", b"public, max-age=3600"),
        (b"surrogate-key", tags),
    )


def test_a_tag_purged_at_the_shield_is_gone_from_every_edge_within_the_bound(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(_tagged).start()
        peers: list[Peer] = []
        try:
            shield = await _edge(tmp_path, "shield", origin.port, "--keep-surrogate-keys")
            peers.append(shield)
            feed = shield.admin
            edges = []
            for name in ("edge-1", "edge-2"):
                edge = await _edge(tmp_path, name, shield.port, "--purge-feed", feed)
                peers.append(edge)
                edges.append(edge.port)
            targets = [b"/photo-1/a.jpg", b"/photo-1/b.jpg", b"/photo-2/c.jpg"]
            for port in edges:
                for target in targets:
                    await get(port, target)
            warm = [(await get(port, t)).headers[b"x-cache"] for port in edges for t in targets]
            fetched_before = origin.fetches()
            # Act
            async with httpx.AsyncClient(base_url=feed, headers=AUTH) as admin:
                started = time.monotonic()
                purged = (
                    await admin.post("/v1/purge", json={"tag": "photo-1", "wait": True})
                ).json()
                lag_s = time.monotonic() - started
            after = {
                (port, t): (await get(port, t)).headers[b"x-cache"]
                for port in edges
                for t in targets
            }
        finally:
            await asyncio.gather(*(asyncio.to_thread(peer.stop) for peer in peers))
            await origin.stop()
        # Assert
        assert set(warm) == {b"HIT"}
        assert purged["purged"] == 2  # the shield's two photo-1 objects
        assert sorted(purged["applied"]) == ["edge-1", "edge-2"]
        assert purged["pending"] == []
        assert lag_s < PURGE_BOUND_S
        for port in edges:
            assert after[(port, b"/photo-2/c.jpg")] == b"HIT"  # another tag: kept
            for target in targets[:2]:
                assert after[(port, target)] == b"MISS"
        # Each photo-1 object fetched once more from the origin, by the shield only.
        assert origin.fetches() - fetched_before == 2

    asyncio.run(scenario())
