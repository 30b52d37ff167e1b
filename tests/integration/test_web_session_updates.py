"""Session data in Redis: concurrent updates of one session never lose each other's changes.

An update is one Lua script, so Redis applies updates of one session one at a
time, each whole: assignments to different fields all persist, increments of
one counter all add up, a failed check changes nothing, and an update never
brings back a session that is gone.
"""

import asyncio
from datetime import timedelta

import pytest
import redis as redis_py

from millionscale.servers import RunningServer
from millionscale.web import COUNTER_MAX, RedisSessionStore, SessionChanges

pytestmark = pytest.mark.integration

WRITERS = 200  # concurrent updates per scenario; each is one round trip


def run(redis: RunningServer, scenario):
    async def main():
        store = RedisSessionStore(redis.url)
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_an_update_returns_the_session_as_it_is_right_after(redis):
    async def scenario(store):
        session_id = await store.create(3)
        await store.update(session_id, SessionChanges(assign={"theme": "dark", "draft": "x"}))
        return await store.update(
            session_id,
            SessionChanges(assign={"lang": "en"}, increment={"views": 5}, remove={"draft"}),
        )

    session = run(redis, scenario)

    assert session.user_id == 3
    assert dict(session.data) == {"theme": "dark", "lang": "en", "views": "5"}
    assert session.counter("views") == 5
    assert session.counter("never") == 0


def test_concurrent_updates_of_different_fields_and_one_counter_lose_nothing(redis):
    async def scenario(store):
        # Two stores, two pools: as two web servers serving one user's requests at once.
        other = RedisSessionStore(redis.url)
        try:
            session_id = await store.create(9)
            updates = [
                (store if i % 2 else other).update(
                    session_id,
                    SessionChanges(assign={f"field{i}": str(i)}, increment={"hits": 1, "sum": i}),
                )
                for i in range(WRITERS)
            ]
            replies = await asyncio.gather(*updates)
            return replies, await store.get(session_id)
        finally:
            await other.close()

    replies, session = run(redis, scenario)

    assert all(reply is not None for reply in replies)
    assert {f"field{i}": str(i) for i in range(WRITERS)}.items() <= session.data.items()
    assert session.counter("hits") == WRITERS
    assert session.counter("sum") == sum(range(WRITERS))
    # Serializable: each update saw a different count, every count from 1 to WRITERS.
    assert sorted(reply.counter("hits") for reply in replies) == list(range(1, WRITERS + 1))


def test_concurrent_assignments_to_one_field_leave_one_of_them_whole(redis):
    async def scenario(store):
        session_id = await store.create(9)
        values = [f"value-{i}-" + "x" * 100 for i in range(WRITERS)]
        await asyncio.gather(
            *(store.update(session_id, SessionChanges(assign={"last": v})) for v in values)
        )
        return values, await store.get(session_id)

    values, session = run(redis, scenario)

    assert session.data["last"] in values


def test_an_update_of_a_missing_session_changes_nothing_and_says_so(redis):
    async def scenario(store):
        return await store.update("no-such-session", SessionChanges(increment={"hits": 1}))

    result = run(redis, scenario)
    client = redis_py.Redis.from_url(redis.url)
    keys = client.keys("*")
    client.close()

    assert result is None
    assert keys == []


def test_an_update_never_brings_back_a_logged_out_session(redis):
    async def scenario(store):
        session_id = await store.create(4)
        await store.delete(session_id)
        updated = await store.update(session_id, SessionChanges(assign={"theme": "dark"}))
        return updated, await store.get(session_id)

    assert run(redis, scenario) == (None, None)


def test_an_update_does_not_move_the_expiry(redis):
    async def scenario(store):
        session_id = await store.create(4, ttl=timedelta(minutes=10))
        created = await store.get(session_id)
        client = redis_py.asyncio.Redis.from_url(redis.url)
        try:
            (key,) = await client.keys("*")
            before = await client.pttl(key)
            updated = await store.update(session_id, SessionChanges(increment={"n": 1}))
            after = await client.pttl(key)
        finally:
            await client.aclose()
        return created, updated, before, after

    created, updated, before, after = run(redis, scenario)

    assert updated.expires_at == created.expires_at
    assert 0 < after <= before


def test_incrementing_a_field_that_holds_no_integer_fails_and_changes_nothing(redis):
    async def scenario(store):
        session_id = await store.create(4)
        await store.update(session_id, SessionChanges(assign={"name": "alice", "n": "007"}))
        failures = []
        for field in ("name", "n"):
            with pytest.raises(ValueError, match=f"session field '{field}' holds no integer"):
                await store.update(
                    session_id, SessionChanges(assign={"other": "x"}, increment={field: 1})
                )
            failures.append(field)
        return failures, await store.get(session_id)

    failures, session = run(redis, scenario)

    assert failures == ["name", "n"]
    assert dict(session.data) == {"name": "alice", "n": "007"}


def test_a_counter_cannot_pass_the_largest_safe_integer(redis):
    async def scenario(store):
        session_id = await store.create(4)
        at_max = await store.update(session_id, SessionChanges(increment={"n": COUNTER_MAX}))
        with pytest.raises(ValueError, match="session field 'n' would pass"):
            await store.update(session_id, SessionChanges(increment={"n": 1}))
        return at_max, await store.get(session_id)

    at_max, session = run(redis, scenario)

    assert at_max.counter("n") == COUNTER_MAX
    assert session.counter("n") == COUNTER_MAX


def test_negative_increments_count_down(redis):
    async def scenario(store):
        session_id = await store.create(4)
        await store.update(session_id, SessionChanges(increment={"credits": 3}))
        return await store.update(session_id, SessionChanges(increment={"credits": -5}))

    assert run(redis, scenario).counter("credits") == -2
