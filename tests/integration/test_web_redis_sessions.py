"""The Redis session store keeps the SessionStore contract on a real Redis.

Each session is one hash under the SHA-256 of its id, with a Redis TTL equal
to the session's; the id itself is stored nowhere.
"""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_py

from millionscale.servers import RunningServer
from millionscale.web import RedisSessionStore

pytestmark = pytest.mark.integration


def run(redis: RunningServer, scenario):
    """Run ``scenario(store)`` on a store of ``redis``; close the store after."""

    async def main():
        store = RedisSessionStore(redis.url)
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_a_created_session_is_found_with_its_user_and_expiry(redis):
    async def scenario(store):
        session_id = await store.create(42, ttl=timedelta(hours=1))
        return await store.get(session_id)

    before = datetime.now(UTC)
    session = run(redis, scenario)

    assert session is not None
    assert session.user_id == 42
    assert (
        before + timedelta(minutes=59)
        < session.expires_at
        <= datetime.now(UTC) + timedelta(hours=1)
    )
    assert dict(session.data) == {}


def test_an_unknown_id_is_no_session(redis):
    async def scenario(store):
        return await store.get("not-a-session-id")

    assert run(redis, scenario) is None


def test_a_deleted_session_is_gone_and_deleting_again_is_fine(redis):
    async def scenario(store):
        session_id = await store.create(7)
        await store.delete(session_id)
        await store.delete(session_id)
        return await store.get(session_id)

    assert run(redis, scenario) is None


def test_every_store_on_the_same_redis_sees_the_same_sessions(redis):
    async def scenario(store):
        other = RedisSessionStore(redis.url)
        try:
            session_id = await store.create(5)
            seen = await other.get(session_id)
            await other.delete(session_id)
            return seen, await store.get(session_id)
        finally:
            await other.close()

    seen, after_logout = run(redis, scenario)

    assert seen is not None
    assert seen.user_id == 5
    assert after_logout is None


def test_redis_keeps_only_a_hash_of_the_id_with_the_sessions_ttl(redis):
    session_id = run(redis, lambda store: store.create(1, ttl=timedelta(minutes=10)))
    client = redis_py.Redis.from_url(redis.url, decode_responses=True)

    keys = client.keys("*")
    ttl_ms = client.pttl(keys[0])
    values = client.hgetall(keys[0])
    client.close()

    assert keys == ["ms:session:" + hashlib.sha256(session_id.encode()).hexdigest()]
    assert 9 * 60 * 1000 < ttl_ms <= 10 * 60 * 1000
    assert session_id not in " ".join(map(str, [*keys, *values.keys(), *values.values()]))


def test_two_sessions_get_different_unguessable_ids(redis):
    async def scenario(store):
        return await store.create(1), await store.create(1)

    first, second = run(redis, scenario)

    assert first != second
    assert len(first) >= 43  # 32 random bytes, base64url


def test_a_ttl_under_a_millisecond_is_refused(redis):
    async def scenario(store):
        await store.create(1, ttl=timedelta(microseconds=10))

    with pytest.raises(ValueError, match="at least 1 ms"):
        run(redis, scenario)


def test_statistics_count_what_the_store_did(redis):
    async def scenario(store):
        session_id = await store.create(1)
        await store.get(session_id)
        await store.get("unknown")
        await store.delete(session_id)
        return store.statistics()

    stats = run(redis, scenario)

    assert (stats.created, stats.found, stats.missing, stats.deleted) == (1, 1, 1, 1)
    assert stats.unavailable == 0
