"""Stage 5: the photo app reads through the cache tiers; the cache's Redis may die."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image

from conftest import Cli
from millionscale.testing import scrape, wait_ready

pytestmark = pytest.mark.system

TOPOLOGY = Path(__file__).parents[2] / "topologies" / "cached.toml"


def _l2_hits(base: str) -> float:
    labels = {"cache": "photos", "tier": "l2"}
    return scrape(f"{base}/metrics").sample("millionscale_cache_hits_total", labels, default=0.0)


def test_reads_survive_the_cache_dying_and_use_it_again_once_it_is_back(cli: Cli):
    started = cli.run("up", str(TOPOLOGY), "--detach")
    assert started.returncode == 0, started.stderr
    web = cli.process("web")
    base = f"http://{web['address']}"
    with httpx.Client(base_url=base, timeout=10) as ada:
        signup = ada.post("/api/signup", json={"username": "ada", "password": "correct horse 9"})
        assert signup.status_code == 201, signup.text
        image = _jpeg()
        posted = ada.post("/api/photos", files={"file": ("p.jpg", image, "image/jpeg")})
        assert posted.status_code == 201, posted.text
        url = f"/api/photos/{posted.json()['id']}"

        def read(_: int) -> int:
            return ada.get(url).status_code

        cache = cli.process("cache")["pid"]
        with ThreadPoolExecutor(max_workers=4) as pool:
            before = list(pool.map(read, range(100)))
            os.killpg(cache, signal.SIGKILL)  # in the middle of the reads
            after = list(pool.map(read, range(200)))
        assert before + after == [200] * 300  # the reads fell through to the database

        # The supervisor restarts Redis; the cache is used again by itself.
        wait_ready(lambda: cli.process("cache")["state"] == "ready", timeout=60)
        hits = _l2_hits(base)
        wait_ready(lambda: read(0) == 200 and _l2_hits(base) > hits, timeout=30)


def _jpeg() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()
