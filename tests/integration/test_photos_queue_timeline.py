"""With a queue, a post reaches its author's followers through a worker's fan-out into
their precomputed timelines; a celebrity's post is not fanned out but merged at read;
a follow backfills, an unfollow takes back; pages are those of fan-out on read."""

import pytest
from photos_queue_support import job_settings, query, queued_app, rows_of, settled, work_until

from conftest import PhotoApp, jpeg
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture
def photos(database_url, tmp_path, nats: RunningServer):
    with queued_app(database_url, tmp_path / "media", nats.url) as app:
        yield app


def _ids(client, **params) -> list[int]:
    response = client.get("/api/timeline", params=params)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


def test_a_post_reaches_a_follower_through_the_fan_out(photos: PhotoApp, nats: RunningServer):
    alice, bob = photos.user("alice"), photos.user("bob")
    assert alice.post("/api/users/bob/follow").status_code == 204

    posted = photos.post_photo(bob, caption="hello")

    assert _ids(bob) == [posted["id"]]  # the author sees it at once
    assert _ids(alice) == []  # the follower once the fan-out ran
    stats, _ = work_until(
        nats.url,
        job_settings(photos),
        rows_of(photos.database_url, "SELECT 1 FROM timeline_entries"),
        "the fan-out",
    )
    assert query(photos.database_url, "SELECT user_id, photo_id FROM timeline_entries") == [
        (alice_id(photos), posted["id"])
    ]
    assert _ids(alice) == [posted["id"]]
    assert stats.dead_lettered == 0


def alice_id(photos: PhotoApp) -> int:
    ((user_id,),) = query(photos.database_url, "SELECT id FROM users WHERE username = 'alice'")
    return user_id


def test_a_celebritys_post_is_merged_at_read_not_fanned_out(photos: PhotoApp, nats: RunningServer):
    fans = [photos.user(name) for name in ("ann", "ben", "cat")]
    star = photos.user("star")
    for fan in fans:
        assert fan.post("/api/users/star/follow").status_code == 204
    posted = photos.post_photo(star, caption="for my fans")

    work_until(nats.url, job_settings(photos, celebrity_followers=2), settled(2), "two jobs")

    assert photos.rows("timeline_entries") == 0
    assert query(
        photos.database_url, "SELECT u.username FROM celebrities JOIN users u ON u.id = user_id"
    ) == [("star",)]
    for fan in fans:
        assert _ids(fan) == [posted["id"]]
    later = photos.post_photo(star, jpeg(colour=(5, 5, 5)))
    assert _ids(fans[0]) == [later["id"], posted["id"]]  # before any worker: merged at read


def test_precomputed_and_celebrity_posts_page_as_fan_out_on_read(
    photos: PhotoApp, nats: RunningServer
):
    alice, bob, star = photos.user("alice"), photos.user("bob"), photos.user("star")
    photos.user("fan").post("/api/users/star/follow")  # star has 2 followers: a celebrity
    for name in ("bob", "star"):
        assert alice.post(f"/api/users/{name}/follow").status_code == 204
    posted = []
    for index in range(9):
        author = (alice, bob, star)[index % 3]
        posted.append(photos.post_photo(author, jpeg(colour=(index, 0, 0)))["id"])

    work_until(nats.url, job_settings(photos, celebrity_followers=1), settled(18), "18 jobs")
    seen, cursor = [], None
    for _ in range(10):
        page = alice.get(
            "/api/timeline", params={"limit": 2} | ({"cursor": cursor} if cursor else {})
        )
        seen += [p["id"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(posted))
    assert (
        photos.rows("timeline_entries") == 3
    )  # bob's posts in alice's list; star's and hers merged


def test_a_follow_backfills_and_an_unfollow_takes_back(photos: PhotoApp):
    alice, bob = photos.user("alice"), photos.user("bob")
    first = photos.post_photo(bob, jpeg(colour=(1, 2, 3)))
    second = photos.post_photo(bob, jpeg(colour=(4, 5, 6)))

    assert alice.post("/api/users/bob/follow").status_code == 204
    assert _ids(alice) == [second["id"], first["id"]]  # at once, no worker needed

    assert alice.delete("/api/users/bob/follow").status_code == 204
    assert _ids(alice) == []
    assert photos.rows("timeline_entries") == 0


def test_a_timeline_keeps_its_newest_entries_and_reads_deeper_pages_on_the_fly(
    photos: PhotoApp, monkeypatch
):
    from millionscale.photos.queued import QueuedPhotoRepository

    monkeypatch.setattr(QueuedPhotoRepository, "keep", 3)
    alice, bob = photos.user("alice"), photos.user("bob")
    posted = [photos.post_photo(bob, jpeg(colour=(i, 9, 9)))["id"] for i in range(5)]

    assert alice.post("/api/users/bob/follow").status_code == 204

    assert photos.rows("timeline_entries") == 3  # the newest 3 kept
    assert _ids(alice, limit=2) == posted[:-3:-1]
    assert _ids(alice, limit=5) == list(reversed(posted))  # past the kept ones: on the fly
