"""With a queue, an upload answers before its thumbnail exists; a worker makes it, and
the API and the pages show it from then on. The job's effect happens once: a
redelivery does nothing; a job for a photo deleted meanwhile ends done."""

import asyncio
import io

import pytest
from photos_queue_support import (
    THUMBNAIL_MADE,
    job_settings,
    query,
    queued_app,
    rows_of,
    settled,
    work_until,
)
from PIL import Image
from psycopg_pool import AsyncConnectionPool

from conftest import PhotoApp, jpeg
from millionscale.photos.jobs import PhotoJobs, tasks
from millionscale.photos.queued import thumbnail_job
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


@pytest.fixture
def photos(database_url, tmp_path, nats: RunningServer):
    with queued_app(database_url, tmp_path / "media", nats.url) as app:
        yield app


def test_the_upload_answers_before_the_thumbnail_and_a_worker_makes_it(
    photos: PhotoApp, nats: RunningServer
):
    alice = photos.user("alice")

    posted = photos.post_photo(alice, jpeg(640, 480), caption="sunset")

    assert posted["thumbnail_ready"] is False
    assert posted["thumbnail_url"] == posted["url"]  # the full image meanwhile
    assert len(photos.media_files()) == 1  # the original only
    assert query(photos.database_url, "SELECT thumbnail_path FROM photos") == [(None,)]
    page = alice.get("/", headers={"accept": "text/html"}).text
    assert f'data-thumbnail-pending="{posted["id"]}"' in page

    stats, status = work_until(
        nats.url, job_settings(photos), rows_of(photos.database_url, THUMBNAIL_MADE), "thumbnail"
    )

    shown = alice.get(f"/api/photos/{posted['id']}").json()
    assert shown["thumbnail_ready"] is True
    assert shown["thumbnail_url"] != shown["url"]
    assert shown["thumbnail_url"].endswith(".thumb.jpg")
    thumbnail = photos.anonymous.get(shown["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) == 320
    page = alice.get("/", headers={"accept": "text/html"}).text
    assert shown["thumbnail_url"] in page
    assert "data-thumbnail-pending" not in page
    assert stats.dead_lettered == 0
    assert status.dead_letters == 0


def test_a_redelivered_thumbnail_job_does_nothing(photos: PhotoApp, nats: RunningServer):
    alice = photos.user("alice")
    posted = photos.post_photo(alice)
    work_until(
        nats.url, job_settings(photos), rows_of(photos.database_url, THUMBNAIL_MADE), "thumbnail"
    )
    # Undo the effect by hand: a redelivery that ran the effect again would redo it.
    query(photos.database_url, "UPDATE photos SET thumbnail_path = NULL RETURNING id")
    files = photos.media_files()

    async def redeliver():
        async with tasks(settings=job_settings(photos)) as handlers:
            for _ in range(2):
                await handlers["thumbnail"](thumbnail_job(posted["id"]))

    asyncio.run(redeliver())

    assert query(photos.database_url, "SELECT thumbnail_path FROM photos") == [(None,)]
    assert photos.media_files() == files
    effects = query(photos.database_url, "SELECT key, task FROM queue_effects")
    assert effects == [(f"thumbnail:{posted['id']}", "thumbnail")]


def test_jobs_for_a_photo_deleted_before_they_run_end_done(photos: PhotoApp, nats: RunningServer):
    alice = photos.user("alice")
    posted = photos.post_photo(alice)

    assert alice.delete(f"/api/photos/{posted['id']}").status_code == 204
    stats, status = work_until(nats.url, job_settings(photos), settled(2), "two jobs")

    assert (stats.done, stats.retried, stats.dead_lettered) == (2, 0, 0)  # thumbnail, fanout
    assert (status.ready, status.dead_letters) == (0, 0)
    assert photos.media_files() == []
    assert photos.rows("photos") == 0


@pytest.mark.parametrize("when", ["before its file is read", "after its thumbnail is written"])
def test_a_photo_deleted_while_its_thumbnail_is_made_leaves_no_row_and_no_file(
    photos: PhotoApp, when
):
    alice = photos.user("alice")
    posted = photos.post_photo(alice, jpeg(colour=(9, 99, 199)))
    original = photos.media_files()
    deleted: list[int] = []

    def delete_now():
        if not deleted:
            deleted.append(posted["id"])
            assert alice.delete(f"/api/photos/{posted['id']}").status_code == 204

    class Deleting(PhotoJobs):
        async def _photo(self, photo_id):
            found = await super()._photo(photo_id)
            if when == "before its file is read":
                delete_now()
            return found

    async def run():
        async with AsyncConnectionPool(photos.database_url, min_size=1, max_size=1) as pool:
            jobs = Deleting(job_settings(photos), pool)
            make = jobs.media.store_thumbnail

            def make_then_delete(media_path):
                made = make(media_path)
                if when == "after its thumbnail is written":
                    delete_now()
                return made

            jobs.media.store_thumbnail = make_then_delete  # type: ignore[method-assign]
            await jobs.thumbnail(thumbnail_job(posted["id"]))

    asyncio.run(run())

    assert deleted == [posted["id"]]
    assert photos.rows("photos") == 0
    assert original
    assert photos.media_files() == []
