"""The image action: a timeline's file URLs are fetched as a browser would, without the cookie."""

import asyncio
import json

import pytest

from millionscale.bench.api import Identity, Media, PhotoApi
from millionscale.bench.http import Response
from millionscale.bench.scenario import (
    BROWSER_MIX,
    DEFAULT_MIX,
    RECENT_MEDIA_LIMIT,
    Mix,
    Scenario,
    Workload,
    parse_mix,
)

BASE = "http://edge.test:8080"
IMAGE = b"\xff\xd8" + b"x" * 998  # 1,000 bytes of "JPEG"


class FakeTransport:
    """Answers the API's calls from a fixed timeline and records every request."""

    def __init__(self, items: list[dict], image_status: int = 200, x_cache: str | None = None):
        self.base_url = BASE
        self.items = items
        self.image_status = image_status
        self.x_cache = x_cache
        self.requests: list[tuple[str, str, str | None]] = []
        self.fetched: list[str] = []

    async def request(self, method, path, *, params=None, json_body=None, data=None, cookie=None):
        self.requests.append((method, path, cookie))
        if path == "/api/login":
            return Response(200, b"{}", set_cookies=(("session", "s1"),))
        if path == "/api/timeline":
            return Response(200, json.dumps({"items": self.items, "next_cursor": None}).encode())
        return Response(200, b"{}")

    async def fetch(self, url):
        self.fetched.append(url)
        body = IMAGE if self.image_status == 200 else b""
        return Response(self.image_status, body, x_cache=self.x_cache)


def photo(photo_id: int, url: str | None = None) -> dict:
    return {
        "id": photo_id,
        "url": url if url is not None else f"/media/{photo_id}/ab/cd.jpg",
        "thumbnail_url": f"/media/{photo_id}/ab/cd-t.jpg",
    }


def logged_in(transport: FakeTransport, mix: Mix) -> Scenario:
    workload = Workload(base_url=BASE, usernames=("user00000",), password="x", mix=mix)
    scenario = Scenario(workload, PhotoApi(transport))  # type: ignore[arg-type]
    asyncio.run(scenario.log_in())
    return scenario


def test_a_timeline_page_keeps_each_photos_file_urls():
    transport = FakeTransport([photo(1), photo(2, "http://cdn.test/media/2/ef.jpg"), {"id": 3}])

    reply = asyncio.run(PhotoApi(transport).timeline(_who()))  # type: ignore[arg-type]

    assert reply.value is not None
    assert reply.value.photo_ids == ("1", "2", "3")
    assert reply.value.media == (
        Media("1", "/media/1/ab/cd.jpg", "/media/1/ab/cd-t.jpg"),
        Media("2", "http://cdn.test/media/2/ef.jpg", "/media/2/ab/cd-t.jpg"),
    )


def test_image_fetches_a_known_url_without_the_cookie_and_counts_its_bytes():
    transport = FakeTransport([photo(7)])
    scenario = logged_in(transport, Mix((("image", 1),)))

    outcomes = [asyncio.run(scenario.send()) for _ in range(3)]

    assert all(outcome.ok for outcome in outcomes)
    assert transport.fetched == ["/media/7/ab/cd.jpg"] * 3
    assert (scenario.images, scenario.image_bytes) == (3, 3 * len(IMAGE))
    assert all(path != "/media/7/ab/cd.jpg" for _, path, _ in transport.requests)


def test_image_reads_the_timeline_while_no_file_url_is_known():
    transport = FakeTransport([])
    scenario = logged_in(transport, Mix((("image", 1),)))
    before = len(transport.requests)

    outcome = asyncio.run(scenario.send())

    assert outcome.ok
    assert transport.fetched == []
    assert transport.requests[before:] == [("GET", "/api/timeline", "session=s1")]


def test_a_failed_image_is_an_error_and_counts_no_bytes():
    transport = FakeTransport([photo(7)], image_status=404)
    scenario = logged_in(transport, Mix((("image", 1),)))

    outcome = asyncio.run(scenario.send())

    assert outcome.error == "status_4xx"
    assert (scenario.images, scenario.image_bytes) == (0, 0)


def test_the_browser_mix_follows_timelines_with_images_and_the_default_has_none():
    assert str(BROWSER_MIX) == "timeline=45,image=40,photo=7,like=4,post=3,signup=1"
    assert BROWSER_MIX.share("image") == pytest.approx(0.40)
    assert DEFAULT_MIX.share("image") == 0.0
    assert parse_mix("browser") == BROWSER_MIX
    assert parse_mix("timeline=1,image=2").share("image") == pytest.approx(2 / 3)


def _who():
    return Identity("user00000", "session=s1")


def test_images_come_from_the_last_pages_read_repeats_kept():
    transport = FakeTransport([photo(i) for i in range(20)])
    scenario = logged_in(transport, Mix((("timeline", 1),)))

    for _ in range(15):
        asyncio.run(scenario.send())

    assert len(scenario.media) == RECENT_MEDIA_LIMIT
    assert sum(m.photo_id == "3" for m in scenario.media) == RECENT_MEDIA_LIMIT // 20


@pytest.mark.parametrize(
    ("x_cache", "from_edge"),
    [
        ("HIT", True),
        ("STALE", True),
        ("MISS", False),
        ("REVALIDATED", False),
        (None, False),
        ("MISS, HIT", True),  # the shield's label, then the edge's: the edge held it
        ("HIT, MISS", False),
    ],
)
def test_an_image_the_edge_answered_from_its_store_counts_as_a_hit(x_cache, from_edge):
    transport = FakeTransport([photo(7)], x_cache=x_cache)
    scenario = logged_in(transport, Mix((("image", 1),)))

    asyncio.run(scenario.send())

    assert scenario.images_json() == {
        "images": 1,
        "image_bytes": len(IMAGE),
        "image_hits": int(from_edge),
        "image_hit_bytes": len(IMAGE) * from_edge,
    }
