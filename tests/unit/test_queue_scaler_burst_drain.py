"""A burst raises the count quickly within its bounds; once drained, it comes back down slowly,
one worker a cooldown, to the minimum."""

import itertools

from queue_scaler_factories import QUIET, run, scaler, status

from millionscale.queue import Hold, Scale


def _burst(steps: int) -> list:
    """A queue whose oldest job waits longer and longer: nothing keeps up."""
    return [status(ready=200, age=30.0 + 5.0 * i) for i in range(steps)]


def test_a_burst_reaches_the_maximum_within_a_few_up_cooldowns():
    core, clock = scaler(min_workers=1, max_workers=16, up_cooldown_s=10.0)

    _decisions, changes, workers = run(core, clock, _burst(8), workers=1, every_s=5.0)

    assert workers == 16
    assert [(c.before, c.to) for c in changes] == [(1, 5), (5, 10), (10, 16)]
    assert [c.at - changes[0].at for c in changes] == [0.0, 10.0, 20.0]


def test_after_the_drain_it_scales_down_one_by_one_after_the_window():
    core, clock = scaler(min_workers=1, max_workers=16, stabilisation_s=120.0, down_cooldown_s=60.0)
    _d, _c, workers = run(core, clock, _burst(8), workers=1)
    drained_at = clock()

    decisions, changes, workers = run(core, clock, [QUIET] * 120, workers=workers)  # 10 min

    assert workers == 8  # 16, less one at 120 s and one a minute after, to 540 s
    assert all(c.to == c.before - 1 for c in changes)
    assert changes[0].at - drained_at == 120.0
    assert {later.at - earlier.at for earlier, later in itertools.pairwise(changes)} == {60.0}
    assert decisions[24] == Scale(15, "16 → 15 workers: no job is waiting, quiet for 120.0 s")


def test_a_long_quiet_ends_at_the_minimum():
    core, clock = scaler(min_workers=2, max_workers=16)
    _d, _c, workers = run(core, clock, _burst(8), workers=2)

    decisions, _changes, workers = run(core, clock, [QUIET] * 360, workers=workers)  # 30 min

    assert workers == 2
    assert decisions[-1] == Hold("holding 2 workers, the minimum: no job is waiting")


def test_a_second_burst_during_the_drain_stops_it_and_scales_up_again():
    core, clock = scaler(min_workers=1, max_workers=16, stabilisation_s=120.0)
    _d, _c, workers = run(core, clock, _burst(8), workers=1)
    _d, down, workers = run(core, clock, [QUIET] * 40, workers=workers)  # 200 s: two down

    _d, up, workers = run(core, clock, _burst(1), workers=workers)

    assert [(c.before, c.to) for c in down] == [(16, 15), (15, 14)]
    assert [(c.before, c.to) for c in up] == [(14, 16)]
