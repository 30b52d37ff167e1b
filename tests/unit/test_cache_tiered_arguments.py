"""The tiered cache refuses bad names, settings, keys and values at the call, before any Redis."""

import asyncio
import math

import pytest

from millionscale.cache import CacheSettings, TieredCache
from millionscale.errors import CacheError, ConfigError

NOWHERE = "redis://127.0.0.1:1/0"  # never connected to: every check comes first


async def _loader():
    return 1


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "a/b"])
def test_a_bad_cache_name_is_refused(name):
    with pytest.raises(CacheError, match="cache name"):
        TieredCache(NOWHERE, name=name)


def test_a_url_that_is_not_redis_is_a_config_error():
    with pytest.raises(ConfigError, match="not a Redis URL"):
        TieredCache("http://localhost:6379", name="x")


@pytest.mark.parametrize(
    "knobs",
    [
        {"ttl_s": 0},
        {"ttl_s": math.inf},
        {"ttl_s": True},
        {"absent_ttl_s": -1},
        {"stale_s": math.nan},
        {"l1_admission": "some"},
        {"l1_policy": "fifo"},
        {"l1_max_entries": 0},
        {"lease_s": 0},
        {"ttl_s": 10**8},
    ],
)
def test_settings_out_of_range_are_a_cache_error(knobs):
    with pytest.raises(CacheError):
        CacheSettings(**knobs)


@pytest.mark.parametrize("key", [42, "", "k" * 251, None])
def test_every_operation_refuses_a_bad_key_with_a_cache_error(key):
    cache = TieredCache(NOWHERE, name="args")

    async def scenario():
        for call in (
            lambda: cache.get_or_load(key, _loader),
            lambda: cache.get(key),
            lambda: cache.set(key, 1),
            lambda: cache.invalidate(key),
        ):
            with pytest.raises(CacheError):
                await call()

    asyncio.run(scenario())


def test_a_bad_ttl_per_call_is_a_cache_error():
    cache = TieredCache(NOWHERE, name="args")

    with pytest.raises(CacheError, match="ttl_s must be a positive number"):
        asyncio.run(cache.get_or_load("k", _loader, ttl_s=-5))


def test_a_value_the_codec_cannot_encode_is_refused_by_set_before_redis():
    cache = TieredCache(NOWHERE, name="args")

    with pytest.raises(CacheError, match="JSON cannot encode a set"):
        asyncio.run(cache.set("k", {1, 2}))


def test_decorated_functions_key_their_results_by_their_json_arguments():
    cache = TieredCache(NOWHERE, name="args")

    @cache.cached(ttl_s=30)
    async def profile(user_id: int, *, full: bool = False):
        return {"id": user_id}

    assert profile.key(7, full=True) == (
        f"{__name__}.test_decorated_functions_key_their_results_by_their_json_arguments."
        '<locals>.profile:[[7],{"full":true}]'
    )
    assert profile.__name__ == "profile"  # type: ignore[attr-defined]  # functools.wraps


def test_a_decorator_with_a_key_function_uses_it():
    cache = TieredCache(NOWHERE, name="args")

    @cache.cached(key=lambda user_id: f"user:{user_id}")
    async def profile(user_id: int):
        return {"id": user_id}

    assert profile.key(7) == "user:7"


def test_arguments_json_cannot_encode_ask_for_a_key_function():
    cache = TieredCache(NOWHERE, name="args")

    @cache.cached()
    async def method(thing: object):
        return 1

    with pytest.raises(CacheError) as caught:
        method.key(object())

    assert "make no cache key" in caught.value.message
    assert "key=" in caught.value.hint
