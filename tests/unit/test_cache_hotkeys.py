"""Hot keys: a large share of recent reads, and often enough; detected within a slice, forgotten after the window."""

import pytest

from millionscale.cache.hotkeys import HotKeys
from millionscale.testing import FakeClock


def hot_keys(clock: FakeClock, **knobs) -> HotKeys:
    knobs = {"window_s": 10.0, "slices": 5, "share": 0.05, "min_rate": 1.0, **knobs}
    return HotKeys(clock=clock, **knobs)


def read(subject: HotKeys, clock: FakeClock, counts: dict[str, int], over_s: float = 2.0) -> None:
    """Spread the reads of ``counts`` evenly over ``over_s`` seconds."""
    total = sum(counts.values())
    order = [key for key, n in counts.items() for _ in range(n)]
    order.sort(key=lambda key: hash(key) % 7)  # interleaved, deterministic
    for key in order:
        subject.record(key)
        clock.jump(over_s / total)


def test_a_key_with_a_large_share_is_hot_once_its_slice_completes():
    clock = FakeClock()
    subject = hot_keys(clock)
    tail = {f"tail:{i}": 2 for i in range(200)}

    read(subject, clock, {"celebrity": 100, **tail}, over_s=1.9)
    before = subject.is_hot("celebrity")
    clock.jump(0.2)

    assert before is False  # the slice it was counted in is not complete yet
    assert subject.hot == frozenset({"celebrity"})
    assert subject.estimate("celebrity") == 100


def test_a_large_share_of_very_few_reads_is_not_hot():
    clock = FakeClock()
    subject = hot_keys(clock, min_rate=5.0)  # 5 reads/s over the 2 s covered: 10 reads

    read(subject, clock, {"a": 8, "b": 1})
    clock.jump(0.1)

    assert subject.hot == frozenset()


def test_a_hot_key_cools_down_once_the_window_has_passed_it():
    clock = FakeClock()
    subject = hot_keys(clock)
    read(subject, clock, {"celebrity": 100, **{f"t{i}": 1 for i in range(100)}})
    clock.jump(0.1)
    assert "celebrity" in subject.hot

    for _ in range(5):  # five slices of reads of other keys
        read(subject, clock, {f"t{i}": 1 for i in range(100)})
    clock.jump(0.1)

    assert subject.hot == frozenset()


def test_an_idle_gap_longer_than_the_window_forgets_everything():
    clock = FakeClock()
    subject = hot_keys(clock)
    read(subject, clock, {"celebrity": 100, "other": 100})
    clock.jump(0.1)
    assert "celebrity" in subject.hot

    clock.jump(60.0)
    subject.record("other")

    assert subject.hot == frozenset()
    assert subject.statistics().window_reads == 0


def test_heavy_hitters_are_found_among_more_keys_than_the_sketch_holds():
    clock = FakeClock()
    subject = hot_keys(clock, lg_max_k=6)  # 48 counters for 2,000 distinct keys
    tail = {f"tail:{i}": 1 for i in range(2000)}

    read(subject, clock, {"a": 400, "b": 300, **tail})
    clock.jump(0.1)

    assert subject.hot == frozenset({"a", "b"})


@pytest.mark.parametrize(
    "knobs", [{"window_s": 0}, {"slices": 0}, {"share": 0}, {"share": 1.5}, {"lg_max_k": 2}]
)
def test_knobs_out_of_range_are_refused(knobs):
    with pytest.raises(ValueError, match="must be"):
        hot_keys(FakeClock(), **knobs)
