"""The scaler keeps the count within [min_workers, max_workers], whatever the queue says."""

from queue_scaler_factories import BEHIND, QUIET, STEADY, scaler

from millionscale.queue import Hold, Scale


def test_under_the_minimum_it_scales_to_the_minimum_at_once():
    core, clock = scaler(min_workers=2, max_workers=6)

    decision = core.step(clock(), STEADY, workers=0)

    assert decision == Scale(2, "0 → 2 workers: under the minimum of 2")


def test_over_the_maximum_it_scales_to_the_maximum_at_once():
    core, clock = scaler(min_workers=1, max_workers=4)

    decision = core.step(clock(), BEHIND, workers=9)

    assert decision == Scale(4, "9 → 4 workers: over the maximum of 4")


def test_a_bounds_correction_ignores_the_cooldowns():
    core, clock = scaler(min_workers=2, max_workers=6)
    core.step(clock(), BEHIND, workers=2)  # a change: the cooldowns start
    clock.jump(1.0)

    decision = core.step(clock(), QUIET, workers=1)  # a worker failed meanwhile

    assert decision == Scale(2, "1 → 2 workers: under the minimum of 2")


def test_behind_at_the_maximum_it_holds_and_says_so():
    core, clock = scaler(max_workers=4)

    decision = core.step(clock(), BEHIND, workers=4)

    assert decision == Hold(
        "holding 4 workers, the maximum: the oldest job waited 30.0 s, over the 5 s target"
    )


def test_quiet_at_the_minimum_it_holds_and_says_so():
    core, clock = scaler(min_workers=1, stabilisation_s=0.0)

    decision = core.step(clock(), QUIET, workers=1)

    assert decision == Hold("holding 1 worker, the minimum: no job is waiting")


def test_a_step_up_stops_at_the_maximum_and_says_what_was_wanted():
    core, clock = scaler(max_workers=5)

    decision = core.step(clock(), BEHIND, workers=3)  # 30 s of 5: 18 wanted

    assert decision == Scale(
        5, "3 → 5 workers: the oldest job waited 30.0 s, over the 5 s target (18 wanted, at most 5)"
    )


def test_min_equal_to_max_pins_the_count():
    core, clock = scaler(min_workers=3, max_workers=3, stabilisation_s=0.0)

    behind = core.step(clock(), BEHIND, workers=3)
    quiet = core.step(clock(), QUIET, workers=3)

    assert isinstance(behind, Hold)
    assert isinstance(quiet, Hold)
