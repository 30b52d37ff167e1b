"""The photo app with CACHE_URL: reads through the cache tiers, writes invalidating them.

Two app processes share PostgreSQL, the sessions' Redis and the cache's Redis,
as the web servers of the cached stage do. A write on one is seen at once on
the other, although the other has the old value cached; repeated reads are
answered by the cache, not the database.
"""

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from photos_processes import AppProcess, web_servers

from conftest import jpeg
from millionscale.servers import RunningServer
from millionscale.testing import scrape

pytestmark = pytest.mark.integration

SEEN_WITHIN_S = 1.0  # the invalidation bound is milliseconds; this is slack for a busy machine


@pytest.fixture
def cached_web_servers(
    database_url: str, redis: RunningServer, tmp_path: Path
) -> Iterator[tuple[AppProcess, AppProcess]]:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "CACHE_URL": redis.url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DRAIN_SECONDS": "0",
    }
    with web_servers(env, tmp_path, "web1", "web2") as (web1, web2):
        yield web1, web2


def _signed_up(app: AppProcess, name: str) -> httpx.Client:
    client = app.client()
    response = client.post("/api/signup", json={"username": name, "password": "correct horse 9"})
    assert response.status_code == 201, response.text
    return client


def _until(read, wanted, what: str) -> float:
    """Seconds until ``read()`` returns ``wanted`` (bounded)."""
    began = time.monotonic()
    while (value := read()) != wanted:
        assert time.monotonic() - began < SEEN_WITHIN_S, f"{what}: still {value!r}"
        time.sleep(0.005)
    return time.monotonic() - began


def _metric(app: AppProcess, name: str, **labels: str) -> float:
    return scrape(f"{app.url}/metrics").total(name, **labels)


def test_a_write_on_one_server_is_seen_at_once_on_the_other(cached_web_servers):
    web1, web2 = cached_web_servers
    ada = _signed_up(web1, "ada")
    bob = _signed_up(web2, "bob")
    posted = ada.post("/api/photos", files={"file": ("p.jpg", jpeg(), "image/jpeg")})
    assert posted.status_code == 201, posted.text
    photo = posted.json()["id"]
    url = f"/api/photos/{photo}"
    assert bob.post("/api/users/ada/follow").status_code == 204

    # web2 caches the photo, ada's profile and bob's timeline.
    assert bob.get(url).json()["like_count"] == 0
    assert bob.get("/api/users/ada").json()["followers"] == 1
    assert [p["id"] for p in bob.get("/api/timeline").json()["items"]] == [photo]

    # Writes on web1: each is visible on web2 at once, the cached copies invalidated.
    assert ada.post(f"{url}/like").status_code == 200
    _until(lambda: bob.get(url).json()["like_count"], 1, "the like")
    _until(lambda: bob.get("/api/users/ada").json()["photos"][0]["like_count"], 1, "profile")
    assert ada.patch(url, json={"caption": "at the sea"}).status_code == 200
    _until(lambda: bob.get(url).json()["caption"], "at the sea", "the caption")
    # bob's own write, on web1 this time, shows in his own views on web2.
    with web1.client() as bob_on_web1:
        bob_on_web1.cookies = bob.cookies
        assert bob_on_web1.post(f"{url}/like").status_code == 200
    assert bob.get(url).json()["liked_by_me"] is True
    assert bob.get("/api/timeline").json()["items"][0]["liked_by_me"] is True
    assert bob.delete("/api/users/ada/follow").status_code == 204
    assert bob.get("/api/timeline").json()["items"] == []
    assert bob.get("/api/users/ada").json()["followers"] == 0
    ada.close()
    bob.close()


def test_repeated_reads_are_answered_by_the_cache(cached_web_servers):
    web1, web2 = cached_web_servers
    ada = _signed_up(web1, "ada")
    photo = ada.post("/api/photos", files={"file": ("p.jpg", jpeg(), "image/jpeg")}).json()["id"]
    loads_before = _metric(web2, "millionscale_cache_loads_total", outcome="ok")
    with web2.client() as anyone:
        for _ in range(30):
            assert anyone.get(f"/api/photos/{photo}").status_code == 200
            assert anyone.get("/api/users/ada").status_code == 200
    loads = _metric(web2, "millionscale_cache_loads_total", outcome="ok") - loads_before
    assert loads <= 2  # one load per key; the 58 other reads were hits
    assert _metric(web2, "millionscale_cache_hits_total") >= 58
    ada.close()
