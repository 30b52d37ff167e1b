"""Seeding an app in the queued mode precomputes the timelines as the fan-out would:
every seeded user's queued timeline (entries merged with celebrities' posts) is the
one fan-out on read answers, page by page."""

import asyncio

import pytest

from millionscale.bench.dataset import generate
from millionscale.db import Router
from millionscale.photos.queued import QueuedPhotoRepository
from millionscale.photos.repository import Cursor, PostgresPhotoRepository
from millionscale.photos.schema import migrate
from millionscale.photos.seed import seed

pytestmark = pytest.mark.integration

USERS = 100
LIMIT = 7  # small pages, several per timeline


def test_seeded_queued_timelines_are_the_fan_out_on_read_ones(database_url: str, tmp_path):
    migrate(database_url)
    seed(database_url, tmp_path, generate(USERS, seed=3), timelines=True, celebrity_followers=15)

    async def compare() -> tuple[int, int]:
        router = Router(database_url, {}, pool_min=1, pool_max=2)
        await router.open()
        try:
            queued, truth = QueuedPhotoRepository(router), PostgresPhotoRepository(router)
            pages = 0
            for user_id in range(1, USERS + 1):
                before = None
                for _ in range(40):  # bounded: a seeded timeline is at most a few pages deep
                    expected = await truth.timeline(user_id, before, LIMIT)
                    assert await queued.timeline(user_id, before, LIMIT) == expected, user_id
                    pages += 1
                    if len(expected) < LIMIT:
                        break
                    before = Cursor(expected[-1].created_at, expected[-1].id)
            async with router.primary_pool.connection() as conn:
                row = await (await conn.execute("SELECT count(*) FROM celebrities")).fetchone()
            assert row is not None
            return pages, row[0]
        finally:
            await router.close()

    pages, celebrities = asyncio.run(compare())

    assert pages > USERS  # some timelines took more than one page
    assert celebrities > 0  # and some posts came merged at read
