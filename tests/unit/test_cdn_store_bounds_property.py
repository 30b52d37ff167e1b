"""Under any sequence of puts, reads and purges, the store keeps its bounds, its indexes and its word.

A plain dict records what the store may hold (the last response put for each
key and variant, with the marks of soft purges), and after every step:

- ``memory_bytes <= max_memory_bytes`` and ``disk_bytes <= max_disk_bytes``;
- :meth:`Store.audit` finds nothing wrong: the key, tag and prefix indexes
  list exactly the entries held, the policies agree, every spill file is
  there as written and no other file is;
- a read returns only what the model says, never an older response, never
  one hard-purged, never a soft-purged one unmarked;
- a hard purge's count is the number of entries it took away.
"""

import dataclasses
import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cache.policy import POLICIES
from millionscale.cdn.message import Stored
from millionscale.cdn.store import Store

KEYS = [b"a.test/x", b"a.test/x/1", b"a.test/y", b"b.test/x", b"b.test/", b"a.test/x?q"]
VARIANTS = [(), ((b"accept-encoding", b"gzip"),), ((b"accept-encoding", b"br"),)]
TAGS = [b"red", b"green", b"blue"]
PREFIXES = [b"", b"a.test/", b"a.test/x", b"b.test/x", b"c.test/"]

# Mostly puts and reads, so that memory and disk fill between purges.
KINDS = ["put"] * 8 + ["variants"] * 4 + ["purge_url", "purge_prefix", "purge_tag", "remove"]
operations = st.lists(
    st.tuples(
        st.sampled_from([*KINDS, "purge_all"]),
        st.sampled_from(KEYS),
        st.sampled_from(range(len(VARIANTS))),
        st.integers(10, 110),  # a put's size: percent of max_object_bytes (over 100: too large)
        st.frozensets(st.sampled_from(TAGS)),  # a put's tags
        st.sampled_from(PREFIXES),
        st.sampled_from(TAGS),  # a purge's tag
        st.booleans(),  # soft
    ),
    min_size=20,
    max_size=100,
)


@settings(max_examples=120, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    max_memory_bytes=st.integers(64, 2_000),
    max_disk_bytes=st.sampled_from([0, 600, 3_000, 3_000, 20_000]),
    object_share=st.sampled_from([1, 2, 4]),
    ops=operations,
    seed=st.integers(0, 3),
)
def test_the_store_keeps_its_bounds_indexes_and_word(
    policy, max_memory_bytes, max_disk_bytes, object_share, ops, seed
):
    with tempfile.TemporaryDirectory() as spill_dir:
        store = Store(
            max_memory_bytes=max_memory_bytes,
            max_disk_bytes=max_disk_bytes,
            spill_dir=Path(spill_dir) if max_disk_bytes else None,
            policy=policy,
            max_object_bytes=max(64, max_memory_bytes // object_share),
            random=random.Random(seed).random,
        )
        model: dict[tuple[bytes, object], Stored] = {}
        for step, op in enumerate(ops):
            before = store.statistics().objects
            kind, key, variant, percent, tags, prefix, tag, soft = op
            match kind:
                case "put":
                    size = max(64, store.max_object_bytes * percent // 100)
                    response = Stored(
                        key=key,
                        status=200,
                        fields=(),
                        body=b"b" * (size - 64),
                        request_time=float(step),
                        response_time=float(step),
                        corrected_initial_age=0.0,
                        freshness_lifetime=10.0,
                        selecting=VARIANTS[variant],
                        tags=tags,
                    )
                    held = store.put(response)
                    model[key, response.selecting] = response
                    if response.size > store.max_object_bytes:
                        assert not held, f"step {step}: too large an object stored"
                    if not held:
                        del model[key, response.selecting]
                case "variants":
                    found = store.variants(key)
                    assert len({v.selecting for v in found}) == len(found)
                    for response in found:
                        assert model.get((key, response.selecting)) == response, (
                            f"step {step}: read {response.key!r} {response.selecting} "
                            "not as last put and purged"
                        )
                    times = [v.response_time for v in found]
                    assert times == sorted(times, reverse=True)
                case "purge_url":
                    count = purge(store, model, soft, lambda e, k=key: e[0] == k, "purge_url", key)
                    check_hard_count(store, soft, before, count, step)
                case "purge_prefix":
                    count = purge(
                        store,
                        model,
                        soft,
                        lambda e, p=prefix: e[0].startswith(p),
                        "purge_prefix",
                        prefix,
                    )
                    check_hard_count(store, soft, before, count, step)
                case "purge_tag":
                    count = purge(
                        store, model, soft, lambda e, t=tag: t in model[e].tags, "purge_tag", tag
                    )
                    check_hard_count(store, soft, before, count, step)
                case "purge_all":
                    count = purge(store, model, soft, lambda e: True, "purge_all")
                    check_hard_count(store, soft, before, count, step)
                case "remove":
                    count = store.remove(key)
                    for entry in [e for e in model if e[0] == key]:
                        del model[entry]
                    assert before - store.statistics().objects == count
            stats = store.statistics()
            assert stats.memory_bytes <= max_memory_bytes, f"step {step}: memory over its bound"
            assert stats.disk_bytes <= max_disk_bytes, f"step {step}: disk over its bound"
            assert stats.objects == stats.memory_objects + stats.disk_objects
            assert stats.objects <= len(model), f"step {step}: holds what was never put"
            assert store.audit() == [], f"step {step}"
        store.close()
        assert list(Path(spill_dir).iterdir()) == []


def purge(store, model, soft, matches, method, *argument):
    """Purge in the store and in the model; the store's count, which is at most the model's matches."""
    entries = [entry for entry in model if matches(entry)]
    count = getattr(store, method)(*argument, soft=soft)
    assert count <= len(entries)
    for entry in entries:
        if soft:
            model[entry] = dataclasses.replace(model[entry], invalidated=True)
        else:
            del model[entry]
    return count


def check_hard_count(store, soft, before, count, step):
    after = store.statistics().objects
    if soft:
        assert after == before, f"step {step}: a soft purge removed entries"
    else:
        assert before - after == count, f"step {step}: a hard purge's count"
