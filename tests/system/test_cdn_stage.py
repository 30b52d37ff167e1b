"""Stage 6: users reach the site only through two CDN edges in front of a shield.

Photo files and static assets come from the edges' stores (the shield's, for an
edge that has not got them yet); a deleted photo is gone from both edges; with
the app killed, what the edges hold is still served and the rest fails fast.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image

from conftest import Cli
from millionscale.testing import wait_ready

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "cdn.toml"
FAIL_FAST_S = 5.0  # an edge's answer when the app is gone: 502/504, never a hang


def _jpeg() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (30, 200, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def _reachable(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def test_the_site_is_served_through_the_edges_which_keep_serving_without_the_app(cli: Cli):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stderr
    edges = [f"http://{cli.process(name)['address']}" for name in ("edge-1", "edge-2")]
    assert not _reachable(cli.process("web")["address"])  # only the edges face users
    assert not _reachable(cli.process("shield")["address"])

    with httpx.Client(base_url=edges[0], timeout=10) as ada:
        signup = ada.post("/api/signup", json={"username": "ada", "password": "correct horse 9"})
        assert signup.status_code == 201, signup.text
        posted = ada.post("/api/photos", files={"file": ("p.jpg", _jpeg(), "image/jpeg")})
        assert posted.status_code == 201, posted.text
        photo = posted.json()
        page = ada.get("/")
        assert page.status_code == 200
        assert "private" in page.headers["cache-control"]  # never stored by an edge

        # A photo file: fetched once through the tiers, then from each edge's store.
        first = httpx.get(edges[0] + photo["url"])
        other = httpx.get(edges[1] + photo["url"])
        again = httpx.get(edges[0] + photo["url"])
        assert [r.status_code for r in (first, other, again)] == [200] * 3
        assert first.headers.get_list("x-cache") == ["MISS", "MISS"]  # shield, then edge
        assert other.headers.get_list("x-cache") == ["HIT", "MISS"]  # the shield had it
        assert again.headers.get_list("x-cache")[-1] == "HIT"
        assert "surrogate-key" not in again.headers  # tags never reach users
        assert again.content == first.content

        # The app dies: what the edges hold is served, anything else fails fast.
        os.killpg(cli.process("web")["pid"], signal.SIGKILL)
        held = httpx.get(edges[1] + photo["url"])
        began = time.monotonic()
        missing = httpx.get(edges[1] + "/api/me", timeout=30)
        waited = time.monotonic() - began
        assert held.status_code == 200
        assert held.headers.get_list("x-cache")[-1] == "HIT"
        assert missing.status_code in (502, 503, 504)
        assert waited < FAIL_FAST_S

        # Back again: a delete purges the photo's tag at the shield and both edges.
        wait_ready(lambda: cli.process("web")["state"] == "ready", timeout=90)
        wait_ready(lambda: ada.get("/api/me").status_code == 200, timeout=30)
        deleted = ada.delete(f"/api/photos/{photo['id']}")
        assert deleted.status_code == 204, deleted.text

        def gone_everywhere() -> bool:
            return all(httpx.get(edge + photo["url"]).status_code == 404 for edge in edges)

        wait_ready(gone_everywhere, timeout=5)
