"""Under any sequence of operations and sizes, the L1 cache keeps its bounds and its word.

One model-based property per policy: a plain dict records what the cache
should hold (updated by ``set``'s result and by the eviction listener), and
after every step the cache must agree with it:

- ``entries <= max_entries`` and ``bytes <= max_bytes``, ``bytes`` being the
  sum of the sizes of the entries held, and the policy agreeing;
- an entry larger than ``max_bytes`` is refused, not stored;
- ``get`` returns the last value set until the entry is evicted, expires or
  is deleted, and never afterwards;
- ``hits + misses`` is the number of gets.
"""

import random
from collections.abc import Hashable

from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cache import MISS, POLICIES, EvictionReason, L1Cache
from millionscale.testing import FakeClock

TTL_S = 10.0

keys = st.integers(0, 12)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), keys, st.integers(1, 400), st.booleans()),
        st.tuples(st.just("get"), keys),
        st.tuples(st.just("delete"), keys),
        st.tuples(st.just("wait"), st.sampled_from([0.5, 3.0, 11.0])),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    max_entries=st.integers(1, 8),
    max_bytes=st.integers(1, 1200),
    ops=operations,
    seed=st.integers(0, 3),
)
def test_the_cache_keeps_its_bounds_and_returns_the_last_value(
    policy, max_entries, max_bytes, ops, seed
):
    clock = FakeClock()
    model: dict[int, tuple[object, int, float | None]] = {}  # key -> value, size, deadline

    replacing: list[object] = []  # during a set: the value it replaces (if any)

    def evicted(key, value, reason):
        if replacing and value is replacing[0]:
            return  # the value a too-large set drops: the model forgot it already
        assert key in model, f"{key} evicted ({reason}) but not held"
        assert model[key][0] is value
        if reason is EvictionReason.EXPIRED:
            deadline = model[key][2]
            assert deadline is not None
            assert deadline <= clock.now()
        del model[key]

    cache = L1Cache(
        max_entries=max_entries,
        max_bytes=max_bytes,
        policy=policy,
        clock=clock,
        random=random.Random(seed).random,
        on_evict=evicted,
    )
    gets = 0
    for step, op in enumerate(ops):
        match op:
            case ("set", key, size, expires):
                value = object()
                old = model.pop(key, None)  # replaced (not an eviction), or dropped if refused
                replacing[:] = [] if old is None else [old[0]]
                # Held until the listener says otherwise: an admission policy may evict it at once.
                model[key] = (value, size, clock.now() + TTL_S if expires else None)
                stored = cache.set(key, value, size=size, ttl_s=TTL_S if expires else None)
                replacing.clear()
                if size > max_bytes:
                    assert not stored, f"step {step}: an entry larger than max_bytes was stored"
                    del model[key]  # refused: the listener is not told of what never entered
                assert stored == (key in model), f"step {step}: set's answer and the listener"
                if stored:
                    assert cache.get(key) is value, f"step {step}: get right after set"
                    gets += 1
            case ("get", key):
                expected = model.get(key)
                got = cache.get(key)
                gets += 1
                if expected is None or (expected[2] is not None and expected[2] <= clock.now()):
                    assert got is MISS, f"step {step}: {key} should be gone"
                else:
                    assert got is expected[0], f"step {step}: {key} lost or stale"
            case ("delete", key):
                cache.delete(key)
                assert key not in model
            case ("wait", seconds):
                clock.jump(seconds)
        stats = cache.statistics()
        assert stats.entries <= max_entries
        assert stats.bytes <= max_bytes
        assert stats.entries == len(model) == len(cache.policy)
        assert stats.bytes == sum(size for _, size, _ in model.values()) == cache.policy.bytes
        assert stats.hits + stats.misses == gets


@settings(max_examples=60, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    max_bytes=st.integers(1, 500),
    sizes=st.lists(st.integers(1, 1000), min_size=1, max_size=60),
)
def test_an_entry_larger_than_the_byte_bound_is_refused(policy, max_bytes, sizes):
    cache: L1Cache[Hashable, object] = L1Cache(max_entries=1000, max_bytes=max_bytes, policy=policy)

    stored = [cache.set(i, i, size=size) for i, size in enumerate(sizes)]

    for i, size in enumerate(sizes):
        if size > max_bytes:
            assert not stored[i]
            assert i not in cache
    assert cache.statistics().rejected == sum(size > max_bytes for size in sizes)
    assert cache.statistics().bytes <= max_bytes
