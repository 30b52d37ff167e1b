"""A scale-down needs the queue quiet, without a break, for the stabilisation window; between
quiet and behind the count holds."""

from queue_scaler_factories import QUIET, STEADY, scaler, status

from millionscale.queue import Hold, Scale


def test_no_scale_down_before_the_window_has_passed_quiet():
    core, clock = scaler(stabilisation_s=120.0, down_cooldown_s=0.0)
    core.step(clock(), QUIET, workers=4)
    clock.jump(119.0)

    early = core.step(clock(), QUIET, workers=4)
    clock.jump(1.0)
    due = core.step(clock(), QUIET, workers=4)

    assert early == Hold(
        "holding 4 workers: no job is waiting, quiet for 119.0 s of the 120 s stabilisation window"
    )
    assert due == Scale(3, "4 → 3 workers: no job is waiting, quiet for 120.0 s")


def test_one_step_that_is_not_quiet_starts_the_window_again():
    core, clock = scaler(stabilisation_s=120.0, down_cooldown_s=0.0)
    core.step(clock(), QUIET, workers=4)
    clock.jump(100.0)
    core.step(clock(), STEADY, workers=4)  # the oldest job waited 4 s: not quiet
    clock.jump(5.0)
    core.step(clock(), QUIET, workers=4)
    clock.jump(100.0)

    decision = core.step(clock(), QUIET, workers=4)

    assert decision == Hold(
        "holding 4 workers: no job is waiting, quiet for 100.0 s of the 120 s stabilisation window"
    )
    assert core.statistics().quiet_since == clock() - 100.0


def test_jobs_waiting_under_half_the_target_are_quiet():
    core, clock = scaler(stabilisation_s=0.0, down_cooldown_s=0.0)

    decision = core.step(clock(), status(ready=3, age=2.5), workers=4)

    assert decision == Scale(
        3,
        "4 → 3 workers: the oldest job waited 2.5 s, at most 50% of the 5 s target, quiet for 0.0 s",
    )


def test_between_quiet_and_behind_the_count_holds():
    core, clock = scaler(stabilisation_s=0.0, down_cooldown_s=0.0)

    decision = core.step(clock(), status(ready=3, age=5.5), workers=4)  # 1.1 x the target

    assert decision == Hold("holding 4 workers: the oldest job waited 5.5 s, within the 5 s target")


def test_only_delayed_jobs_are_not_work_waiting():
    core, clock = scaler(stabilisation_s=0.0, down_cooldown_s=0.0)

    decision = core.step(clock(), status(delayed=500, age=3600.0), workers=4)

    assert decision == Scale(3, "4 → 3 workers: no job is waiting, quiet for 0.0 s")
