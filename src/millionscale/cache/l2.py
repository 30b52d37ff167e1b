"""The shared tier: values, leases and the invalidation channel in one Redis.

Every operation that must be atomic is one Lua script (Redis runs a script
with no other command in between), and every script first checks the
*generation*: a number in the key names that a writer bumps to invalidate
everything at once. Keys, for a cache named ``photos`` at generation 3::

    ms:cache:photos:generation         the generation (no TTL; absent means 0)
    ms:cache:photos:3:v:<key>          a value's envelope, PX = ttl + stale window
    ms:cache:photos:3:l:<key>          a lease: the holder's random token, PX = lease period
    ms:cache:photos:invalidations      the pub/sub channel every process listens on

The scripts (their replies are parsed in :mod:`.leases`):

- ``read``: the value and its PTTL; or, on a miss, the lease taken with the
  caller's token (SET NX PX) or the remaining time of someone else's;
- ``set_leased``: writes the value only while the caller's token is the
  lease, then frees the lease (a holder whose lease was invalidated or
  expired writes nothing);
- ``set_forced``: a writer's write-through: frees any lease, writes, publishes;
- ``invalidate``: deletes values and leases, publishes the keys;
- ``bump``: increments the generation and publishes it;
- compare-and-delete and compare-and-expire for leases and corrupt values.

Redis Cluster would need the generation and a key in one hash slot; this
tier targets one Redis (with replicas and Sentinel for failover): the cache's
working set fits one server's memory for a long way, and a cluster would
instead keep a generation per slot.

This module is I/O only. Errors are mapped to :class:`L2Unavailable`, whose
``trips`` says whether it means Redis cannot be reached (the circuit breaker
opens) or only refused this one command (out of memory, a read-only replica).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from millionscale.cache.leases import Reply, UnexpectedReply, parse_read_reply
from millionscale.errors import ConfigError

__all__ = ["L2Unavailable", "RedisTier"]

T = TypeVar("T")

_READ = """
local g = redis.call('GET', KEYS[1]) or '0'
if g ~= ARGV[1] then return {0, g} end
local v = redis.call('GET', KEYS[2])
if v then return {1, v, redis.call('PTTL', KEYS[2])} end
if ARGV[2] == '' then return {4} end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then return {2} end
return {3, redis.call('PTTL', KEYS[3])}
"""

_SET_LEASED = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('DEL', KEYS[3])
return 1
"""

_SET_FORCED = """
local g = redis.call('GET', KEYS[1]) or '0'
if g ~= ARGV[1] then return {0, g} end
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1}
"""

_INVALIDATE = """
local g = redis.call('GET', KEYS[1]) or '0'
if g ~= ARGV[1] then return {0, g} end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return {1}
"""

_BUMP = """
local g = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], '["g",' .. g .. ']')
return g
"""

_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_EXPIRE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class L2Unavailable(Exception):
    """Redis could not do what was asked; ``trips`` when it could not be reached at all."""

    def __init__(self, reason: str, *, trips: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.trips = trips


def bounded_client(
    url: str, *, timeout_s: float, pool_max: int, decode_responses: bool = False
) -> aioredis.Redis:
    """A Redis client whose every wait is bounded by ``timeout_s``: a command, a
    connection attempt, and a free connection among at most ``pool_max``.
    redis-py's own retries are off: the caller decides what a failure means."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=pool_max,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=decode_responses,
    )
    return aioredis.Redis.from_pool(pool)


def redis_address(url: str) -> str:
    """``host:port`` (or the socket path) of a Redis URL, never its password."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"not a Redis URL: scheme {parts.scheme + ':' if parts.scheme else 'missing'}",
            hint="write redis://[:password@]host:port/db (or rediss://, unix://)",
        )
    if parts.scheme == "unix":
        return parts.path
    try:
        port = parts.port or 6379
    except ValueError:
        raise ConfigError(
            "not a Redis URL: bad port", hint="write host:port, port 1-65535"
        ) from None
    return f"{parts.hostname or 'localhost'}:{port}"


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class RedisTier:
    """The cache's keys and scripts in one Redis, at one generation per call.

    ``prefix`` ends with ``:``. Commands time out after ``timeout_s`` (and a
    connection attempt too); at most ``pool_max`` connections are open, and
    a call that finds none free within ``timeout_s`` fails like a timeout.
    redis-py's own retries are off: the circuit breaker above decides.
    """

    def __init__(self, url: str, *, prefix: str, timeout_s: float, pool_max: int) -> None:
        self.address = redis_address(url)
        self.prefix = prefix
        self.client = bounded_client(url, timeout_s=timeout_s, pool_max=pool_max)
        self.generation_key = f"{prefix}generation"
        self.channel = f"{prefix}invalidations"
        register = self.client.register_script
        self._read = register(_READ)
        self._set_leased = register(_SET_LEASED)
        self._set_forced = register(_SET_FORCED)
        self._invalidate = register(_INVALIDATE)
        self._bump = register(_BUMP)
        self._delete_if = register(_DELETE_IF)
        self._expire_if = register(_EXPIRE_IF)

    def value_key(self, generation: int, key: str) -> str:
        return f"{self.prefix}{generation}:v:{key}"

    def lease_key(self, generation: int, key: str) -> str:
        return f"{self.prefix}{generation}:l:{key}"

    def _keys(self, generation: int, key: str) -> list[str]:
        return [
            self.generation_key,
            self.value_key(generation, key),
            self.lease_key(generation, key),
        ]

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except redis_errors.ResponseError as error:  # the server answered: it is reachable
            raise L2Unavailable(_reason(error), trips=False) from None
        except UnexpectedReply as error:
            raise L2Unavailable(str(error), trips=False) from None
        except (redis_errors.RedisError, OSError) as error:  # connection, timeout, loading, auth
            raise L2Unavailable(_reason(error), trips=True) from None

    async def read(self, generation: int, key: str, token: str | None, lease_ms: int) -> Reply:
        """The value of ``key``; on a miss, take the lease with ``token`` (unless None)."""

        async def call() -> Reply:
            raw = await self._read(
                keys=self._keys(generation, key), args=[generation, token or "", lease_ms]
            )
            return parse_read_reply(raw)

        return await self._run(call)

    async def take_lease(self, generation: int, key: str, token: str, lease_ms: int) -> bool:
        """Take the lease of ``key`` if nobody holds it (to refresh a value early)."""

        async def call() -> bool:
            return bool(
                await self.client.set(self.lease_key(generation, key), token, nx=True, px=lease_ms)
            )

        return await self._run(call)

    async def set_leased(
        self, generation: int, key: str, token: str, data: bytes, px_ms: int
    ) -> bool:
        """Write ``data`` if ``token`` is still the lease; whether it was written."""

        async def call() -> bool:
            done = await self._set_leased(
                keys=self._keys(generation, key), args=[generation, token, data, px_ms]
            )
            return bool(done)

        return await self._run(call)

    async def set_forced(
        self, generation: int, key: str, data: bytes, px_ms: int, message: bytes
    ) -> int | None:
        """Write ``data`` whatever holds the lease, and publish ``message``.

        None when done; the current generation when ``generation`` is not it.
        """

        async def call() -> int | None:
            raw = await self._set_forced(
                keys=self._keys(generation, key),
                args=[generation, data, px_ms, self.channel, message],
            )
            return _moved(raw)

        return await self._run(call)

    async def invalidate(self, generation: int, keys: Sequence[str], message: bytes) -> int | None:
        """Delete the values and leases of ``keys`` and publish ``message``.

        None when done; the current generation when ``generation`` is not it.
        """
        names = [self.generation_key]
        for key in keys:
            names += [self.value_key(generation, key), self.lease_key(generation, key)]

        async def call() -> int | None:
            raw = await self._invalidate(keys=names, args=[generation, self.channel, message])
            return _moved(raw)

        return await self._run(call)

    async def bump_generation(self) -> int:
        """Increment the generation (invalidating every key at once) and publish it."""

        async def call() -> int:
            return int(await self._bump(keys=[self.generation_key], args=[self.channel]))

        return await self._run(call)

    async def generation(self) -> int:
        async def call() -> int:
            raw = await self.client.get(self.generation_key)
            return 0 if raw is None else int(raw)

        try:
            return await self._run(call)
        except ValueError:
            raise L2Unavailable(f"{self.generation_key} holds no integer", trips=False) from None

    async def release(self, generation: int, key: str, token: str) -> None:
        """Free the lease of ``key`` if ``token`` still holds it."""

        async def call() -> None:
            await self._delete_if(keys=[self.lease_key(generation, key)], args=[token])

        await self._run(call)

    async def renew(self, generation: int, key: str, token: str, lease_ms: int) -> bool:
        """Extend the lease of ``key`` if ``token`` still holds it; whether it did."""

        async def call() -> bool:
            return bool(
                await self._expire_if(
                    keys=[self.lease_key(generation, key)], args=[token, lease_ms]
                )
            )

        return await self._run(call)

    async def drop(self, generation: int, key: str, raw: bytes) -> None:
        """Delete the value of ``key`` if it is still exactly ``raw`` (a corrupt value)."""

        async def call() -> None:
            await self._delete_if(keys=[self.value_key(generation, key)], args=[raw])

        await self._run(call)

    async def raw_set(self, name: str, data: bytes, px_ms: int | None = None) -> None:
        """Write ``data`` under the full key ``name`` (tests and tools: no lease, no check)."""

        async def call() -> None:
            await self.client.set(name, data, px=px_ms)

        await self._run(call)

    def pubsub(self) -> PubSub:
        return self.client.pubsub()

    async def aclose(self) -> None:
        await self.client.aclose()


def _moved(raw: Any) -> int | None:
    if isinstance(raw, list) and raw and raw[0] == 1:
        return None
    if isinstance(raw, list) and len(raw) == 2 and raw[0] == 0:
        try:
            return int(raw[1])
        except (TypeError, ValueError):
            pass
    raise UnexpectedReply(f"script replied {raw!r:.80}")
