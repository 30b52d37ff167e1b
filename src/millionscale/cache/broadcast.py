"""The subscriber: one pub/sub connection per cache, listening for invalidations.

It subscribes to the cache's channel, reads the generation (after the
subscription is confirmed, so no bump can fall between the two), tells its
target it is subscribed, then hands every message to the target and pings
on the schedule of :class:`~millionscale.cache.subscription.SubscriptionHealth`.
Any error, or a ping left unanswered, ends the subscription: the target is
told it is lost (it clears and stops using L1), the connection is closed,
never reused (redis-py would silently resubscribe a reconnected one, hiding
the gap in which messages were lost), and after a pause, doubling from
``retry_s`` up to ``max_retry_s``, a new one is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

import redis.exceptions as redis_errors
import structlog
from redis.asyncio.client import PubSub

from millionscale.cache.invalidation import Message, parse_message
from millionscale.cache.l2 import L2Unavailable, RedisTier
from millionscale.cache.subscription import SubscriptionHealth

__all__ = ["RETRY_S", "InvalidationListener", "Subscriber"]

RETRY_S = 0.05  # first pause before subscribing again
MAX_RETRY_S = 1.0  # longest pause: L1 is back within a second of Redis

log = structlog.get_logger()


class Subscriber(Protocol):
    """What the listener tells: subscribed (at a generation), lost, and each message."""

    def on_subscribed(self, generation: int) -> None: ...

    def on_lost(self, reason: str) -> None: ...

    def on_message(self, message: Message) -> None: ...


class _Lost(Exception):
    pass


class InvalidationListener:
    """Keeps one subscription to ``tier.channel`` alive for ``target``, until cancelled."""

    def __init__(
        self,
        tier: RedisTier,
        target: Subscriber,
        health: SubscriptionHealth,
        *,
        clock: Callable[[], float],
        name: str,
        retry_s: float = RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
    ) -> None:
        self._tier = tier
        self._target = target
        self.health = health
        self._clock = clock
        self._name = name
        self._retry_s = retry_s
        self._max_retry_s = max_retry_s

    async def run(self) -> None:
        """Subscribe, listen, and subscribe again after every loss; returns only if cancelled."""
        pause = self._retry_s
        while True:
            pubsub = self._tier.pubsub()
            try:
                await self._listen(pubsub)
            except _Lost as lost:
                reason = str(lost)
            except (redis_errors.RedisError, OSError, L2Unavailable) as error:
                reason = " ".join(str(error).split()) or type(error).__name__
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
            was_up = self.health.up
            sentence = self.health.lost(reason)
            self._target.on_lost(reason)
            if was_up:
                log.warning(sentence, cache=self._name)
                pause = self._retry_s
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._max_retry_s)

    async def _listen(self, pubsub: PubSub) -> None:
        health = self.health
        await pubsub.subscribe(self._tier.channel)
        deadline = self._clock() + health.pong_timeout_s + health.ping_interval_s
        while True:
            message = await pubsub.get_message(timeout=max(0.0, deadline - self._clock()))
            if message is not None and message["type"] == "subscribe":
                break
            if self._clock() >= deadline:
                raise _Lost("the subscription was not confirmed in time")
        generation = await self._tier.generation()
        self._target.on_subscribed(generation)
        log.info(health.subscribed(self._clock()), cache=self._name, generation=generation)
        while True:
            message = await pubsub.get_message(timeout=health.next_check(self._clock()))
            now = self._clock()
            if message is not None:
                kind = message["type"]
                if kind == "message":
                    self._target.on_message(parse_message(message["data"]))
                elif kind == "pong":
                    health.ponged(now)
            overdue = health.overdue(now)
            if overdue is not None:
                raise _Lost(overdue)
            if health.ping_due(now):
                await pubsub.ping()
                health.pinged(now)
