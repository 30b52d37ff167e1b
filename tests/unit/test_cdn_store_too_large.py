"""An object over max_object_bytes is not stored, and the variant it would replace is dropped."""

import pytest
from cdn_store_factories import memory_store, stored

from millionscale.cdn.store import Store
from millionscale.errors import ConfigError


def test_an_object_over_the_limit_is_refused_and_counted():
    store = memory_store(max_memory_bytes=10_000, max_object_bytes=500)

    held = store.put(stored(size=501))

    assert held is False
    assert store.variants(b"example.com/a") == []
    assert store.statistics().refused_too_large == 1
    assert store.statistics().memory_bytes == 0


def test_an_object_at_the_limit_is_stored():
    store = memory_store(max_memory_bytes=10_000, max_object_bytes=500)

    held = store.put(stored(size=500))

    assert held is True
    assert store.statistics().memory_bytes == 500


def test_a_refused_object_drops_the_variant_it_would_have_replaced():
    store = memory_store(max_memory_bytes=10_000, max_object_bytes=500)
    store.put(stored(size=200))

    store.put(stored(size=900))

    assert store.variants(b"example.com/a") == []
    assert store.audit() == []


def test_the_default_limit_is_a_quarter_of_memory():
    store = Store(max_memory_bytes=4_000)

    assert store.max_object_bytes == 1_000
    assert store.put(stored(size=1_001)) is False


@pytest.mark.parametrize(
    "knobs",
    [
        {"max_memory_bytes": 0},
        {"max_memory_bytes": 1_000, "max_object_bytes": 1_001},
        {"max_memory_bytes": 1_000, "max_object_bytes": 0},
        {"max_memory_bytes": 1_000, "max_disk_bytes": -1},
        {"max_memory_bytes": 1_000, "max_disk_bytes": 1_000},  # no spill_dir
        {"max_memory_bytes": 1_000, "policy": "fifo"},
    ],
)
def test_unusable_knobs_are_a_config_error(knobs):
    with pytest.raises(ConfigError):
        Store(**knobs)
