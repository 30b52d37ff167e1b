"""The frequency sketch: never below the true count (up to 15), halved as it ages."""

from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cache import FrequencySketch
from millionscale.cache.sketch import DEPTH, MAX_COUNT, RESET_FACTOR


def test_a_key_never_seen_has_frequency_zero():
    sketch = FrequencySketch(100)

    assert sketch.frequency("never") == 0


def test_counts_saturate_at_fifteen():
    sketch = FrequencySketch(1_000)

    for _ in range(40):
        sketch.increment("hot")

    assert sketch.frequency("hot") == MAX_COUNT


def test_halving_halves_every_count():
    sketch = FrequencySketch(1_000)
    for _ in range(9):
        sketch.increment("a")
    for _ in range(4):
        sketch.increment("b")

    sketch.halve()

    assert (sketch.frequency("a"), sketch.frequency("b")) == (4, 2)


def test_the_sketch_halves_itself_after_ten_times_its_capacity_in_increments():
    sketch = FrequencySketch(64)
    for _ in range(12):
        sketch.increment("hot")
    others = RESET_FACTOR * 64 - 12 - 1
    for key in range(others):
        sketch.increment(("other", key))
    before = sketch.frequency("hot")

    sketch.increment(("other", "last"))  # the 640th increment

    assert sketch.sample_size == 640
    assert before >= 12
    assert sketch.frequency("hot") == before // 2


def test_the_table_is_sixteen_counters_of_four_bits_per_key():
    sketch = FrequencySketch(1_000)  # rows of 4096 counters: 4 x 1000, rounded up

    assert len(sketch._table) == DEPTH * 4096 // 2


def test_growing_the_sketch_starts_it_over():
    sketch = FrequencySketch(16)
    sketch.increment("a")

    sketch.ensure_capacity(10_000)

    assert sketch.capacity == 10_000
    assert sketch.frequency("a") == 0


def test_a_wide_table_still_counts_each_key():
    sketch = FrequencySketch(1 << 15)  # 17-bit row indexes: two rounds of hashing per key
    for key in range(300):
        for _ in range(key % 5):
            sketch.increment(key)

    assert all(sketch.frequency(key) >= key % 5 for key in range(300))


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 200),
    keys=st.lists(st.one_of(st.integers(), st.text(max_size=8)), max_size=300),
)
def test_the_estimate_is_never_below_the_true_count(capacity, keys):
    sketch = FrequencySketch(capacity)
    sketch.ensure_capacity(len(keys) + 1)  # no halving within this test: sample size > increments
    counts: dict[object, int] = {}

    for key in keys:
        sketch.increment(key)
        counts[key] = counts.get(key, 0) + 1

    for key, count in counts.items():
        assert min(count, MAX_COUNT) <= sketch.frequency(key) <= MAX_COUNT


def test_collisions_stay_rare_when_sized_for_the_keys():
    sketch = FrequencySketch(1_000)
    for key in range(4_000):  # four times the keys it is sized for
        sketch.increment(key)

    overestimated = sum(sketch.frequency(key) > 1 for key in range(4_000))

    # A key is overestimated when each of its four counters is shared: with
    # 4,000 keys in rows of 4,096, (1 - (1 - 1/4096) ** 3999) ** 4 = 16 %.
    assert overestimated < 800
