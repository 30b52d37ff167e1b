"""A tag purge made at the shield reaches every edge below it, within a bound.

Three real edge processes (``python -m millionscale.cdn``): a shield in front of
a scripted origin, and two edges whose origin is the shield and which follow its
purge log (``--purge-feed``). Objects tagged ``photo-1`` are cached at every
tier; a hard purge of the tag at the shield, with ``wait``, answers once both
edges applied it, and then no edge serves a tagged object from its store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

import httpx
import pytest
from cdn_support import Origin, answer, get

pytestmark = pytest.mark.integration

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PURGE_BOUND_S = 1.0  # the bound this test holds a purge's propagation to (docs/cdn.md)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _edge(name: str, origin: str, *extra: str) -> tuple[asyncio.subprocess.Process, int, int]:
    port, admin_port = _free_port(), _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "millionscale.cdn",
        "--origin",
        origin,
        "--port",
        str(port),
        "--admin-port",
        str(admin_port),
        "--name",
        name,
        "--memory",
        "16MiB",
        *extra,
        env={**os.environ, "CDN_ADMIN_TOKEN": TOKEN},
        stderr=asyncio.subprocess.DEVNULL,
    )
    for _ in range(400):  # an edge listens once it follows its upstream's purges
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                break
        except OSError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"{name} did not listen")
    return process, port, admin_port


def _tagged(head) -> bytes:
    tags = b"photo-1 user-7" if head.target.startswith(b"/photo-1/") else b"photo-2 user-7"
    return answer(
        b"image bytes " + head.target,
        (b"cache-control", b"public, max-age=3600"),
        (b"surrogate-key", tags),
    )


def test_a_tag_purged_at_the_shield_is_gone_from_every_edge_within_the_bound() -> None:
    async def scenario() -> None:
        # Arrange
        origin = await Origin(_tagged).start()
        processes = []
        try:
            shield, shield_port, shield_admin = await _edge(
                "shield", origin.url, "--keep-surrogate-keys"
            )
            processes.append(shield)
            feed = f"http://127.0.0.1:{shield_admin}"
            edges = []
            for name in ("edge-1", "edge-2"):
                process, port, _ = await _edge(
                    name, f"http://127.0.0.1:{shield_port}", "--purge-feed", feed
                )
                processes.append(process)
                edges.append(port)
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
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    async with asyncio.timeout(20):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()
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
