"""With a queue and the cache tiers, a photo cached before its thumbnail existed shows
the thumbnail once the worker has made it: the worker invalidates the photo's keys
after its commit, as the app's own writes do."""

import time

import pytest
from photos_queue_support import THUMBNAIL_MADE, job_settings, queued_app, rows_of, work_until

from conftest import PhotoApp
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

SEEN_WITHIN_S = 1.0  # the invalidation bound is milliseconds; slack for a busy machine


@pytest.fixture
def photos(database_url, tmp_path, nats: RunningServer, redis: RunningServer):
    with queued_app(database_url, tmp_path / "media", nats.url, cache_url=redis.url) as app:
        yield app


def test_the_cached_photo_profile_and_timeline_show_the_thumbnail_once_made(
    photos: PhotoApp, nats: RunningServer, redis: RunningServer
):
    # The client whose event loop runs the app's lifespan (and the cache's connections).
    alice = photos.anonymous
    assert (
        alice.post("/api/signup", json={"username": "alice", "password": "x" * 12}).status_code
        == 201
    )
    posted = photos.post_photo(alice)
    reads = {
        "photo": lambda: alice.get(f"/api/photos/{posted['id']}").json(),
        "profile": lambda: alice.get("/api/users/alice").json()["photos"][0],
        "timeline": lambda: alice.get("/api/timeline").json()["items"][0],
    }
    assert all(read()["thumbnail_ready"] is False for read in reads.values())  # now cached

    work_until(
        nats.url,
        job_settings(photos, cache_url=redis.url),
        rows_of(photos.database_url, THUMBNAIL_MADE),
        "thumbnail",
    )

    for what, read in reads.items():
        began = time.monotonic()
        while not read()["thumbnail_ready"]:
            assert time.monotonic() - began < SEEN_WITHIN_S, f"{what} still without a thumbnail"
            time.sleep(0.01)
