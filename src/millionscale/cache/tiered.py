"""The tiered read-through cache: L1 in the process, L2 in Redis, the loader behind both.

    cache = TieredCache("redis://:secret@127.0.0.1:6379/0", name="photos")
    async with cache:
        profile = await cache.get_or_load(f"user:{uid}", lambda: load_user(uid), ttl_s=60)
        ...
        await db.commit()
        await cache.invalidate(f"user:{uid}")    # after the write commits

A read tries, in order: this process's L1 (hot keys only, by default), the
shared L2 (Redis), and the loader, which is called by one caller per key in
each process (single flight) and by one process per key at a time (the lease
in Redis), its value then written to L2 (and L1). A loader that returns
``None`` (or :data:`~millionscale.cache.absent.ABSENT`) caches an absence for
``absent_ttl_s``; ``get_or_load`` then returns ``None``.

**Consistency guarantee.** Let a write commit to the source of truth, then
``invalidate(key)`` return ``True``. From that moment:

1. no read of L2 returns the old value (the script deleted it, atomically
   with the lease, so no loader that read the old truth can write it back:
   its ``set`` needs its lease token and is refused);
2. a process's L1 may return the old value until the invalidation message
   reaches it: the pub/sub delivery time, under a millisecond on one machine
   (measured by ``bench/cache_staleness.py``; docs/cache.md has the
   figures). A value read from L2 before the invalidation and put in L1
   after the message was handled is refused by the fence;
3. if the message is lost (the subscription connection broke or stalled),
   the process notices within ``ping_interval_s + pong_timeout_s`` (1 s by
   default), clears L1 and bypasses it until subscribed again;
4. whatever happens to the subscriber, no L1 entry lives longer than
   ``l1_ttl_s`` (5 s by default), nor longer than the value's own freshness.

So after ``invalidate()`` returns ``True``, a read anywhere returns the old
value for at most the delivery time in normal operation, and at most
``min(l1_ttl_s, ping_interval_s + pong_timeout_s)`` plus event-loop lag when
the subscription fails. If ``invalidate()`` returns ``False``, Redis could
not be reached: the invalidation is queued and sent when it can be (or, if
more than ``pending_max`` keys wait, the generation is bumped, invalidating
everything); until then other processes may read the old value from L2, up
to its TTL. This process itself bypasses the cache for queued keys. Queued
invalidations die with the process: a writer killed while Redis is
unreachable leaves old values in L2 until their TTL.

**Redis unavailable.** No read fails because of Redis: after a failure the
circuit breaker skips Redis for a backoff (0.5 s, doubling to 5 s while it
stays down) and reads call the loader directly (single flight still applies);
L1 is unused while the subscription is down. Both recover by themselves.

Errors the caller sees: :class:`~millionscale.errors.CacheError` for a bad
key, setting or a value the codec cannot encode; the loader's own exceptions
(never cached). Corrupt bytes under a key are dropped and treated as a miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random as _random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import structlog

from millionscale.cache.absent import ABSENT, MISS, Absent, Miss
from millionscale.cache.breaker import CircuitBreaker
from millionscale.cache.broadcast import InvalidationListener
from millionscale.cache.codec import Codec, JsonCodec, UndecodableValue, describe_key
from millionscale.cache.decorator import CachedFunction
from millionscale.cache.envelope import MAX_FIELD_MS, Envelope
from millionscale.cache.hotkeys import HotKeys
from millionscale.cache.invalidation import (
    InvalidateKeys,
    InvalidationFence,
    Message,
    NewGeneration,
    PendingInvalidations,
    Unreadable,
    encode_keys,
)
from millionscale.cache.keys import check_key
from millionscale.cache.l1 import L1Cache
from millionscale.cache.l2 import L2Unavailable, RedisTier
from millionscale.cache.leases import (
    MAX_MOVES,
    Corrupt,
    DropCorrupt,
    Found,
    Load,
    LoadUncached,
    Lookup,
    Moved,
    ReadAgain,
    Reply,
    Serve,
    Wait,
)
from millionscale.cache.metrics import track
from millionscale.cache.refresh import Freshness
from millionscale.cache.settings import CacheSettings, check_ttl
from millionscale.cache.singleflight import SingleFlight
from millionscale.cache.statistics import TieredCounts, TieredStatistics
from millionscale.cache.subscription import SubscriptionHealth
from millionscale.errors import CacheError

__all__ = ["Hooks", "TieredCache"]

P = ParamSpec("P")
T = TypeVar("T")

# A test hook, awaited at named steps of a read: "leased" (the lease is ours,
# the loader not called yet), "loaded" (the loader returned, the value not
# set yet), "admit" (a value read from L2, not put in L1 yet).
Hooks = Callable[[str, str], Awaitable[None]]

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PENDING_BATCH = 100  # keys per invalidation script when a writer catches up
MAX_RENEWALS = 100  # a live holder renews its lease for at most ~33 lease periods
DRAIN_RETRY_S = 0.05  # a writer retries queued invalidations this soon, doubling...
DRAIN_MAX_RETRY_S = 1.0  # ...up to once a second

log = structlog.get_logger()


class TieredCache:
    """L1 + Redis + loader, with leases, invalidation broadcast and hot-key copies.

    Use it as an async context manager (or call :meth:`start` and
    :meth:`close`): ``start`` launches the subscriber, without which L1 is
    never used (every read goes to Redis), and the writer's retry task.
    One instance per process and cache name; every method must be called
    from the event loop it was started on.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "cache",
        settings: CacheSettings | None = None,
        codec: Codec | None = None,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        hooks: Hooks | None = None,
    ) -> None:
        if not NAME_PATTERN.fullmatch(name):
            raise CacheError(
                f"cache name {name!r} is not 1-64 of A-Z a-z 0-9 _ . -",
                hint="name the cache after what it holds, such as 'photos'",
            )
        self.name = name
        self.settings = settings = settings or CacheSettings()
        self._codec: Codec = codec or JsonCodec()
        self._clock = clock
        self._random = random
        self._hooks = hooks
        self._l2 = RedisTier(
            url,
            prefix=f"ms:cache:{name}:",
            timeout_s=settings.timeout_s,
            pool_max=settings.pool_max,
        )
        self._l1: L1Cache[str, bytes] = L1Cache(
            max_entries=settings.l1_max_entries,
            max_bytes=settings.l1_max_bytes,
            policy=settings.l1_policy,
            ttl_s=settings.l1_ttl_s,
            clock=clock,
            random=random,
            name=f"{name}-l1",
        )
        self._policy = settings.lease_policy()
        self._breaker = CircuitBreaker(
            clock=clock,
            backoff_s=settings.breaker_backoff_s,
            max_backoff_s=settings.breaker_max_backoff_s,
        )
        self._health = SubscriptionHealth(
            ping_interval_s=settings.ping_interval_s, pong_timeout_s=settings.pong_timeout_s
        )
        self._hot = HotKeys(
            clock=clock,
            window_s=settings.hot_window_s,
            share=settings.hot_share,
            min_rate=settings.hot_min_rate,
        )
        self._fence = InvalidationFence()
        self._pending = PendingInvalidations(settings.pending_max)
        self._pending_event = asyncio.Event()
        self._flights: SingleFlight[str] = SingleFlight()
        self._counts = TieredCounts()
        self._generation = 0
        self._l1_on = False
        self._subscribed = asyncio.Event()
        self._refreshing: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._service: list[asyncio.Task[Any]] = []
        self._closed = False
        track(self)

    # -- life cycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start the subscriber (L1 is used once it is subscribed) and the writer's retries."""
        if self._service:
            return
        listener = InvalidationListener(
            self._l2, self, self._health, clock=self._clock, name=self.name
        )
        self._service = [
            asyncio.create_task(listener.run(), name=f"cache {self.name}: subscriber"),
            asyncio.create_task(self._drain(), name=f"cache {self.name}: invalidation retries"),
        ]

    async def wait_subscribed(self, timeout_s: float) -> bool:
        """Whether the subscriber is (or becomes, within ``timeout_s``) subscribed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)
        return self._subscribed.is_set()

    async def close(self) -> None:
        """Stop every task of the cache and close its connections."""
        self._closed = True
        tasks = [*self._service, *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._service = []
        self._l1_on = False
        await self._l2.aclose()

    async def __aenter__(self) -> TieredCache:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def subscribed(self) -> bool:
        """Whether invalidations are heard now (and so L1 is in use)."""
        return self._subscribed.is_set()

    @property
    def generation(self) -> int:
        return self._generation

    # -- reads --------------------------------------------------------------

    async def get_or_load(
        self,
        key: str,
        loader: Callable[[], Awaitable[Any]],
        ttl_s: float | None = None,
        *,
        absent_ttl_s: float | None = None,
    ) -> Any:
        """The value of ``key``, loading it with ``loader()`` on a miss; None if absent.

        ``ttl_s`` and ``absent_ttl_s`` override the settings for this key.
        Concurrent calls for one key share one load: the first caller's
        ``loader`` runs. Never raises because of Redis.
        """
        key = check_key(key)
        ttl = self.settings.ttl_s if ttl_s is None else check_ttl("ttl_s", ttl_s)
        absent_ttl = (
            self.settings.absent_ttl_s
            if absent_ttl_s is None
            else check_ttl("absent_ttl_s", absent_ttl_s)
        )
        self._hot.record(key)
        if self._l1_on and key not in self._pending:
            found = self._l1.get(key)
            if found is not MISS:
                return None if found is ABSENT else self._codec.decode(found)
        payload = await self._flights.do(key, lambda: self._fetch(key, loader, ttl, absent_ttl))
        return None if payload is ABSENT else self._codec.decode(payload)

    async def get(self, key: str) -> Any | Absent | Miss:
        """The cached value of ``key``, :data:`ABSENT` for a cached absence, else :data:`MISS`.

        Never loads, never takes a lease, never raises because of Redis (an
        unreachable Redis is a miss).
        """
        key = check_key(key)
        self._hot.record(key)
        if self._l1_on and key not in self._pending:
            found = self._l1.get(key)
            if found is not MISS:
                return ABSENT if found is ABSENT else self._codec.decode(found)
        if key in self._pending or not self._breaker.allow():
            return MISS
        ticket = self._fence.begin()
        try:
            reply = await self._read(key, None)
        except L2Unavailable as error:
            self._redis_failed(error)
            return MISS
        if isinstance(reply, Found):
            envelope = reply.envelope
            payload: bytes | Absent = ABSENT if envelope.payload is None else envelope.payload
            try:
                value = ABSENT if payload is ABSENT else self._codec.decode(payload)
            except UndecodableValue:
                self._counts.corrupt += 1
                return MISS
            self._counts.l2_hits += 1
            self._admit(key, payload, _fresh_s(reply.ttl_ms, envelope.stale_ms), ticket)
            return value
        if isinstance(reply, Corrupt):
            self._counts.corrupt += 1
        self._counts.l2_misses += 1
        return MISS

    async def _read(self, key: str, token: str | None) -> Reply:
        """One read script at the current generation, following it if it moved."""
        for _ in range(MAX_MOVES + 1):
            reply = await self._l2.read(self._generation, key, token, self._policy.lease_ms)
            self._redis_ok()
            if not isinstance(reply, Moved):
                return reply
            self._adopt_generation(reply.generation)
        raise L2Unavailable("the generation keeps moving", trips=False)

    async def _fetch(
        self, key: str, loader: Callable[[], Awaitable[Any]], ttl: float, absent_ttl: float
    ) -> bytes | Absent:
        """One process's read of ``key`` past L1: Redis under a lease, or the loader alone."""
        ticket = self._fence.begin()
        if key in self._pending:
            return await self._load_only(key, loader)
        if not self._breaker.allow():
            return await self._load_only(key, loader)
        token = secrets.token_hex(8)
        lookup = Lookup(self._policy, self._clock(), self._random, key)
        generation = self._generation
        counted_miss = False
        try:
            reply: Reply = await self._l2.read(generation, key, token, self._policy.lease_ms)
            self._redis_ok()
            for _ in range(10_000):  # bounded: the lookup ends within its wait budget
                action = lookup.next(reply, self._clock())
                if not counted_miss and not isinstance(action, Serve | DropCorrupt | ReadAgain):
                    self._counts.l2_misses += 1
                    counted_miss = True
                match action:
                    case Serve():
                        served = await self._serve(key, action, loader, ttl, absent_ttl, ticket)
                        if served is not None:
                            return served
                        envelope = action.envelope
                        reply = Corrupt(envelope.encode(), "the payload is not the codec's")
                        continue
                    case Load():
                        break
                    case Wait(delay_s=delay_s):
                        self._counts.lease_waits += 1
                        await asyncio.sleep(delay_s)
                    case ReadAgain(generation=moved):
                        self._adopt_generation(moved)
                        generation = moved
                    case DropCorrupt(raw=raw, why=why):
                        self._counts.corrupt += 1
                        log.warning(why, cache=self.name)
                        await self._l2.drop(generation, key, raw)
                    case LoadUncached():
                        if lookup.waits:
                            self._counts.lease_timeouts += 1
                        return await self._load_only(key, loader)
                reply = await self._l2.read(generation, key, token, self._policy.lease_ms)
                self._redis_ok()
            else:
                return await self._load_only(key, loader)
        except L2Unavailable as error:
            self._redis_failed(error)
            return await self._load_only(key, loader)
        return await self._load_leased(key, loader, token, generation, ttl, absent_ttl, ticket)

    async def _serve(
        self,
        key: str,
        action: Serve,
        loader: Callable[[], Awaitable[Any]],
        ttl: float,
        absent_ttl: float,
        ticket: int,
    ) -> bytes | Absent | None:
        """The payload found in L2 (None if the codec cannot read it); refresh if due."""
        envelope = action.envelope
        payload: bytes | Absent
        if envelope.payload is None:
            payload = ABSENT
        else:
            payload = envelope.payload
            try:
                self._codec.decode(payload)
            except UndecodableValue:
                return None
        self._counts.l2_hits += 1
        if action.freshness is Freshness.STALE:
            self._counts.stale_serves += 1
        elif action.freshness is Freshness.EARLY:
            self._counts.early_refreshes += 1
        if action.freshness is not Freshness.FRESH:
            self._refresh_later(key, loader, ttl, absent_ttl)
        if self._hooks is not None:
            await self._hooks("admit", key)
        self._admit(key, payload, action.fresh_s, ticket)
        return payload

    async def _load_leased(
        self,
        key: str,
        loader: Callable[[], Awaitable[Any]],
        token: str,
        generation: int,
        ttl: float,
        absent_ttl: float,
        ticket: int,
    ) -> bytes | Absent:
        """Load ``key`` while holding its lease, then set it if the lease is still ours."""
        if self._hooks is not None:
            await self._hooks("leased", key)
        renewal = asyncio.create_task(self._renew(key, generation, token))
        started = self._clock()
        try:
            self._counts.loads += 1
            value = await loader()
            payload = self._encode(key, value)
        except BaseException as error:
            if not isinstance(error, CacheError):
                self._counts.load_errors += 1
            renewal.cancel()
            with contextlib.suppress(L2Unavailable):
                await self._l2.release(generation, key, token)  # the waiters need not wait it out
            raise
        finally:
            renewal.cancel()
        load_ms = min(MAX_FIELD_MS, round((self._clock() - started) * 1000))
        if self._hooks is not None:
            await self._hooks("loaded", key)
        if payload is not ABSENT and len(payload) > self.settings.max_value_bytes:
            self._counts.too_large += 1
            with contextlib.suppress(L2Unavailable):
                await self._l2.release(generation, key, token)
            return payload
        absent = payload is ABSENT
        life = absent_ttl if absent else ttl
        stale_ms = 0 if absent else round(self.settings.stale_s * 1000)
        envelope = Envelope(None if payload is ABSENT else payload, load_ms, stale_ms)
        try:
            written = await self._l2.set_leased(
                generation, key, token, envelope.encode(), round(life * 1000) + stale_ms
            )
            self._redis_ok()
        except L2Unavailable as error:
            self._redis_failed(error)
            written = False
        if written:
            self._counts.sets += 1
            self._admit(key, payload, life, ticket)
        else:
            self._counts.sets_refused += 1
        return payload

    async def _load_only(self, key: str, loader: Callable[[], Awaitable[Any]]) -> bytes | Absent:
        """Call the loader and cache nothing (Redis skipped, failed, or not to be trusted)."""
        self._counts.fall_throughs += 1
        self._counts.loads += 1
        try:
            value = await loader()
        except BaseException:
            self._counts.load_errors += 1
            raise
        return self._encode(key, value)

    def _encode(self, key: str, value: Any) -> bytes | Absent:
        if value is None or value is ABSENT:
            return ABSENT
        return self._codec.encode(value, key)

    async def _renew(self, key: str, generation: int, token: str) -> None:
        """Keep a live holder's lease from expiring under a slow load (cancelled when it ends)."""
        every = self._policy.lease_s / 3
        for _ in range(MAX_RENEWALS):
            await asyncio.sleep(every)
            try:
                if not await self._l2.renew(generation, key, token, self._policy.lease_ms):
                    return  # invalidated or lost: the set will be refused anyway
            except L2Unavailable:
                return

    def _refresh_later(
        self, key: str, loader: Callable[[], Awaitable[Any]], ttl: float, absent_ttl: float
    ) -> None:
        """Refresh ``key`` in the background if this process is not already doing it."""
        if key in self._refreshing or self._closed:
            return
        self._refreshing.add(key)
        task = asyncio.create_task(self._refresh(key, loader, ttl, absent_ttl))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(
        self, key: str, loader: Callable[[], Awaitable[Any]], ttl: float, absent_ttl: float
    ) -> None:
        try:
            token = secrets.token_hex(8)
            generation = self._generation
            if not await self._l2.take_lease(generation, key, token, self._policy.lease_ms):
                return  # someone else is refreshing it
            ticket = self._fence.begin()
            await self._load_leased(key, loader, token, generation, ttl, absent_ttl, ticket)
        except L2Unavailable as error:
            self._redis_failed(error)
        except Exception as error:  # the loader's: counted; the readers were served already
            log.warning(f"refreshing {describe_key(key)} failed: {error!r:.200}", cache=self.name)
        finally:
            self._refreshing.discard(key)

    def _admit(self, key: str, payload: bytes | Absent, fresh_s: float, ticket: int) -> None:
        """Put what was read into L1, if L1 is in use, the key qualifies and nothing overtook it."""
        if not self._l1_on:
            return
        if self.settings.l1_admission == "hot" and not self._hot.is_hot(key):
            return
        if not self._fence.admits(key, ticket):
            self._counts.fenced += 1
            return
        life = min(self.settings.l1_ttl_s, fresh_s)
        if life > 0:
            self._l1.set(key, payload, ttl_s=life)

    # -- writes -------------------------------------------------------------

    async def set(self, key: str, value: Any, ttl_s: float | None = None) -> bool:
        """Write ``value`` through to Redis (after a write committed), replacing any lease.

        Every L1 drops its copy (as for :meth:`invalidate`). ``True`` when
        Redis took it; ``False`` when Redis could not be reached, and then the
        key's invalidation is queued instead. ``None`` caches an absence.
        """
        key = check_key(key)
        ttl = self.settings.ttl_s if ttl_s is None else check_ttl("ttl_s", ttl_s)
        payload = self._encode(key, value)
        self._forget_locally([key])
        if payload is not ABSENT and len(payload) > self.settings.max_value_bytes:
            self._counts.too_large += 1
            return await self._invalidate([key])
        absent = payload is ABSENT
        life = self.settings.absent_ttl_s if absent else ttl
        stale_ms = 0 if absent else round(self.settings.stale_s * 1000)
        data = Envelope(None if payload is ABSENT else payload, 0, stale_ms).encode()
        if self._breaker.allow():
            try:
                for _ in range(MAX_MOVES + 1):
                    moved = await self._l2.set_forced(
                        self._generation,
                        key,
                        data,
                        round(life * 1000) + stale_ms,
                        encode_keys([key]),
                    )
                    self._redis_ok()
                    if moved is None:
                        self._counts.sets += 1
                        self._forget_locally([key])  # a read of ours may have raced the script
                        return True
                    self._adopt_generation(moved)
            except L2Unavailable as error:
                self._redis_failed(error)
        self._queue([key])
        return False

    async def delete(self, key: str) -> bool:
        """The same as :meth:`invalidate` of one key."""
        return await self.invalidate(key)

    async def invalidate(self, *keys: str) -> bool:
        """After a write committed: drop ``keys`` from Redis and from every process's L1.

        ``True`` when Redis applied it (the guarantee in the module's
        docstring holds from now on, and in this process a read begun after
        the return never sees the old value); ``False`` when Redis could not
        be reached: the invalidation is queued and retried, and this process
        bypasses the cache for these keys until it is sent.
        """
        checked = [check_key(key) for key in keys]
        if not checked:
            return True
        self._forget_locally(checked)
        return await self._invalidate(checked)

    async def _invalidate(self, keys: list[str]) -> bool:
        self._counts.invalidations += len(keys)
        if self._breaker.allow():
            try:
                await self._send_invalidation(keys)
                # A read of this process that began after the first forget and fetched the
                # old value before the script ran may have put it in L1: forget again, so
                # this process reads its own write without waiting for its own message.
                self._forget_locally(keys)
                return True
            except L2Unavailable as error:
                self._redis_failed(error)
        self._queue(keys)
        return False

    async def _send_invalidation(self, keys: list[str]) -> None:
        message = encode_keys(keys)
        for _ in range(MAX_MOVES + 1):
            moved = await self._l2.invalidate(self._generation, keys, message)
            self._redis_ok()
            if moved is None:
                return
            self._adopt_generation(moved)
        raise L2Unavailable("the generation keeps moving", trips=False)

    def _forget_locally(self, keys: list[str]) -> None:
        for key in keys:
            self._l1.delete(key)
            self._fence.invalidated(key)

    def _queue(self, keys: list[str]) -> None:
        self._counts.invalidations_queued += len(keys)
        if not self._pending.add(keys):
            log.warning(
                f"over {self.settings.pending_max} invalidations wait for redis; "
                "the generation will be bumped when it answers",
                cache=self.name,
            )
        self._pending_event.set()

    async def _drain(self) -> None:
        """Send queued invalidations once Redis answers (a service task, until close)."""
        while True:
            await self._pending_event.wait()
            self._pending_event.clear()
            pause = DRAIN_RETRY_S
            for _ in range(1_000_000):  # bounded; in practice ends when the queue is empty
                if not self._pending:
                    break
                if self._breaker.allow():
                    try:
                        await self._drain_once()
                        pause = DRAIN_RETRY_S
                        continue
                    except L2Unavailable as error:
                        self._redis_failed(error)
                await asyncio.sleep(pause)
                pause = min(pause * 2, DRAIN_MAX_RETRY_S)

    async def _drain_once(self) -> None:
        pending = self._pending
        if pending.overflowed:
            mark = pending.mark()
            generation = await self._l2.bump_generation()
            self._redis_ok()
            pending.reset(mark)
            self._adopt_generation(generation)
            log.info(
                f"bumped the generation to {generation}: queued invalidations had overflowed",
                cache=self.name,
            )
            return
        batch = pending.batch(PENDING_BATCH)
        await self._send_invalidation(list(batch))
        pending.sent(batch)

    # -- the subscriber's callbacks -----------------------------------------

    def on_subscribed(self, generation: int) -> None:
        self._adopt_generation(generation)
        self._fence.invalidate_all()
        self._l1.clear()
        self._l1_on = self.settings.l1_admission != "none"
        self._subscribed.set()

    def on_lost(self, reason: str) -> None:
        self._l1_on = False
        self._subscribed.clear()
        self._fence.invalidate_all()
        self._l1.clear()

    def on_message(self, message: Message) -> None:
        match message:
            case InvalidateKeys(keys=keys):
                self._counts.invalidations_received += len(keys)
                for key in keys:
                    self._l1.delete(key)
                    self._fence.invalidated(key)
            case NewGeneration(generation=generation):
                self._adopt_generation(generation)
            case Unreadable(reason=reason):
                log.warning(f"unreadable invalidation ({reason}); L1 cleared", cache=self.name)
                self._fence.invalidate_all()
                self._l1.clear()

    def _adopt_generation(self, generation: int) -> None:
        if generation != self._generation:
            self._generation = generation
            self._fence.invalidate_all()
            self._l1.clear()

    # -- Redis health -------------------------------------------------------

    def _redis_ok(self) -> None:
        sentence = self._breaker.succeeded()
        if sentence is not None:
            log.info(sentence, cache=self.name)

    def _redis_failed(self, error: L2Unavailable) -> None:
        self._counts.errors += 1
        if error.trips:
            sentence = self._breaker.failed(error.reason)
            if sentence is not None:
                log.warning(sentence, cache=self.name)
        else:
            log.warning(f"redis refused a command: {error.reason}", cache=self.name)

    # -- the decorator and statistics ---------------------------------------

    def cached(
        self,
        *,
        ttl_s: float | None = None,
        absent_ttl_s: float | None = None,
        key: Callable[..., str] | None = None,
        prefix: str | None = None,
    ) -> Callable[[Callable[P, Awaitable[T]]], CachedFunction[P, T]]:
        """Decorate an async function so its results are cached by its arguments.

        The key is ``key(*args, **kwargs)`` if given, else ``prefix`` (default
        the function's module and qualified name), a colon, and the arguments
        as JSON (arguments JSON cannot encode, such as ``self``, need ``key``).
        The decorated function has ``.invalidate(*args, **kwargs)`` and
        ``.key(*args, **kwargs)``.
        """
        for name, value in (("ttl_s", ttl_s), ("absent_ttl_s", absent_ttl_s)):
            if value is not None:
                check_ttl(name, value)

        def decorate(function: Callable[P, Awaitable[T]]) -> CachedFunction[P, T]:
            return CachedFunction(self, function, ttl_s, absent_ttl_s, key, prefix)

        return decorate

    def statistics(self) -> TieredStatistics:
        return TieredStatistics(
            name=self.name,
            l1=self._l1.statistics(),
            joined=self._flights.statistics().joined,
            generation=self._generation,
            subscribed=self.subscribed,
            breaker=self._breaker.state.value,
            hot_keys=len(self._hot.hot),
            pending=len(self._pending) if not self._pending.overflowed else -1,
            **self._counts.as_dict(),
        )


def _fresh_s(ttl_ms: int, stale_ms: int) -> float:
    return math.inf if ttl_ms == -1 else max(0.0, (ttl_ms - stale_ms) / 1000)
