"""Redis down, paused or restarted: the session store says so at once, and what survives.

A dead Redis is a SessionStoreUnavailable naming the store, never a hang or a
raw client error. A restart loses every session unless Redis persists them
(the durable mode: append-only file, fsync every second); either way the
store reconnects by itself.
"""

import asyncio
import signal
import time
from datetime import timedelta

import pytest

from millionscale.errors import SessionStoreUnavailable
from millionscale.servers import RunningServer, start_server
from millionscale.web import RedisSessionStore, SessionChanges

pytestmark = pytest.mark.integration

BOUND_S = 2.5  # an operation fails within twice the 1 s timeout, plus slack for a busy machine


def run(scenario, url: str):
    async def main():
        store = RedisSessionStore(url)
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


async def failure_of(operation) -> tuple[SessionStoreUnavailable, float]:
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable) as caught:
        await operation
    return caught.value, time.monotonic() - started


def test_every_operation_on_a_killed_redis_is_unavailable_at_once(redis: RunningServer):
    async def scenario(store):
        session_id = await store.create(1)
        redis.kill()
        return [
            await failure_of(store.get(session_id)),
            await failure_of(store.create(1)),
            await failure_of(store.update(session_id, SessionChanges(increment={"n": 1}))),
            await failure_of(store.delete(session_id)),
            await failure_of(store.ping()),
        ]

    failures = run(scenario, redis.url)

    for error, elapsed in failures:
        assert elapsed < BOUND_S
        assert error.message.startswith(f"session store redis at {redis.host}:{redis.port} ")
        assert redis.endpoint.secret not in error.one_line()
        assert "REDIS_URL" in error.hint


def test_a_paused_redis_is_unavailable_within_the_timeout_not_a_hang(redis: RunningServer):
    async def scenario(store):
        session_id = await store.create(1)
        redis.kill(signal.SIGSTOP)
        try:
            return await failure_of(store.get(session_id))
        finally:
            redis.kill(signal.SIGCONT)

    error, elapsed = run(scenario, redis.url)

    assert elapsed < BOUND_S
    assert "cannot be used" in error.message


def test_a_restart_without_persistence_loses_the_sessions_and_the_store_reconnects(
    redis: RunningServer,
):
    async def scenario(store):
        session_id = await store.create(1)
        await asyncio.to_thread(redis.restart)
        lost = await store.get(session_id)
        fresh = await store.create(2)
        return lost, await store.get(fresh)

    lost, fresh = run(scenario, redis.url)

    assert lost is None
    assert fresh is not None
    assert fresh.user_id == 2


def test_a_durable_redis_keeps_sessions_and_their_data_across_a_restart():
    with start_server("redis", durable=True) as durable:

        async def scenario(store):
            session_id = await store.create(1, ttl=timedelta(hours=1))
            await store.update(session_id, SessionChanges(increment={"n": 3}))
            await asyncio.to_thread(durable.restart)
            return await store.get(session_id)

        session = run(scenario, durable.url)

    assert session is not None
    assert (session.user_id, session.counter("n")) == (1, 3)


def test_unavailability_is_counted(redis: RunningServer):
    async def scenario(store):
        redis.kill()
        with pytest.raises(SessionStoreUnavailable):
            await store.get("anything")
        return store.statistics()

    stats = run(scenario, redis.url)

    assert stats.unavailable == 1
    assert stats.retried == 1  # a connection error on a read is tried once more


@pytest.mark.parametrize(
    "url", ["http://localhost:6379", "localhost:6379", "redis://localhost:notaport"]
)
def test_a_url_that_is_not_redis_is_a_config_error(url):
    from millionscale.errors import ConfigError

    with pytest.raises(ConfigError, match="not a Redis URL"):
        RedisSessionStore(url)
